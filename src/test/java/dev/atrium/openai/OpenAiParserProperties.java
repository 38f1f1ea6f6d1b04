package dev.atrium.openai;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.atrium.AtriumException;
import dev.atrium.server.Json;
import dev.atrium.testing.FuzzInput;
import dev.atrium.testing.FuzzTries;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Function;
import net.jqwik.api.Example;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.lifecycle.AddLifecycleHook;
import net.jqwik.api.statistics.Statistics;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.ObjectNode;

/**
 * Fuzzing the OpenAI request parsers (embeddings, chat, completions, and the field check of local models):
 * whatever the body, the parse gives a request or a 4xx, never another exception, within a time bound.
 */
@AddLifecycleHook(FuzzTries.class)
class OpenAiParserProperties {
    private static final long MAX_MILLIS = 2_000;

    @Property(tries = 3000)
    void embeddings_anyBody_givesARequestOrA4xx(@ForAll long seed) {
        FuzzInput fuzz = new FuzzInput(seed);
        JsonNode body = reread(fuzz, embeddingsBody(fuzz));
        if (body == null) {
            return;
        }
        FuzzInput.Outcome outcome = FuzzInput.parse(body, MAX_MILLIS, () -> {
            OpenAiEmbeddingsRequest.parse(body);
            OpenAiFields.checkEmbeddings(body);
        });
        collect(outcome);
    }

    @Property(tries = 3000)
    void chat_anyBody_givesARequestOrA4xx(@ForAll long seed) {
        FuzzInput fuzz = new FuzzInput(seed);
        JsonNode body = reread(fuzz, generationBody(fuzz, true));
        if (body == null) {
            return;
        }
        collect(FuzzInput.parse(body, MAX_MILLIS, () -> OpenAiGenerationRequest.parse(body, true)));
    }

    @Property(tries = 2000)
    void completions_anyBody_givesARequestOrA4xx(@ForAll long seed) {
        FuzzInput fuzz = new FuzzInput(seed);
        JsonNode body = reread(fuzz, generationBody(fuzz, false));
        if (body == null) {
            return;
        }
        collect(FuzzInput.parse(body, MAX_MILLIS, () -> OpenAiGenerationRequest.parse(body, false)));
    }

    @Example
    void completions_temperatureOfAThousandDigits_isA400() {
        JsonNode body = Json.MAPPER.readTree("{\"model\": \"dreams\", \"prompt\": \"a\", \"temperature\": "
                + "9".repeat(999) + "}");
        assertThatThrownBy(() -> OpenAiGenerationRequest.parse(body, false)).isInstanceOfSatisfying(
                AtriumException.class, e -> assertThat(e.param()).contains("temperature"));
    }

    private static void collect(FuzzInput.Outcome outcome) {
        Statistics.collect(outcome);
        Statistics.coverage(coverage -> {
            coverage.check(FuzzInput.Outcome.PARSED).percentage(p -> p > 3);
            coverage.check(FuzzInput.Outcome.REFUSED).percentage(p -> p > 3);
        });
    }

    /** The body as the server reads it: through its text, sometimes mutated; null when that is no JSON object. */
    private static JsonNode reread(FuzzInput fuzz, JsonNode body) {
        try {
            JsonNode node = Json.MAPPER.readTree(fuzz.mutatedText(body));
            return node != null && node.isObject() ? node : null;
        } catch (tools.jackson.core.JacksonException e) {
            return null; // the server's JSON reader answers these (JsonReaderProperties)
        }
    }

