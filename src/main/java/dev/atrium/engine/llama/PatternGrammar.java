package dev.atrium.engine.llama;

import java.util.ArrayList;
import java.util.List;

/**
 * Turns a JSON Schema {@code pattern} (an ECMAScript regular expression) into a GBNF expression for the
 * <em>JSON-encoded</em> content of a string that matches it: the characters a JSON string must escape
 * ({@code "}, {@code \} and control characters) are written escaped.
 *
 * <p>The subset: literals and escapes ({@code \d \w \s}, their negations, {@code \t \n \xHH \\uHHHH}, escaped
 * punctuation), classes with ranges and negation, {@code .}, groups ({@code (...)}, {@code (?:...)}), alternation,
 * the quantifiers {@code ? * + {m} {m,} {m,n}} (lazy ones as greedy: they match the same strings), and the
 * anchors {@code ^} and {@code $} at the pattern's start and end. A side without its anchor may hold any
 * characters, as the schema's unanchored matching means. The grammar allows a subset of the matching strings
 * (it never treats {@code ^a|b$} as anything wider than {@code ^(a|b)$}), never a string that does not match.
 * Anything else is refused with an {@link IllegalArgumentException} that says what.
 */
final class PatternGrammar {
    static final int MAX_PATTERN = 1_000;
    private static final int MAX_GROUP_DEPTH = 16;
    private static final int MAX_CODE_POINT = 0x10FFFF;

    /** Repetitions expand into copies inside llama.cpp's parser: they count against a budget shared with the schema. */
    interface Budget {
        void repeat(int copies);
    }

    private final String pattern;
    private final Budget budget;
    private int position;

    private PatternGrammar(String pattern, Budget budget) {
        this.pattern = pattern;
        this.budget = budget;
    }

    /**
     * @param anyChar the GBNF expression of one JSON string character, for the unanchored sides
     * @return a GBNF expression for the string's content, between its quotes
     */
    static String toGbnf(String pattern, String anyChar, Budget budget) {
        if (pattern.length() > MAX_PATTERN) {
            throw new IllegalArgumentException("a pattern is longer than " + MAX_PATTERN + " characters");
        }
        String body = pattern;
        boolean startAnchored = body.startsWith("^");
        if (startAnchored) {
            body = body.substring(1);
        }
        boolean endAnchored = endsWithAnchor(body);
        if (endAnchored) {
            body = body.substring(0, body.length() - 1);
        }
        PatternGrammar parser = new PatternGrammar(body, budget);
        String expression = parser.alternation(0).gbnf();
        if (parser.position < body.length()) {
            throw parser.unsupported("an unmatched ')'");
        }
        return (startAnchored ? "" : anyChar + "* ") + "(" + expression + ")" + (endAnchored ? "" : " " + anyChar + "*");
    }

    /** A final {@code $} that no odd run of backslashes escapes. */
    private static boolean endsWithAnchor(String body) {
        if (!body.endsWith("$")) {
            return false;
        }
        int backslashes = 0;
        for (int i = body.length() - 2; i >= 0 && body.charAt(i) == '\\'; i--) {
            backslashes++;
        }
        return backslashes % 2 == 0;
    }

    /** A GBNF expression, and whether it matches the empty string. */
    private record Expression(String gbnf, boolean nullable) {}

    private Expression alternation(int depth) {
        if (depth > MAX_GROUP_DEPTH) {
            throw new IllegalArgumentException("a pattern's groups nest more than " + MAX_GROUP_DEPTH + " deep");
        }
        List<String> alternatives = new ArrayList<>();
        Expression first = sequence(depth);
        alternatives.add(first.gbnf());
        boolean nullable = first.nullable();
        while (more() && peek() == '|') {
            position++;
            Expression next = sequence(depth);
            alternatives.add(next.gbnf());
            nullable |= next.nullable();
        }
        return new Expression(String.join(" | ", alternatives), nullable);
    }

