package dev.atrium.tenancy;

import dev.atrium.AtriumException;
import java.util.List;
import java.util.regex.Pattern;

/** A key's model allowlist: model names or glob patterns ({@code *} any run of characters, {@code ?} one). */
public final class ModelPatterns {
    private static final Pattern VALID = Pattern.compile("[a-z0-9*?][a-z0-9._*?-]{0,127}");

    private ModelPatterns() {}

    static void check(List<String> patterns) {
        if (patterns.size() > 100) {
            throw AtriumException.invalidParam("models", "at most 100 model patterns per key");
        }
        for (String pattern : patterns) {
            if (!VALID.matcher(pattern).matches()) {
                throw AtriumException.invalidParam("models", "'" + pattern + "' is not a model name or pattern:"
                        + " lowercase letters, digits, '-', '.', '_', and the wildcards '*' and '?'");
            }
        }
    }

    /** Whether a model name is allowed; an empty list allows every name. */
    public static boolean allows(List<String> patterns, String model) {
        if (patterns.isEmpty()) {
            return true;
        }
        for (String pattern : patterns) {
            if (matches(pattern, model)) {
                return true;
            }
        }
        return false;
    }

    /** Greedy wildcard matching with backtracking to the last star: linear in practice, never exponential. */
    private static boolean matches(String pattern, String text) {
        int p = 0;
        int t = 0;
        int star = -1;
        int resume = 0;
        while (t < text.length()) {
            if (p < pattern.length() && (pattern.charAt(p) == '?' || pattern.charAt(p) == text.charAt(t))) {
                p++;
                t++;
            } else if (p < pattern.length() && pattern.charAt(p) == '*') {
                star = p++;
                resume = t;
            } else if (star >= 0) {
                p = star + 1;
                t = ++resume;
            } else {
                return false;
            }
        }
        while (p < pattern.length() && pattern.charAt(p) == '*') {
            p++;
        }
        return p == pattern.length();
    }
}
