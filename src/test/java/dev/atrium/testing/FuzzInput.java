package dev.atrium.testing;

import dev.atrium.AtriumException;
import dev.atrium.server.Json;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.Function;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.JsonNodeFactory;
import tools.jackson.databind.node.ObjectNode;

/**
 * Inputs for the fuzz properties, from a seed: JSON values of every kind (wrong types, numbers past every
 * range, deep nesting, unicode, long strings), request bodies built from an endpoint's own fields with some of
 * them mutated, and texts and bytes cut, spliced and flipped. The same seed gives the same input, so a failure
 * reported by jqwik (which shows the seed) replays exactly.
 */
public final class FuzzInput {
    private static final JsonNodeFactory NODES = JsonNodeFactory.instance;
    private static final String[] NUMBERS = {"0", "-0", "1", "-1", "2", "127", "128", "255", "256", "-129", "65535",
            "65536", "2147483647", "2147483648", "-2147483649", "4294967295", "4294967296", "9223372036854775807",
            "9223372036854775808", "-9223372036854775809", "18446744073709551615", "18446744073709551616",
            "1" + "0".repeat(400), "-" + "9".repeat(999), "0.5", "-0.0", "1.5", "2.0000000001", "1e308", "1e309", "-1e400",
            "1e-400", "4.9e-324", "3.4028235e38", "3.5e38", "65504", "65520", "1E+2", "12345678901234567890.5"};
    private static final String[] STRINGS = {"", " ", "a", "x", "null", "true", "0", "-1", "\u0000", "\t\n",
            "é", "日本語", "\uD83D\uDE00", "\uD800", "\uDFFF", "\uFFFE", "\u202E", "../../etc/passwd", "C:\\Windows",
            "%s%n", "${jndi:x}", "<script>", "'; drop table models; --", "a:b", "a:1", "a:latest", "Bad Name!",
            "all-minilm-l6-v2", "all-minilm-l6-v2:1", "all-minilm-l6-v2:production", "FP32", "INT64", "BYTES", "BOOL",
            "text", "json_object", "json_schema", "user", "system", "member", "admin", "owner", "reader", "usd", "EUR",
            "2027-01-31T00:00:00Z", "0001-01-01T00:00:00Z", "+1000000000-12-31T23:59:59.999999999Z", "1.25", "-1.5",
            "0.000000000001", "1e9", "base64", "float", "mean", "cls", "none", "https://example.com/v1",
            "http://127.0.0.1:1/v1", "example.com", "example.com:99999", "*", "a*", "key_000000000000000000000000",
            "ten_000000000000000000000000"};
    private static final String[] NAMES = {"model", "input", "inputs", "name", "shape", "datatype", "data", "id",
            "parameters", "outputs", "messages", "role", "content", "prompt", "type", "text", "tenant", "key", "role",
            "models", "version", "host", "__proto__", "", "\u0000", "constructor", "Model", "INPUT", "é"};

    private final Random random;

    public FuzzInput(long seed) {
        this.random = new Random(seed);
    }

    public Random random() {
        return random;
    }

    public boolean chance(int percent) {
        return random.nextInt(100) < percent;
    }

    public int below(int bound) {
        return random.nextInt(bound);
    }

    @SafeVarargs
    public final <T> T oneOf(T... choices) {
        return choices[random.nextInt(choices.length)];
    }

    public <T> T oneOf(List<T> choices) {
        return choices.get(random.nextInt(choices.size()));
    }

    /** Any JSON value, nested at most {@code depth} more levels (plus, rarely, a chain past the parser's limit). */
    public JsonNode value(int depth) {
        int kind = random.nextInt(depth <= 0 ? 5 : 8);
        return switch (kind) {
            case 0 -> NODES.nullNode();
            case 1 -> NODES.booleanNode(random.nextBoolean());
            case 2 -> number();
            case 3, 4 -> NODES.stringNode(string());
            case 5 -> {
                ArrayNode array = NODES.arrayNode();
                int size = random.nextInt(random.nextInt(8) == 0 ? 40 : 5);
                for (int i = 0; i < size; i++) {
                    array.add(value(depth - 1));
                }
                yield array;
            }
            case 6 -> {
                ObjectNode object = NODES.objectNode();
                int size = random.nextInt(5);
                for (int i = 0; i < size; i++) {
                    object.set(random.nextBoolean() ? oneOf(NAMES) : string(), value(depth - 1));
                }
                yield object;
            }
            default -> nested(1 + random.nextInt(random.nextInt(10) == 0 ? 60 : 12));
        };
    }

    /** Arrays (or objects) nested {@code levels} deep around one value. */
    public JsonNode nested(int levels) {
        JsonNode node = random.nextBoolean() ? number() : NODES.stringNode(string());
        for (int i = 0; i < levels; i++) {
            if (random.nextInt(4) == 0) {
                ObjectNode object = NODES.objectNode();
                object.set(oneOf(NAMES), node);
                node = object;
            } else {
                ArrayNode array = NODES.arrayNode();
                array.add(node);
                node = array;
            }
        }
        return node;
    }

    /** A number from the edges of every integer and floating range, or a small one. */
    public JsonNode number() {
        if (random.nextBoolean()) {
            return NODES.numberNode(random.nextInt(10) - 3);
        }
        return Json.MAPPER.readTree(oneOf(NUMBERS));
    }