    private Expression sequence(int depth) {
        List<String> items = new ArrayList<>();
        StringBuilder literal = new StringBuilder();
        boolean nullable = true;
        while (more() && peek() != '|' && peek() != ')') {
            Atom atom = atom(depth);
            String quantifier = quantifier();
            if (quantifier.isEmpty() && atom.literal() != null) {
                literal.append(atom.literal());
                nullable = false;
                continue;
            }
            if (!literal.isEmpty()) {
                items.add(Gbnf.literal(literal.toString()));
                literal.setLength(0);
            }
            // llama.cpp turns x* and x+ into recursive rules: an x that matches nothing would recurse forever
            if (atom.nullable() && (quantifier.startsWith("*") || quantifier.startsWith("+")
                    || quantifier.endsWith(",}"))) {
                throw unsupported("an unbounded quantifier on something that can match nothing");
            }
            if (quantifier.equals("{0,0}")) {
                continue; // repeated no times: matches only the empty string
            }
            nullable &= atom.nullable() || quantifier.equals("?") || quantifier.equals("*")
                    || quantifier.startsWith("{0,");
            items.add(atom.expression() + quantifier);
        }
        if (!literal.isEmpty()) {
            items.add(Gbnf.literal(literal.toString()));
        }
        return new Expression(items.isEmpty() ? "\"\"" : String.join(" ", items), nullable);
    }

    /** One item: {@code literal} holds its JSON-encoded text when it is one plain character. */
    private record Atom(String expression, String literal, boolean nullable) {
        Atom(String expression, String literal) {
            this(expression, literal, false);
        }
    }

    private Atom atom(int depth) {
        int c = pattern.codePointAt(position);
        position += Character.charCount(c);
        switch (c) {
            case '(' -> {
                if (more() && peek() == '?') {
                    if (position + 1 < pattern.length() && pattern.charAt(position + 1) == ':') {
                        position += 2;
                    } else {
                        throw unsupported("lookarounds and named groups");
                    }
                }
                Expression inner = alternation(depth + 1);
                if (!more() || peek() != ')') {
                    throw unsupported("an unclosed '('");
                }
                position++;
                return new Atom("(" + inner.gbnf() + ")", null, inner.nullable());
            }
            case '[' -> {
                return new Atom(charSet(characterClass()), null);
            }
            case '.' -> {
                return new Atom(charSet(CharSet.of('\n', '\r', 0x2028, 0x2029).complement()), null);
            }
            case '\\' -> {
                CharSet escaped = escape(false);
                return escaped.isSingle() ? plain(escaped.first()) : new Atom(charSet(escaped), null);
            }
            case '^', '$' -> throw unsupported("'" + (char) c + "' anywhere but at the pattern's start or end");
            case '*', '+', '?', '{' -> throw unsupported("a quantifier with nothing before it");
            case ')' -> throw unsupported("an unmatched ')'");
            default -> {
                return plain(c);
            }
        }
    }

    private Atom plain(int c) {
        String encoded = Gbnf.jsonCharacter(c);
        return new Atom(Gbnf.literal(encoded), encoded);
    }

    private String quantifier() {
        if (!more()) {
            return "";
        }
        String quantifier;
        char c = peek();
        if (c == '?' || c == '*' || c == '+') {
            position++;
            quantifier = String.valueOf(c);
        } else if (c == '{' && isBounds(position)) {
            int close = pattern.indexOf('}', position);
            String[] bounds = pattern.substring(position + 1, close).split(",", -1);
            position = close + 1;
            int min = bound(bounds[0]);
            int max = bounds.length == 1 ? min : bounds[1].isEmpty() ? -1 : bound(bounds[1]);
            if (max >= 0 && max < min) {
                throw unsupported("a quantifier {" + min + "," + max + "} whose maximum is below its minimum");
            }
            budget.repeat(Math.max(min, max));
            quantifier = max < 0 ? (min == 0 ? "*" : min == 1 ? "+" : "{" + min + ",}")
                    : max == 0 ? "{0,0}" : max == 1 ? (min == 0 ? "?" : "")
                    : "{" + min + "," + max + "}";
        } else {
            return "";
        }
        if (more() && peek() == '?') {
            position++; // lazy: the same strings match
        } else if (more() && peek() == '+') {
            throw unsupported("possessive quantifiers");
        }
        return quantifier;
    }

