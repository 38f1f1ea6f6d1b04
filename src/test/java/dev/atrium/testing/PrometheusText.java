package dev.atrium.testing;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A parser for the Prometheus text exposition format (version 0.0.4), strict enough to reject what Prometheus
 * would: it reads every line character by character (metric names, labels with escapes, values, timestamps),
 * requires TYPE and HELP at most once per family and before its samples, and checks that each histogram's
 * buckets are cumulative and end in a {@code +Inf} bucket equal to its count.
 */
public final class PrometheusText {
    /** A sample line. */
    public record Sample(String name, Map<String, String> labels, double value) {}

    /** A metric family: its type and samples. */
    public record Family(String name, String type, String help, List<Sample> samples) {}

    private static final Set<String> TYPES = Set.of("counter", "gauge", "histogram", "summary", "untyped");
    private static final List<String> SUFFIXES = List.of("_bucket", "_count", "_sum", "_total", "_created", "_max");

    private final String text;
    private int position;
    private int line = 1;

    private PrometheusText(String text) {
        this.text = text;
    }

    /**
     * @throws IllegalArgumentException naming the line, when the text is not valid exposition
     */
    public static Map<String, Family> parse(String text) {
        return new PrometheusText(text).families();
    }

    private Map<String, Family> families() {
        Map<String, String> types = new HashMap<>();
        Map<String, String> helps = new HashMap<>();
        Map<String, List<Sample>> samples = new LinkedHashMap<>();
        while (position < text.length()) {
            if (peek() == '\n') {
                next();
                line++;
                continue;
            }
            if (peek() == '#') {
                next();
                skipBlanks();
                String keyword = word();
                if (keyword.equals("HELP") || keyword.equals("TYPE")) {
                    skipBlanks();
                    String name = metricName();
                    if (samples.containsKey(name)) {
                        throw error(keyword + " for " + name + " after its samples");
                    }
                    skipBlanks();
                    String rest = restOfLine();
                    Map<String, String> target = keyword.equals("HELP") ? helps : types;
                    if (target.put(name, rest) != null) {
                        throw error("second " + keyword + " for " + name);
                    }
                    if (keyword.equals("TYPE") && !TYPES.contains(rest)) {
                        throw error("unknown type '" + rest + "'");
                    }
                } else {
                    restOfLine();
                }
                continue;
            }
            Sample sample = sample();
            String family = family(sample.name(), types);
            samples.computeIfAbsent(family, f -> new ArrayList<>()).add(sample);
        }
        Map<String, Family> families = new LinkedHashMap<>();
        samples.forEach((name, list) -> {
            Family family = new Family(name, types.getOrDefault(name, "untyped"), helps.get(name), list);
            if (family.type().equals("histogram")) {
                checkHistogram(family);
            }
            families.put(name, family);
        });
        return families;
    }

    private static String family(String sampleName, Map<String, String> types) {
        if (types.containsKey(sampleName)) {
            return sampleName;
        }
        for (String suffix : SUFFIXES) {
            if (sampleName.endsWith(suffix)) {
                String base = sampleName.substring(0, sampleName.length() - suffix.length());
                if (types.containsKey(base)) {
                    return base;
                }
            }
        }
        return sampleName;
    }

    private static void checkHistogram(Family family) {
        Map<Map<String, String>, List<Sample>> buckets = new HashMap<>();
        Map<Map<String, String>, Double> counts = new HashMap<>();
        for (Sample sample : family.samples()) {
            Map<String, String> labels = new HashMap<>(sample.labels());
            if (sample.name().endsWith("_bucket")) {
                String le = labels.remove("le");
                if (le == null) {
                    throw new IllegalArgumentException(family.name() + ": a bucket without 'le'");
                }
                buckets.computeIfAbsent(labels, l -> new ArrayList<>()).add(sample);
            } else if (sample.name().endsWith("_count")) {
                counts.put(labels, sample.value());
            }
        }
        buckets.forEach((labels, list) -> {
            list.sort((a, b) -> Double.compare(bound(a), bound(b)));
            double previous = 0;
            for (Sample bucket : list) {
                if (bucket.value() < previous) {
                    throw new IllegalArgumentException(family.name() + ": buckets are not cumulative");
                }
                previous = bucket.value();
            }
            Sample last = list.getLast();
            if (!Double.isInfinite(bound(last))) {
                throw new IllegalArgumentException(family.name() + ": no +Inf bucket");
            }
            Double count = counts.get(labels);
            if (count == null || count != last.value()) {
                throw new IllegalArgumentException(family.name() + ": +Inf bucket differs from the count");
            }
        });
    }