    /** A short or, rarely, a very long string, often with characters outside ASCII. */
    public String string() {
        int kind = random.nextInt(10);
        if (kind < 5) {
            return oneOf(STRINGS);
        }
        if (kind == 9) {
            return oneOf("x", "word ", "日本", "\uD83D\uDE00").repeat(1 + random.nextInt(20_000));
        }
        StringBuilder text = new StringBuilder();
        int length = random.nextInt(12);
        for (int i = 0; i < length; i++) {
            text.appendCodePoint(switch (random.nextInt(4)) {
                case 0 -> 'a' + random.nextInt(26);
                case 1 -> random.nextInt(0x80);
                case 2 -> random.nextInt(0x3000);
                default -> random.nextInt(0x110000);
            });
        }
        return text.toString();
    }

    /**
     * A body for an endpoint: each of its fields with a value its generator gives (meant to be accepted), left out
     * or replaced by any JSON value, and sometimes an unknown field too.
     */
    public ObjectNode body(Map<String, Function<FuzzInput, JsonNode>> fields) {
        ObjectNode body = NODES.objectNode();
        int mutationOdds = oneOf(0, 5, 15, 40);
        fields.forEach((field, valid) -> {
            if (chance(mutationOdds / 2)) {
                return;
            }
            body.set(field, chance(mutationOdds) ? value(3) : valid.apply(this));
        });
        if (chance(mutationOdds / 3)) {
            body.set(random.nextBoolean() ? oneOf(NAMES) : string(), value(2));
        }
        return body;
    }

    /** An array of {@code 1..max} elements from a generator. */
    public ArrayNode array(int max, Function<FuzzInput, JsonNode> element) {
        ArrayNode array = NODES.arrayNode();
        int size = 1 + random.nextInt(max);
        for (int i = 0; i < size; i++) {
            array.add(element.apply(this));
        }
        return array;
    }

    public static JsonNode text(String value) {
        return NODES.stringNode(value);
    }

    public static JsonNode integer(long value) {
        return NODES.numberNode(value);
    }

    public static ObjectNode object() {
        return NODES.objectNode();
    }

    public static ArrayNode array() {
        return NODES.arrayNode();
    }

    /** The JSON text of a node, sometimes cut, spliced, or with a byte changed: most no longer parse. */
    public byte[] mutatedText(JsonNode node) {
        byte[] bytes = Json.MAPPER.writeValueAsBytes(node);
        return chance(70) ? bytes : mutate(bytes);
    }

    /** The bytes cut short, with bytes flipped, inserted or removed, or with garbage after them. */
    public byte[] mutate(byte[] bytes) {
        byte[] out = bytes.clone();
        int edits = 1 + random.nextInt(4);
        for (int i = 0; i < edits; i++) {
            int at = out.length == 0 ? 0 : random.nextInt(out.length);
            out = switch (random.nextInt(6)) {
                case 0 -> java.util.Arrays.copyOf(out, at);
                case 1 -> {
                    if (out.length > 0) {
                        out[at] = (byte) random.nextInt(256);
                    }
                    yield out;
                }
                case 2 -> splice(out, at, 0, new byte[] {(byte) "{}[]\",:\\0-e.\u0000".charAt(random.nextInt(13))});
                case 3 -> out.length == 0 ? out : splice(out, at, 1, new byte[0]);
                case 4 -> splice(out, out.length, 0, oneOf("}", "]", "{\"a\":1}", " garbage", "\"\\ud800\"",
                        "\u00ff\u00fe", "\"", "1e99999").getBytes(StandardCharsets.UTF_8));
                default -> splice(out, at, 0, new byte[] {oneOf((byte) 0xC0, (byte) 0xED, (byte) 0xF4, (byte) 0xFF,
                        (byte) 0x80)});
            };
        }
        return out;
    }

    /** {@code bytes} with {@code removed} bytes at {@code at} replaced by {@code inserted}. */
    private static byte[] splice(byte[] bytes, int at, int removed, byte[] inserted) {
        byte[] out = new byte[bytes.length - removed + inserted.length];
        System.arraycopy(bytes, 0, out, 0, at);
        System.arraycopy(inserted, 0, out, at, inserted.length);
        System.arraycopy(bytes, at + removed, out, at + inserted.length, bytes.length - at - removed);
        return out;
    }

    /** Bytes with no structure at all. */
    public byte[] garbage(int maxLength) {
        byte[] bytes = new byte[random.nextInt(maxLength + 1)];
        random.nextBytes(bytes);
        return bytes;
    }

    /**
     * Runs one parse and returns how it ended: normally, or refused with an {@link AtriumException} of a 4xx code.
     * Any other exception, a 5xx code, or a parse slower than {@code maxMillis} fails the property (with the input
     * in the message).
     */
    public static Outcome parse(Object input, long maxMillis, Runnable parse) {
        long start = System.nanoTime();
        Outcome outcome;
        try {
            parse.run();
            outcome = Outcome.PARSED;
        } catch (AtriumException e) {
            int status = e.code().httpStatus();
            if (status < 400 || status > 499) {
                throw new AssertionError("a " + status + " (" + e.code() + ": " + e.getMessage() + ") for "
                        + describe(input), e);
            }
            outcome = Outcome.REFUSED;
        }
        long millis = (System.nanoTime() - start) / 1_000_000;
        if (millis > maxMillis) {
            throw new AssertionError("took " + millis + " ms (more than " + maxMillis + ") for " + describe(input));
        }
        return outcome;
    }

    /** How a parse ended. */
    public enum Outcome { PARSED, REFUSED }

    /** An input, shortened for a failure message. */
    public static String describe(Object input) {
        String text = input instanceof byte[] bytes ? new String(bytes, StandardCharsets.UTF_8) : String.valueOf(input);
        return text.length() > 2000 ? text.substring(0, 2000) + "... (" + text.length() + " characters)" : text;
    }
}