    /** Whether a {@code {} at this position starts {@code {m}}, {@code {m,}} or {@code {m,n}}. */
    private boolean isBounds(int at) {
        int close = pattern.indexOf('}', at);
        return close > at + 1 && pattern.substring(at + 1, close).matches("[0-9]{1,6}(,[0-9]{0,6})?");
    }

    private int bound(String digits) {
        int value = Integer.parseInt(digits);
        if (value > JsonSchemaGrammar.MAX_REPEAT) {
            throw new IllegalArgumentException("a pattern repeats something more than " + JsonSchemaGrammar.MAX_REPEAT
                    + " times");
        }
        return value;
    }

    private CharSet characterClass() {
        boolean negated = more() && peek() == '^';
        if (negated) {
            position++;
        }
        CharSet set = CharSet.EMPTY;
        while (true) {
            if (!more()) {
                throw unsupported("an unclosed '['");
            }
            int c = pattern.codePointAt(position);
            if (c == ']') {
                position++;
                break;
            }
            CharSet first = classMember();
            if (first.isSingle() && more() && peek() == '-' && position + 1 < pattern.length()
                    && pattern.charAt(position + 1) != ']') {
                position++;
                CharSet last = classMember();
                if (!last.isSingle() || last.first() < first.first()) {
                    throw unsupported("a class range out of order");
                }
                set = set.union(CharSet.range(first.first(), last.first()));
            } else {
                set = set.union(first);
            }
        }
        return negated ? set.complement() : set;
    }

    private CharSet classMember() {
        int c = pattern.codePointAt(position);
        position += Character.charCount(c);
        if (c == '[' && more() && (peek() == ':' || peek() == '=' || peek() == '.')) {
            throw unsupported("POSIX classes");
        }
        return c == '\\' ? escape(true) : CharSet.of(c);
    }

    private CharSet escape(boolean inClass) {
        if (!more()) {
            throw unsupported("a pattern ending in '\\'");
        }
        int c = pattern.codePointAt(position);
        position += Character.charCount(c);
        return switch (c) {
            case 'd' -> CharSet.DIGIT;
            case 'D' -> CharSet.DIGIT.complement();
            case 'w' -> CharSet.WORD;
            case 'W' -> CharSet.WORD.complement();
            case 's' -> CharSet.SPACE;
            case 'S' -> CharSet.SPACE.complement();
            case 't' -> CharSet.of('\t');
            case 'n' -> CharSet.of('\n');
            case 'r' -> CharSet.of('\r');
            case 'f' -> CharSet.of('\f');
            case 'v' -> CharSet.of(0x0B);
            case '0' -> CharSet.of(0);
            case 'b' -> {
                if (!inClass) {
                    throw unsupported("word boundaries (\\b)");
                }
                yield CharSet.of(0x08);
            }
            case 'x' -> CharSet.of(hex(2));
            case 'u' -> CharSet.of(hex(4));
            default -> {
                if (Character.isLetterOrDigit(c)) {
                    throw unsupported("the escape \\" + Character.toString(c));
                }
                yield CharSet.of(c);
            }
        };
    }

    private int hex(int digits) {
        if (position + digits > pattern.length()
                || !pattern.substring(position, position + digits).matches("[0-9a-fA-F]+")) {
            throw unsupported("a malformed \\x or \\u escape");
        }
        int value = Integer.parseInt(pattern.substring(position, position + digits), 16);
        position += digits;
        return value;
    }

    /** A set of characters as GBNF for their JSON encoding: raw ones in one class, the escaped ones as literals. */
    private String charSet(CharSet set) {
        List<String> alternatives = new ArrayList<>();
        CharSet raw = set.intersect(CharSet.RAW_IN_JSON);
        if (!raw.isEmpty()) {
            alternatives.add(raw.isSingle() ? Gbnf.literal(Gbnf.jsonCharacter(raw.first())) : raw.toGbnfClass());
        }
        CharSet escaped = set.minus(CharSet.RAW_IN_JSON).intersect(CharSet.ESCAPED_IN_JSON);
        CharSet controls = CharSet.range(0, 0x1F);
        if (controls.minus(escaped).isEmpty()) {
            alternatives.add("\"\\\\u00\" [01] [0-9a-fA-F]"); // every control character, as \\u00XX
            escaped = escaped.minus(controls);
        }
        for (int[] range : escaped.ranges()) {
            for (int c = range[0]; c <= range[1]; c++) {
                alternatives.add(Gbnf.literal(Gbnf.jsonCharacter(c)));
            }
        }
        if (alternatives.isEmpty()) {
            throw unsupported("a character class that matches nothing");
        }
        return alternatives.size() == 1 ? alternatives.getFirst() : "(" + String.join(" | ", alternatives) + ")";
    }

