package dev.atrium.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.atrium.testing.Http;
import dev.atrium.testing.OnnxModelWriter;
import dev.atrium.testing.TestServer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import tools.jackson.databind.JsonNode;

/**
 * Bad requests of every kind get the right 4xx in the protocol's own error shape, with a message that names
 * the problem and shows no stack trace or path; the server keeps serving after each.
 */
class BadInputTest {
    private static final String MODEL = "all-minilm-l6-v2";
    private static TestServer server;
    private static Http http;

    /** One bad request and what must come back. */
    record Case(String name, String path, String contentType, byte[] body, int status, String code, String mentions) {
        @Override
        public String toString() {
            return name;
        }
    }

    @BeforeAll
    static void start() throws Exception {
        server = TestServer.start(Map.of("max-request-size", "64k"));
        http = server.http();
        Path identity = OnnxModelWriter.identities(List.of(OnnxModelWriter.ElementType.UINT8), -1, 2)
                .write(server.dataDir().resolve("identity.onnx"));
        http.postJson("/admin/models", Map.of("name", "bytes", "task", "tensor"));
        assertThat(http.upload("/admin/models/bytes/versions", Map.of("onnx", identity)).status()).isEqualTo(201);
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    @AfterEach
    void serverStillServes() {
        Http.Reply reply = http.postJson("/v1/embeddings", Map.of("model", MODEL, "input", "still here"));
        assertThat(reply.status()).isEqualTo(200);
    }

    static Stream<Case> openAiCases() {
        List<Case> cases = new ArrayList<>();
        cases.add(json("malformed JSON", "/v1/embeddings", "{\"model\": \"x\", \"input\": ", 400, "invalid_json", "JSON"));
        cases.add(json("JSON array body", "/v1/embeddings", "[1, 2]", 400, "invalid_json", "object"));
        cases.add(json("empty body", "/v1/embeddings", "", 400, "invalid_json", "empty"));
        cases.add(json("missing model", "/v1/embeddings", "{\"input\": \"x\"}", 400, "invalid_request", "'model'"));
        cases.add(json("model of wrong type", "/v1/embeddings", "{\"model\": 5, \"input\": \"x\"}", 400, "invalid_request", "'model'"));
        cases.add(json("missing input", "/v1/embeddings", "{\"model\": \"" + MODEL + "\"}", 400, "invalid_request", "'input'"));
        cases.add(json("input of wrong type", "/v1/embeddings", body("5"), 400, "invalid_request", "'input'"));
        cases.add(json("input object", "/v1/embeddings", body("{\"text\": \"x\"}"), 400, "invalid_request", "'input'"));
        cases.add(json("mixed input array", "/v1/embeddings", body("[\"a\", 5]"), 400, "invalid_request", "'input'"));
        cases.add(json("token ids mixed with text", "/v1/embeddings", body("[101, \"a\"]"), 400, "invalid_request", "token ids"));
        cases.add(json("fractional token id", "/v1/embeddings", body("[101, 2.5]"), 400, "invalid_request", "token ids"));
        cases.add(json("empty string", "/v1/embeddings", body("\"\""), 400, "invalid_request", "empty"));
        cases.add(json("empty array", "/v1/embeddings", body("[]"), 400, "invalid_request", "empty"));
        cases.add(json("empty token array", "/v1/embeddings", body("[[]]"), 400, "invalid_request", "empty"));
        cases.add(json("too many inputs", "/v1/embeddings",
                body("[" + String.join(",", Collections.nCopies(2049, "\"x\"")) + "]"), 400, "invalid_request", "2048"));
        cases.add(json("over-long input", "/v1/embeddings", body("\"" + "word ".repeat(300) + "\""), 400,
                "context_length_exceeded", "256"));
        cases.add(json("over-long token input", "/v1/embeddings",
                body("[" + String.join(",", Collections.nCopies(300, "2088")) + "]"), 400, "context_length_exceeded", "256"));
        cases.add(json("token id outside vocabulary", "/v1/embeddings", body("[101, 999999, 102]"), 400,
                "invalid_request", "999999"));
        cases.add(json("negative token id", "/v1/embeddings", body("[101, -1, 102]"), 400, "invalid_request", "-1"));
        cases.add(json("encoding format unknown", "/v1/embeddings",
                "{\"model\": \"" + MODEL + "\", \"input\": \"x\", \"encoding_format\": \"int8\"}", 400, "invalid_request", "encoding_format"));
        cases.add(json("encoding format of wrong type", "/v1/embeddings",
                "{\"model\": \"" + MODEL + "\", \"input\": \"x\", \"encoding_format\": 1}", 400, "invalid_request", "encoding_format"));
        cases.add(json("dimensions of wrong type", "/v1/embeddings",
                "{\"model\": \"" + MODEL + "\", \"input\": \"x\", \"dimensions\": \"128\"}", 400, "invalid_request", "dimensions"));
        cases.add(json("dimensions unsupported", "/v1/embeddings",
                "{\"model\": \"" + MODEL + "\", \"input\": \"x\", \"dimensions\": 128}", 400, "unsupported_by_model", "dimensions"));
        cases.add(json("user of wrong type", "/v1/embeddings",
                "{\"model\": \"" + MODEL + "\", \"input\": \"x\", \"user\": 7}", 400, "invalid_request", "user"));
        cases.add(json("unknown model", "/v1/embeddings", "{\"model\": \"no-such-model\", \"input\": \"x\"}", 404,
                "model_not_found", "no-such-model"));
        cases.add(json("malformed model reference", "/v1/embeddings", "{\"model\": \"Bad Name!\", \"input\": \"x\"}", 404,
                "model_not_found", "Bad Name!"));
        cases.add(json("unknown version", "/v1/embeddings", "{\"model\": \"" + MODEL + ":7\", \"input\": \"x\"}", 404,
                "model_not_found", "version 7"));
        cases.add(json("unknown alias", "/v1/embeddings", "{\"model\": \"" + MODEL + ":canary\", \"input\": \"x\"}", 404,
                "model_not_found", "canary"));
        cases.add(json("tensor model on embeddings", "/v1/embeddings", "{\"model\": \"bytes\", \"input\": \"x\"}", 400,
                "unsupported_by_model", "/v2/models/bytes/infer"));
        cases.add(new Case("wrong content type", "/v1/embeddings", "text/plain",
                ("{\"model\": \"" + MODEL + "\", \"input\": \"x\"}").getBytes(StandardCharsets.UTF_8), 415,
                "unsupported_media_type", "application/json"));
        cases.add(new Case("unparseable content type", "/v1/embeddings", ";;;garbage",
                ("{\"model\": \"" + MODEL + "\", \"input\": \"x\"}").getBytes(StandardCharsets.UTF_8), 415,
                "unsupported_media_type", "Content-Type"));
        cases.add(json("body over the size limit", "/v1/embeddings", body("\"" + "x".repeat(70_000) + "\""), 413,
                "request_too_large", "65536"));
        cases.add(json("admin: invalid model name", "/admin/models", "{\"name\": \"Bad Name\", \"task\": \"tensor\"}", 400,
                "invalid_request", "Bad Name"));
        cases.add(json("admin: duplicate model", "/admin/models", "{\"name\": \"bytes\", \"task\": \"tensor\"}", 409,
                "conflict", "already exists"));
        cases.add(json("admin: unknown task", "/admin/models", "{\"name\": \"x\", \"task\": \"poetry\"}", 400,
                "invalid_request", "poetry"));
        cases.add(json("admin: unknown engine", "/admin/models", "{\"name\": \"x\", \"task\": \"tensor\", \"engine\": \"tpu\"}",
                400, "invalid_request", "tpu"));
        cases.add(new Case("admin: upload not multipart", "/admin/models/bytes/versions", "application/json",
                "{}".getBytes(StandardCharsets.UTF_8), 415, "unsupported_media_type", "multipart/form-data"));
        cases.add(upload("admin: upload that is not ONNX", Map.of("onnx", "this is not a model".getBytes(StandardCharsets.UTF_8)),
                422, "invalid_artifact", "ONNX"));
        cases.add(upload("admin: upload without an onnx part", Map.of("tokenizer", "{}".getBytes(StandardCharsets.UTF_8)),
                400, "invalid_request", "'onnx'"));
        cases.add(upload("admin: upload with an unknown part", Map.of("weights", new byte[10]), 400, "invalid_request", "weights"));
        cases.add(upload("admin: upload with a bad config", Map.of("onnx", new byte[10],
                "config", "{\"pooling\": \"max\"}".getBytes(StandardCharsets.UTF_8)), 400, "invalid_request", "pooling"));
        cases.add(json("unknown route", "/v1/nothing", "{}", 404, "not_found", "/v1/nothing"));
        return cases.stream();
    }

    static Stream<Case> v2Cases() {
        String ids = "{\"name\": \"input_ids\", \"shape\": [1, 3], \"datatype\": \"INT64\", \"data\": [101, 7592, 102]}";
        String mask = "{\"name\": \"attention_mask\", \"shape\": [1, 3], \"datatype\": \"INT64\", \"data\": [1, 1, 1]}";
        String types = "{\"name\": \"token_type_ids\", \"shape\": [1, 3], \"datatype\": \"INT64\", \"data\": [0, 0, 0]}";
        String infer = "/v2/models/" + MODEL + "/infer";
        List<Case> cases = new ArrayList<>();
        cases.add(v2("malformed JSON", infer, "{\"inputs\": [", 400, "JSON"));
        cases.add(v2("no inputs", infer, "{\"inputs\": []}", 400, "inputs"));
        cases.add(v2("inputs not an array", infer, "{\"inputs\": {}}", 400, "inputs"));
        cases.add(v2("wrong datatype", infer, inputs(ids.replace("INT64", "INT32"), mask, types), 400, "input_ids"));
        cases.add(v2("unknown datatype", infer, inputs(ids.replace("INT64", "INT128"), mask, types), 400, "INT128"));
        cases.add(v2("wrong rank", infer, inputs(ids.replace("[1, 3]", "[3]"), mask, types), 400, "input_ids"));
        cases.add(v2("element count off", infer, inputs(ids.replace("[1, 3]", "[1, 4]"), mask, types), 400, "input_ids"));
        cases.add(v2("nested data off its shape", infer,
                inputs(ids.replace("[101, 7592, 102]", "[[101, 7592], [102]]").replace("[1, 3]", "[2, 2]"), mask, types), 400, "input_ids"));
        cases.add(v2("text in an integer tensor", infer, inputs(ids.replace("7592", "\"hello\""), mask, types), 400, "input_ids"));
        cases.add(v2("missing input", infer, inputs(ids, mask), 400, "token_type_ids"));
        cases.add(v2("unknown input", infer, inputs(ids, mask, types, ids.replace("input_ids", "pixels")), 400, "pixels"));
        cases.add(v2("input given twice", infer, inputs(ids, mask, types, ids), 400, "input_ids"));
        cases.add(v2("unknown output", infer,
                "{\"inputs\": [" + ids + "," + mask + "," + types + "], \"outputs\": [{\"name\": \"logits\"}]}", 400, "logits"));
        cases.add(v2("negative dimension", infer, inputs(ids.replace("[1, 3]", "[-1, 3]"), mask, types), 400, "input_ids"));
        cases.add(v2("out of range for UINT8", "/v2/models/bytes/infer",
                "{\"inputs\": [{\"name\": \"x_uint8\", \"shape\": [1, 2], \"datatype\": \"UINT8\", \"data\": [1, 300]}]}", 400, "300"));
        cases.add(v2("unknown model", "/v2/models/no-such-model/infer", inputs(ids), 404, "no-such-model"));
        cases.add(v2("unknown version", "/v2/models/" + MODEL + "/versions/5/infer", inputs(ids), 404, "5"));
        cases.add(v2("body over the size limit", infer, inputs(ids.replace("[101, 7592, 102]",
                "[" + String.join(",", Collections.nCopies(20_000, "101")) + "]")), 413, "limit"));
        return cases.stream();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("openAiCases")
    void openAiAndAdmin_badInput_getsOpenAiError(Case bad) {
        Http.Reply reply = http.post(bad.path(), bad.contentType(), bad.body());
        assertThat(reply.status()).as(reply.toString()).isEqualTo(bad.status());
        JsonNode error = reply.json().path("error");
        assertThat(error.isObject()).as(reply.toString()).isTrue();
        assertThat(error.path("code").asString()).isEqualTo(bad.code());
        assertThat(error.path("type").asString()).isEqualTo("invalid_request_error");
        assertThat(error.has("param")).isTrue();
        assertThat(error.path("message").asString()).contains(bad.mentions());
        assertClean(reply);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("v2Cases")
    void v2_badInput_getsV2Error(Case bad) {
        Http.Reply reply = http.post(bad.path(), bad.contentType(), bad.body());
        assertThat(reply.status()).as(reply.toString()).isEqualTo(bad.status());
        JsonNode error = reply.json().path("error");
        assertThat(error.isString()).as(reply.toString()).isTrue();
        assertThat(error.asString()).contains(bad.mentions());
        assertClean(reply);
    }

    private static void assertClean(Http.Reply reply) {
        assertThat(reply.header("x-request-id")).isNotBlank();
        assertThat(reply.text())
                .doesNotContain("Exception")
                .doesNotContain("\tat ")
                .doesNotContain(server.dataDir().toString())
                .doesNotContain("/tmp/");
    }

    private static String body(String input) {
        return "{\"model\": \"" + MODEL + "\", \"input\": " + input + "}";
    }

    private static String inputs(String... tensors) {
        return "{\"inputs\": [" + String.join(",", tensors) + "]}";
    }

    private static Case json(String name, String path, String body, int status, String code, String mentions) {
        return new Case(name, path, "application/json", body.getBytes(StandardCharsets.UTF_8), status, code, mentions);
    }

    private static Case v2(String name, String path, String body, int status, String mentions) {
        return new Case(name, path, "application/json", body.getBytes(StandardCharsets.UTF_8), status, null, mentions);
    }

    private static Case upload(String name, Map<String, byte[]> parts, int status, String code, String mentions) {
        return new Case(name, "/admin/models/bytes/versions", "multipart/form-data; boundary=" + Http.BOUNDARY,
                Http.multipart(parts), status, code, mentions);
    }
}
