package dev.atrium.server;

/** CSV fields as the API's exports write them (RFC 4180, lines ending in CRLF). */
public final class Csv {
    private Csv() {}

    /**
     * A field: quoted when it holds a comma, a quote or a line break; one starting with {@code =}, {@code +},
     * {@code -} or {@code @} (a formula to a spreadsheet) is prefixed with {@code '} and quoted, so it stays text.
     */
    public static String field(String value) {
        if (value == null) {
            return "";
        }
        String text = !value.isEmpty() && "=+-@".indexOf(value.charAt(0)) >= 0 ? "'" + value : value;
        return text.contains(",") || text.contains("\"") || text.contains("\n") || text.contains("\r")
                || !text.equals(value) ? "\"" + text.replace("\"", "\"\"") + "\"" : text;
    }
}