    static ObjectNode embeddingsBody(FuzzInput fuzz) {
        Map<String, Function<FuzzInput, JsonNode>> fields = new LinkedHashMap<>();
        fields.put("model", f -> FuzzInput.text(f.oneOf("all-minilm-l6-v2", "all-minilm-l6-v2:1", f.string())));
        fields.put("input", f -> switch (f.below(4)) {
            case 0 -> FuzzInput.text(f.string());
            case 1 -> f.array(f.chance(5) ? 3000 : 5, g -> FuzzInput.text(g.string()));
            case 2 -> f.array(20, g -> g.chance(95) ? FuzzInput.integer(g.below(30_522)) : g.number());
            default -> f.array(4, g -> g.array(10, h -> FuzzInput.integer(h.below(30_522))));
        });
        fields.put("encoding_format", f -> FuzzInput.text(f.oneOf("float", "base64")));
        fields.put("dimensions", f -> FuzzInput.integer(1 + f.below(400)));
        fields.put("user", f -> FuzzInput.text(f.string()));
        return fuzz.body(fields);
    }

    static ObjectNode generationBody(FuzzInput fuzz, boolean chat) {
        Map<String, Function<FuzzInput, JsonNode>> fields = new LinkedHashMap<>();
        fields.put("model", f -> FuzzInput.text(f.oneOf("dreams", "dreams:1", f.string())));
        if (chat) {
            fields.put("messages", f -> f.array(4, OpenAiParserProperties::message));
            fields.put("max_completion_tokens", f -> FuzzInput.integer(1 + f.below(64)));
            fields.put("response_format", OpenAiParserProperties::responseFormat);
        } else {
            fields.put("prompt", f -> FuzzInput.text(f.string()));
        }
        fields.put("max_tokens", f -> FuzzInput.integer(1 + f.below(64)));
        fields.put("temperature", f -> Json.MAPPER.getNodeFactory().numberNode(f.random().nextDouble() * 2));
        fields.put("top_p", f -> Json.MAPPER.getNodeFactory().numberNode(f.random().nextDouble()));
        fields.put("seed", f -> FuzzInput.integer(f.random().nextInt()));
        fields.put("stop", f -> f.chance(50) ? FuzzInput.text(f.string()) : f.array(4, g -> FuzzInput.text("\n")));
        fields.put("n", f -> FuzzInput.integer(1));
        fields.put("stream", f -> Json.MAPPER.getNodeFactory().booleanNode(f.random().nextBoolean()));
        fields.put("stream_options", f -> {
            ObjectNode options = FuzzInput.object();
            options.put("include_usage", f.random().nextBoolean());
            return options;
        });
        fields.put("presence_penalty", f -> Json.MAPPER.getNodeFactory().numberNode(f.random().nextDouble() * 4 - 2));
        fields.put("frequency_penalty", f -> Json.MAPPER.getNodeFactory().numberNode(f.random().nextDouble() * 4 - 2));
        fields.put("user", f -> FuzzInput.text(f.string()));
        if (fuzz.chance(10)) {
            // fields OpenAI defines that local models refuse unless switched off
            String field = fuzz.oneOf(chat ? OpenAiFields.CHAT_UNSUPPORTED : OpenAiFields.COMPLETIONS_UNSUPPORTED);
            fields.put(field, f -> f.chance(50) ? Json.MAPPER.getNodeFactory().booleanNode(false) : f.value(2));
        }
        return fuzz.body(fields);
    }

    private static JsonNode message(FuzzInput fuzz) {
        Map<String, Function<FuzzInput, JsonNode>> fields = new LinkedHashMap<>();
        fields.put("role", f -> FuzzInput.text(f.oneOf("system", "developer", "user", "assistant", "tool")));
        fields.put("content", f -> f.chance(70) ? FuzzInput.text(f.string()) : f.array(3, g -> {
            ObjectNode part = FuzzInput.object();
            part.put("type", g.chance(90) ? "text" : "image_url");
            part.put("text", g.string());
            return part;
        }));
        return fuzz.body(fields);
    }

    private static JsonNode responseFormat(FuzzInput fuzz) {
        ObjectNode format = FuzzInput.object();
        String type = fuzz.oneOf("text", "json_object", "json_schema", "xml");
        format.put("type", type);
        if (type.equals("json_schema")) {
            ObjectNode schema = format.putObject("json_schema");
            schema.set("schema", fuzz.chance(70) ? Json.MAPPER.readTree("{\"type\": \"object\"}") : fuzz.value(3));
        }
        return format;
    }
}