    private static double bound(Sample bucket) {
        return parseValue(bucket.labels().get("le"));
    }

    private Sample sample() {
        String name = metricName();
        Map<String, String> labels = new LinkedHashMap<>();
        if (position < text.length() && peek() == '{') {
            next();
            skipBlanks();
            while (peek() != '}') {
                String label = labelName();
                skipBlanks();
                expect('=');
                skipBlanks();
                if (labels.put(label, quoted()) != null) {
                    throw error("label " + label + " twice");
                }
                skipBlanks();
                if (peek() == ',') {
                    next();
                    skipBlanks();
                } else if (peek() != '}') {
                    throw error("expected ',' or '}'");
                }
            }
            next();
        }
        if (peek() != ' ' && peek() != '\t') {
            throw error("expected a space before the value");
        }
        skipBlanks();
        double value = parseValue(token());
        skipBlanks();
        if (position < text.length() && peek() != '\n') {
            String timestamp = token();
            try {
                Long.parseLong(timestamp);
            } catch (NumberFormatException e) {
                throw error("bad timestamp '" + timestamp + "'");
            }
            skipBlanks();
        }
        if (position < text.length()) {
            expect('\n');
            line++;
        }
        return new Sample(name, labels, value);
    }

    private static double parseValue(String token) {
        return switch (token) {
            case "+Inf", "Inf" -> Double.POSITIVE_INFINITY;
            case "-Inf" -> Double.NEGATIVE_INFINITY;
            case "NaN" -> Double.NaN;
            default -> {
                if (!token.matches("[-+]?(\\d+\\.?\\d*|\\.\\d+)([eE][-+]?\\d+)?")) {
                    throw new IllegalArgumentException("bad value '" + token + "'");
                }
                yield Double.parseDouble(token);
            }
        };
    }

    private String metricName() {
        int start = position;
        while (position < text.length()) {
            char c = peek();
            boolean first = position == start;
            if (Character.isLetter(c) && c < 128 || c == '_' || c == ':' || (!first && Character.isDigit(c))) {
                next();
            } else {
                break;
            }
        }
        if (position == start) {
            throw error("expected a metric name");
        }
        return text.substring(start, position);
    }

    private String labelName() {
        int start = position;
        while (position < text.length()) {
            char c = peek();
            if (Character.isLetter(c) && c < 128 || c == '_' || (position > start && Character.isDigit(c))) {
                next();
            } else {
                break;
            }
        }
        if (position == start) {
            throw error("expected a label name");
        }
        return text.substring(start, position);
    }

    private String quoted() {
        expect('"');
        StringBuilder value = new StringBuilder();
        while (true) {
            char c = next();
            if (c == '"') {
                return value.toString();
            }
            if (c == '\n') {
                throw error("newline in a label value");
            }
            if (c == '\\') {
                char escaped = next();
                switch (escaped) {
                    case '\\' -> value.append('\\');
                    case '"' -> value.append('"');
                    case 'n' -> value.append('\n');
                    default -> throw error("bad escape \\" + escaped);
                }
            } else {
                value.append(c);
            }
        }
    }

    private String word() {
        int start = position;
        while (position < text.length() && Character.isLetter(peek())) {
            next();
        }
        return text.substring(start, position);
    }

    private String token() {
        int start = position;
        while (position < text.length() && peek() != ' ' && peek() != '\t' && peek() != '\n') {
            next();
        }
        return text.substring(start, position);
    }

    private String restOfLine() {
        int start = position;
        while (position < text.length() && peek() != '\n') {
            next();
        }
        String rest = text.substring(start, position).strip();
        if (position < text.length()) {
            next();
            line++;
        }
        return rest;
    }

    private void skipBlanks() {
        while (position < text.length() && (peek() == ' ' || peek() == '\t')) {
            next();
        }
    }

    private void expect(char c) {
        if (position >= text.length() || next() != c) {
            throw error("expected '" + c + "'");
        }
    }

    private char peek() {
        if (position >= text.length()) {
            throw error("unexpected end");
        }
        return text.charAt(position);
    }

    private char next() {
        char c = peek();
        position++;
        return c;
    }

    private IllegalArgumentException error(String message) {
        return new IllegalArgumentException("line " + line + ": " + message);
    }
}
