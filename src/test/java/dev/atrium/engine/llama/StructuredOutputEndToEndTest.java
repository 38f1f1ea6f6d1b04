package dev.atrium.engine.llama;

import static org.assertj.core.api.Assertions.assertThat;

import com.networknt.schema.InputFormat;
import com.networknt.schema.JsonSchemaFactory;
import com.networknt.schema.SpecVersion;
import com.networknt.schema.ValidationMessage;
import dev.atrium.testing.Http;
import dev.atrium.testing.Tenants;
import dev.atrium.testing.TestServer;
import dev.atrium.engine.GenerationEvent;
import dev.atrium.engine.ProgressWatch;
import java.io.IOException;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import tools.jackson.core.JacksonException;
import tools.jackson.core.exc.UnexpectedEndOfInputException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * Structured output on the real llama.cpp engine (aidreams260K from ../shared/models): the grammars the converter
 * writes are accepted by llama.cpp (which silently generates unconstrained text from a grammar it cannot parse),
 * and what the model writes under them validates against the schema.
 */
class StructuredOutputEndToEndTest {
    private static final Path MODEL = Path.of("../shared/models/aidreams260K-f32.gguf");
    private static final JsonMapper JSON = JsonMapper.builder().build();
    private static final JsonSchemaFactory VALIDATORS = JsonSchemaFactory.getInstance(SpecVersion.VersionFlag.V202012);
    private static TestServer server;
    private static Http member;

    @BeforeAll
    static void start() {
        Assumptions.assumeTrue(Files.isRegularFile(MODEL),
                "needs " + MODEL.toAbsolutePath().normalize() + " (the shared models beside the project)");
        LlamaCppTest.openOrSkip("StructuredOutputEndToEndTest");
        server = TestServer.start(Map.of("preload", "none"));
        Http admin = server.http();
        assertThat(admin.postJson("/admin/models", Map.of("name", "dreams", "task", "chat", "engine", "llama")).status())
                .isEqualTo(201);
        Http.Reply upload = admin.post("/admin/models/dreams/versions", "multipart/form-data; boundary=" + Http.BOUNDARY,
                Http.multipart(Map.of("gguf", read(MODEL), "config",
                        "{\"slots\": 2, \"context_per_slot\": 128}".getBytes(StandardCharsets.UTF_8))));
        assertThat(upload.status()).as(upload.toString()).isEqualTo(201);
        Tenants tenants = new Tenants(admin);
        member = admin.withKey(tenants.key(tenants.tenant("structured"), "member").secret());
    }

    @AfterAll
    static void stop() {
        if (server != null) {
            server.close();
        }
    }

    @Test
    void chat_withJsonSchemas_writesJsonThatValidates() {
        List<String> schemas = List.of(
                """
                {"type": "object", "properties": {"name": {"type": "string", "maxLength": 8},
                 "age": {"type": "integer"}, "ok": {"type": "boolean"}},
                 "required": ["name", "age", "ok"], "additionalProperties": false}""",
                """
                {"type": "array", "items": {"enum": ["red", "green", "blue"]}, "minItems": 1, "maxItems": 3}""",
                """
                {"type": "string", "pattern": "^[a-z]{2,5}-\\\\d{2}$"}""",
                """
                {"$defs": {"node": {"type": "object", "properties": {"v": {"type": "integer"},
                  "next": {"anyOf": [{"$ref": "#/$defs/node"}, {"type": "null"}]}},
                  "required": ["v", "next"], "additionalProperties": false}},
                 "$ref": "#/$defs/node"}""",
                """
                {"type": "object", "properties": {"day": {"type": "string", "format": "date"},
                 "at": {"type": "string", "format": "time"}}, "required": ["day", "at"]}""",
                """
                {"type": "string", "format": "date-time"}""",
                """
                {"type": "string", "format": "uuid"}""",
                """
                {"allOf": [{"properties": {"kind": {"const": "point"}}, "required": ["kind"]},
                           {"properties": {"xy": {"prefixItems": [{"type": "integer"}, {"type": "integer"}],
                            "items": false}}, "required": ["xy"]}]}""",
                """
                {"type": "object", "properties": {"note": {"type": ["string", "null"], "maxLength": 5},
                 "n": {"oneOf": [{"type": "integer"}, {"type": "null"}]}}, "required": ["note", "n"]}""");
        for (String schema : schemas) {
            Http.Reply reply = member.postJson("/v1/chat/completions", Map.of("model", "dreams", "messages",
                    List.of(Map.of("role", "user", "content", "Hi")), "max_tokens", 72,
                    "temperature", 0, "seed", 5, "response_format", Map.of("type", "json_schema", "json_schema",
                            Map.of("name", "answer", "schema", JSON.readTree(schema)))));
            assertThat(reply.status()).as(schema + " -> " + reply).isEqualTo(200);
            JsonNode choice = reply.json().path("choices").get(0);
            String content = choice.path("message").path("content").asString();
            assertThat(choice.path("finish_reason").asString()).as(schema + " -> " + content).isEqualTo("stop");
            assertValid(schema, content);
        }
    }