    private boolean more() {
        return position < pattern.length();
    }

    private char peek() {
        return pattern.charAt(position);
    }

    private IllegalArgumentException unsupported(String what) {
        return new IllegalArgumentException("the pattern '" + Gbnf.shorten(pattern) + "' uses " + what
                + ", which structured output does not support");
    }

    /** An immutable set of Unicode code points as sorted, disjoint, non-adjacent ranges. */
    record CharSet(List<int[]> ranges) {
        static final CharSet EMPTY = new CharSet(List.of());
        static final CharSet DIGIT = range('0', '9');
        static final CharSet WORD = range('a', 'z').union(range('A', 'Z')).union(DIGIT).union(of('_'));
        static final CharSet SPACE = of(' ', '\t', '\n', '\r', '\f', 0x0B, 0xA0, 0xFEFF, 0x1680, 0x2028, 0x2029,
                0x202F, 0x205F, 0x3000).union(range(0x2000, 0x200A));
        /** What a JSON string may hold unescaped (surrogates cannot be written as UTF-8). */
        static final CharSet RAW_IN_JSON = of('"', '\\').union(range(0, 0x1F)).union(range(0xD800, 0xDFFF))
                .complement();
        static final CharSet ESCAPED_IN_JSON = of('"', '\\').union(range(0, 0x1F));

        CharSet {
            ranges = List.copyOf(ranges);
        }

        static CharSet range(int first, int last) {
            return new CharSet(List.of(new int[] {first, last}));
        }

        static CharSet of(int... codePoints) {
            CharSet set = EMPTY;
            for (int c : codePoints) {
                set = set.union(range(c, c));
            }
            return set;
        }

        boolean isEmpty() {
            return ranges.isEmpty();
        }

        boolean isSingle() {
            return ranges.size() == 1 && ranges.getFirst()[0] == ranges.getFirst()[1];
        }

        int first() {
            return ranges.getFirst()[0];
        }

        CharSet union(CharSet other) {
            List<int[]> all = new ArrayList<>(ranges);
            all.addAll(other.ranges);
            all.sort((a, b) -> Integer.compare(a[0], b[0]));
            List<int[]> merged = new ArrayList<>();
            for (int[] range : all) {
                int[] last = merged.isEmpty() ? null : merged.getLast();
                if (last != null && range[0] <= last[1] + 1) {
                    merged.set(merged.size() - 1, new int[] {last[0], Math.max(last[1], range[1])});
                } else {
                    merged.add(range.clone());
                }
            }
            return new CharSet(merged);
        }

        CharSet complement() {
            List<int[]> result = new ArrayList<>();
            int next = 0;
            for (int[] range : ranges) {
                if (range[0] > next) {
                    result.add(new int[] {next, range[0] - 1});
                }
                next = range[1] + 1;
            }
            if (next <= MAX_CODE_POINT) {
                result.add(new int[] {next, MAX_CODE_POINT});
            }
            return new CharSet(result);
        }

        CharSet intersect(CharSet other) {
            return complement().union(other.complement()).complement();
        }

        CharSet minus(CharSet other) {
            return intersect(other.complement());
        }

        /** A GBNF class; when the complement is shorter, a negated class of it. */
        String toGbnfClass() {
            CharSet complement = complement();
            boolean negate = complement.ranges.size() < ranges.size();
            StringBuilder out = new StringBuilder(negate ? "[^" : "[");
            for (int[] range : (negate ? complement : this).ranges) {
                out.append(Gbnf.classCharacter(range[0]));
                if (range[1] != range[0]) {
                    out.append('-').append(Gbnf.classCharacter(range[1]));
                }
            }
            return out.append(']').toString();
        }
    }
}
