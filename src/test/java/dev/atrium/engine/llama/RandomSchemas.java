package dev.atrium.engine.llama;

import java.util.List;
import java.util.Random;

/**
 * Random JSON Schemas, nested and mixed: every construct the converter knows, the ones it refuses, and some
 * that are not schemas at all. The same seed gives the same schema.
 */
final class RandomSchemas {
    private static final List<String> PATTERNS = List.of("^[a-z]{1,4}$", "abc", "^\\d{3}-\\d{2}$", "^(yes|no)$",
            "^[^\"\\\\]{0,3}x?$", "^a.b$", "^\\w+@\\w+\\.com$", "(?=x)", "^(a|)+$", "^[\\s\\S]{2}$", "[", "a{2,1}",
            "^\\u00e9\\x41$", "^[-+]?[0-9]*\\.?[0-9]+$", "\\bword", "^(?:ab|cd){1,2}$");
    private static final List<String> LEAVES = List.of("{}", "true", "{\"type\": \"string\"}",
            "{\"type\": \"integer\"}", "{\"type\": \"number\"}", "{\"type\": \"integer\", \"minimum\": -5, \"maximum\": 120}",
            "{\"type\": \"integer\", \"exclusiveMinimum\": 99}", "{\"type\": \"boolean\"}", "{\"type\": \"null\"}",
            "{\"type\": \"string\", \"maxLength\": 3}", "{\"type\": \"string\", \"minLength\": 1, \"maxLength\": 2}",
            "{\"type\": \"string\", \"format\": \"date\"}", "{\"type\": \"string\", \"format\": \"uuid\"}",
            "{\"type\": \"string\", \"format\": \"date-time\"}", "{\"type\": \"string\", \"format\": \"time\"}",
            "{\"enum\": [\"a\", \"b\\\"c\", 1, null, [true]]}", "{\"const\": {\"k\": \"v\"}}",
            "{\"$ref\": \"#/$defs/a\"}", "{\"$ref\": \"#/$defs/b\"}", "{\"$ref\": \"#\"}");
    /** Rare: what the converter must refuse cleanly. */
    private static final List<String> ODD = List.of("false", "7", "null", "[]", "\"string\"",
            "{\"$ref\": \"#/$defs/missing\"}", "{\"$ref\": \"other.json\"}", "{\"type\": \"number\", \"minimum\": 1}",
            "{\"type\": 5}", "{\"type\": []}", "{\"enum\": []}", "{\"type\": \"string\", \"maxLength\": -1}",
            "{\"type\": \"string\", \"maxLength\": 99999}", "{\"anyOf\": []}", "{\"allOf\": {}}",
            "{\"properties\": []}", "{\"required\": \"a\"}", "{\"items\": 3}", "{\"not\": {}}");

    private RandomSchemas() {}

    /** A root schema with two definitions that schemas inside may refer to. */
    static String root(long seed) {
        Random random = new Random(seed);
        int depth = 1 + random.nextInt(4);
        return "{\"$defs\": {\"a\": " + schema(random, depth) + ", \"b\": " + schema(random, depth) + "}, \"anyOf\": ["
                + schema(random, depth) + "]}";
    }

    /** A root schema without refusals: only constructs the converter supports, bounded in size. */
    static String supported(long seed) {
        Random random = new Random(seed);
        return schema(random, 1 + random.nextInt(3), false);
    }

    private static String schema(Random random, int depth) {
        return schema(random, depth, true);
    }

    private static String schema(Random random, int depth, boolean odd) {
        if (odd && random.nextInt(25) == 0) {
            return pick(random, ODD);
        }
        if (depth == 0 || random.nextInt(4) == 0) {
            return leaf(random, odd);
        }
        int children = 1 + random.nextInt(3);
        return switch (random.nextInt(odd ? 9 : 6)) {
            case 0, 1 -> {
                StringBuilder properties = new StringBuilder();
                StringBuilder required = new StringBuilder();
                for (int i = 0; i < children; i++) {
                    properties.append(i == 0 ? "" : ", ").append("\"p").append(i).append("\": ")
                            .append(schema(random, depth - 1, odd));
                    if (random.nextBoolean()) {
                        required.append(required.isEmpty() ? "" : ", ").append("\"p").append(i).append('"');
                    }
                }
                String additional = switch (random.nextInt(3)) {
                    case 0 -> "";
                    case 1 -> ", \"additionalProperties\": false";
                    default -> ", \"additionalProperties\": " + (odd ? schema(random, depth - 1, true)
                            : "{\"type\": \"integer\", \"minimum\": 0, \"maximum\": 9}");
                };
                yield "{\"type\": \"object\", \"properties\": {" + properties + "}, \"required\": [" + required + "]"
                        + additional + "}";
            }
            case 2 -> "{\"type\": \"array\", \"items\": " + schema(random, depth - 1, odd)
                    + (random.nextBoolean() ? ", \"minItems\": " + random.nextInt(2) : "")
                    + ", \"maxItems\": " + (1 + random.nextInt(odd ? 5 : 2)) + "}";
            case 3 -> "{\"anyOf\": [" + list(random, depth, children, odd) + "]}";
            case 4 -> "{\"prefixItems\": [" + list(random, depth, children, odd) + "], \"items\": false}";
            case 5 -> "{\"type\": [\"string\", \"null\"], \"maxLength\": 4}";
            case 6 -> "{\"oneOf\": [" + list(random, depth, children, odd) + "]}";
            case 7 -> "{\"allOf\": [" + list(random, depth, children, odd) + "]}";
            default -> "{\"type\": \"object\", \"additionalProperties\": " + schema(random, depth - 1, odd) + "}";
        };
    }

    private static String list(Random random, int depth, int count, boolean odd) {
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < count; i++) {
            out.append(i == 0 ? "" : ", ").append(schema(random, depth - 1, odd));
        }
        return out.toString();
    }

    private static String leaf(Random random, boolean odd) {
        if (random.nextInt(5) == 0) {
            String pattern = odd ? pick(random, PATTERNS) : pick(random, PATTERNS.subList(0, 1));
            if (odd && random.nextInt(3) == 0) {
                pattern = randomRegex(random);
            }
            return "{\"type\": \"string\", \"pattern\": " + quoted(pattern) + "}";
        }
        String leaf = pick(random, LEAVES);
        // without refusals: no references (they may loop or not resolve) and bounded strings only
        while (!odd && (leaf.contains("$ref") || leaf.equals("{\"type\": \"string\"}") || leaf.equals("{}")
                || leaf.equals("true"))) {
            leaf = pick(random, LEAVES);
        }
        return leaf;
    }

    private static String randomRegex(Random random) {
        String alphabet = "ab()[]|*+?{}^$\\.-,019dwsSDWxu:=!<>";
        StringBuilder regex = new StringBuilder();
        for (int i = random.nextInt(14); i > 0; i--) {
            regex.append(alphabet.charAt(random.nextInt(alphabet.length())));
        }
        return regex.toString();
    }

    private static String quoted(String text) {
        return "\"" + text.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
    }

    private static String pick(Random random, List<String> options) {
        return options.get(random.nextInt(options.size()));
    }
}