    @Test
    void chat_withJsonObject_writesAnObject() {
        Http.Reply reply = member.postJson("/v1/chat/completions", Map.of("model", "dreams", "messages",
                List.of(Map.of("role", "user", "content", "Hi")), "max_tokens", 40, "temperature", 0, "seed", 1,
                "response_format", Map.of("type", "json_object")));
        assertThat(reply.status()).as(reply.toString()).isEqualTo(200);
        String content = reply.json().path("choices").get(0).path("message").path("content").asString();
        assertThat(content.strip()).startsWith("{");
        if (reply.json().path("choices").get(0).path("finish_reason").asString().equals("stop")) {
            assertThat(JSON.readTree(content).isObject()).as(content).isTrue();
        }
    }

    @Test
    void chat_withSchemasThatAbortedTheProcess_isAnsweredAndTheServerKeepsServing() {
        // the binding's converter threw an unhandled C++ exception for both of these
        Http.Reply pattern = chat(Map.of("type", "string", "pattern", "abc"));
        assertThat(pattern.status()).as(pattern.toString()).isEqualTo(200);
        assertThat(pattern.json().path("choices").get(0).path("message").path("content").asString()).startsWith("\"");

        for (Map<String, Object> refused : List.<Map<String, Object>>of(
                Map.of("$ref", "#/$defs/missing"),
                Map.of("type", "string", "pattern", "(?<=a)b"),
                Map.of("type", "number", "minimum", 3))) {
            Http.Reply reply = chat(refused);
            assertThat(reply.status()).as(refused + " -> " + reply).isEqualTo(400);
            JsonNode error = reply.json().path("error");
            assertThat(error.path("type").asString()).isEqualTo("invalid_request_error");
            assertThat(error.path("param").asString()).isEqualTo("response_format");
        }
        Http.Reply after = member.postJson("/v1/chat/completions", Map.of("model", "dreams", "messages",
                List.of(Map.of("role", "user", "content", "Hi")), "max_tokens", 4));
        assertThat(after.status()).isEqualTo(200);
    }

    /** Random supported schemas, straight through llama.cpp with a longer context than the server's slots. */
    @Test
    void generate_underRandomSchemaGrammars_writesOnlyJsonThatValidates() {
        int complete = 0;
        List<String> truncated = new ArrayList<>();
        for (long seed = 1; seed <= 40; seed++) {
            String schema = RandomSchemas.supported(seed);
            String grammar = JsonSchemaGrammar.fromSchema(schema);
            String output = complete(grammar, 200, (int) seed);
            try {
                JSON.readTree(output);
            } catch (UnexpectedEndOfInputException e) {
                truncated.add(output); // cut off by the token limit: a prefix of valid JSON
                continue;
            } catch (JacksonException e) {
                throw new AssertionError("not JSON, so llama.cpp did not apply the grammar of " + schema + ":\n"
                        + grammar + "\n-> " + output, e);
            }
            assertValid(schema, output);
            complete++;
        }
        System.out.println(complete + " of 40 random schemas completed within 200 tokens; cut off: " + truncated);
        assertThat(complete).isGreaterThanOrEqualTo(25);
    }

