package dev.atrium.engine.llama;

import java.util.Locale;

/**
 * Writing GBNF, llama.cpp's grammar format: literals and class members are escaped so that its parser reads
 * exactly the characters meant (letters, digits and plain ASCII punctuation raw, everything else as
 * {@code \xHH}, {@code \\uHHHH} or {@code \UHHHHHHHH}).
 */
final class Gbnf {
    private Gbnf() {}

    /**
     * A GBNF string literal matching exactly {@code text}.
     *
     * @throws IllegalArgumentException for a lone UTF-16 surrogate: no token can write one, so generation would
     *     reach a point where the grammar allows nothing
     */
    static String literal(String text) {
        StringBuilder out = new StringBuilder(text.length() + 2).append('"');
        text.codePoints().forEach(c -> {
            if (c >= Character.MIN_SURROGATE && c <= Character.MAX_SURROGATE) {
                throw new IllegalArgumentException("it holds a lone UTF-16 surrogate, which no output can contain");
            }
            if (c == '"' || c == '\\') {
                out.append('\\').append((char) c);
            } else if (c >= 0x20 && c < 0x7F) {
                out.append((char) c);
            } else {
                out.append(hex(c));
            }
        });
        return out.append('"').toString();
    }

    /** One member of a GBNF character class: alphanumerics raw, the rest escaped (so '-', ']', '^' are safe). */
    static String classCharacter(int c) {
        boolean alphanumeric = c < 0x7F && Character.isLetterOrDigit(c);
        return alphanumeric ? String.valueOf((char) c) : hex(c);
    }

    /** How a character is written inside a JSON string: escaped when JSON requires it, else itself. */
    static String jsonCharacter(int c) {
        return switch (c) {
            case '"' -> "\\\"";
            case '\\' -> "\\\\";
            case '\n' -> "\\n";
            case '\r' -> "\\r";
            case '\t' -> "\\t";
            case '\b' -> "\\b";
            case '\f' -> "\\f";
            default -> c < 0x20 ? String.format(Locale.ROOT, "\\u%04x", c) : Character.toString(c);
        };
    }

    /** A client's text quoted in an error message, cut short. */
    static String shorten(String text) {
        return text.length() > 60 ? text.substring(0, 60) + "..." : text;
    }

    private static String hex(int c) {
        if (c <= 0xFF) {
            return String.format(Locale.ROOT, "\\x%02X", c);
        }
        return c <= 0xFFFF ? String.format(Locale.ROOT, "\\u%04X", c) : String.format(Locale.ROOT, "\\U%08X", c);
    }
}