    @Test
    void generate_underPatternGrammars_writesStringsThatMatch() {
        List<String> patterns = List.of("^[a-z]{1,4}$", "^\\d{3}-\\d{2}$", "^(yes|no)$", "^[^\"\\\\]{0,3}x?$",
                "^a.b$", "^[\\s\\S]{2}$", "^\\u00e9\\x41$", "^[-+]?[0-9]{0,3}\\.?[0-9]{1,3}$", "^(?:ab|cd){1,2}$",
                "^a\"b\\\\c$", "^[\\t ]x\\n$", "^(\\w{2}|\\d){2}$", "^[A-Z][^a-z]?$", "^x*y$", "ab");
        int matched = 0;
        for (int i = 0; i < patterns.size(); i++) {
            String schema = "{\"type\": \"string\", \"pattern\": " + JSON.writeValueAsString(patterns.get(i)) + "}";
            String output = complete(JsonSchemaGrammar.fromSchema(schema), 60, i);
            assertThat(output).as(schema).startsWith("\"");
            if (output.strip().endsWith("\"") && output.strip().length() > 1) {
                assertValid(schema, output);
                matched++;
            } else {
                assertThat(patterns.get(i)).as("only an unbounded pattern may run past the limit: " + output)
                        .matches(".*([*+]|,}).*|[^^].*|.*[^$]");
            }
        }
        assertThat(matched).isGreaterThanOrEqualTo(patterns.size() - 3);
    }

    /** The checks above have teeth: the validator refuses what breaks each kind of constraint they rely on. */
    @Test
    void validator_refusesOutputThatBreaksTheSchema() {
        Map<String, String> invalid = Map.of(
                "{\"type\": \"string\", \"pattern\": \"^a$\"}", "\"b\"",
                "{\"type\": \"object\", \"properties\": {\"a\": {\"type\": \"integer\"}}, \"required\": [\"a\"],"
                        + " \"additionalProperties\": false}", "{\"a\": 1, \"b\": 2}",
                "{\"type\": \"array\", \"maxItems\": 1}", "[1, 2]",
                "{\"type\": \"integer\", \"minimum\": 3}", "2",
                "{\"$defs\": {\"n\": {\"type\": \"null\"}}, \"$ref\": \"#/$defs/n\"}", "0");
        invalid.forEach((schema, json) -> assertThat(VALIDATORS.getSchema(schema).validate(json, InputFormat.JSON))
                .as(schema + " -> " + json).isNotEmpty());
    }

    private static DecodeLoop loop;

    /** One in-process decode loop for the tests that skip the server, with a longer context than its slots. */
    private static synchronized DecodeLoop loop() {
        if (loop == null) {
            LlamaCpp cpp = LlamaCpp.open(LlamaNatives.defaults());
            LlamaModel model = LlamaModel.load(cpp, MODEL, LlamaModel.Options.inference(false));
            LlamaContext context = LlamaContext.create(model, new LlamaContext.Settings(512, 256, 1, 1));
            loop = new DecodeLoop("structured", model, context, new DecodeLoop.Settings(1, 512, 4, 256),
                    new ProgressWatch(Duration.ofSeconds(60), System::nanoTime), new AtomicLong());
            prompt = model.tokenize("Once upon a time", true, false);
        }
        return loop;
    }

    private static int[] prompt;

    /** "Once upon a time" continued under the grammar at temperature 0.8. */
    private static String complete(String grammar, int maxTokens, int seed) {
        DecodeLoop.Sequence sequence = loop().submit(prompt, maxTokens, List.of(), new LlamaSampler.Settings(0.8f, 0, 1,
                0, 1, 0, 0, 64, seed, java.util.Optional.of(grammar)));
        StringBuilder text = new StringBuilder();
        try {
            while (true) {
                GenerationEvent event = sequence.next(Duration.ofSeconds(60));
                switch (event) {
                    case GenerationEvent.Text piece -> text.append(piece.text());
                    case GenerationEvent.Done done -> {
                        return text.toString();
                    }
                    case GenerationEvent.Failure failure -> throw new AssertionError(failure.message());
                    case null -> throw new AssertionError("no event within 60 s");
                }
            }
        } catch (InterruptedException e) {
            throw new AssertionError(e);
        }
    }

    private static Http.Reply chat(Map<String, Object> schema) {
        return member.postJson("/v1/chat/completions", Map.of("model", "dreams", "messages",
                List.of(Map.of("role", "user", "content", "Hi")), "max_tokens", 20, "response_format",
                Map.of("type", "json_schema", "json_schema", Map.of("name", "answer", "schema", schema))));
    }

    private static void assertValid(String schema, String json) {
        Set<ValidationMessage> errors = VALIDATORS.getSchema(schema).validate(json, InputFormat.JSON);
        assertThat(errors).as(schema + " -> " + json).isEmpty();
    }

    private static byte[] read(Path file) {
        try {
            return Files.readAllBytes(file);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
