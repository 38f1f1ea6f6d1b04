package dev.atrium.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.atrium.testing.Http;
import dev.atrium.testing.OnnxModelWriter;
import dev.atrium.testing.Tenants;
import dev.atrium.testing.TestServer;
import java.net.http.HttpRequest;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import tools.jackson.databind.JsonNode;

/**
 * Bad requests of every kind get the right 4xx in the protocol's own error shape, with a message that names
 * the problem and shows no stack trace or path; the server keeps serving after each.
 */
class BadInputTest {
    private static final String MODEL = "all-minilm-l6-v2";
    private static final Path CHAT_MODEL = Path.of("../shared/models/aidreams260K-f32.gguf");
    private static final String DEEP = "[".repeat(5000) + "]".repeat(5000);
    private static TestServer server;
    private static Http http;
    private static String keyId;
    private static String tenantId;

    /** One bad request and what must come back. */
    record Case(String name, String method, String path, String contentType, byte[] body, int status, String code,
            String mentions) {
        Case(String name, String path, String contentType, byte[] body, int status, String code, String mentions) {
            this(name, "POST", path, contentType, body, status, code, mentions);
        }

        @Override
        public String toString() {
            return name;
        }
    }

    @BeforeAll
    static void start() throws Exception {
        server = TestServer.start(Map.of("max-request-size", "64k", "max-output-size", "64k"));
        http = server.http();
        Path identity = OnnxModelWriter.identities(List.of(OnnxModelWriter.ElementType.UINT8), -1, 2)
                .write(server.dataDir().resolve("identity.onnx"));
        http.postJson("/admin/models", Map.of("name", "bytes", "task", "tensor"));
        assertThat(http.upload("/admin/models/bytes/versions", Map.of("onnx", identity)).status()).isEqualTo(201);
        // an owner's model whose output is as large as the caller asks: Expand(x, shape)
        Path expand = new OnnxModelWriter()
                .input("x", OnnxModelWriter.ElementType.FLOAT, 1)
                .input("shape", OnnxModelWriter.ElementType.INT64, 2)
                .output("y", OnnxModelWriter.ElementType.FLOAT, -1, -2)
                .node("Expand", List.of("x", "shape"), List.of("y"))
                .write(server.dataDir().resolve("expand.onnx"));
        http.postJson("/admin/models", Map.of("name", "expand", "task", "tensor"));
        assertThat(http.upload("/admin/models/expand/versions", Map.of("onnx", expand)).status()).isEqualTo(201);
        http.postJson("/admin/models", Map.of("name", "faraway", "task", "chat", "engine", "remote"));
        if (Files.isRegularFile(CHAT_MODEL) && dev.atrium.engine.llama.LlamaNatives.defaults().present()) {
            http.postJson("/admin/models", Map.of("name", "dreams", "task", "chat", "engine", "llama"));
            Http.Reply upload = http.post("/admin/models/dreams/versions", "multipart/form-data; boundary=" + Http.BOUNDARY,
                    Http.multipart(Map.of("gguf", Files.readAllBytes(CHAT_MODEL), "config",
                            "{\"slots\": 1, \"context_per_slot\": 128}".getBytes(StandardCharsets.UTF_8))));
            assertThat(upload.status()).as(upload.toString()).isEqualTo(201);
            http.postJson("/admin/models", Map.of("name", "dreams-text", "task", "completion", "engine", "llama"));
            assertThat(http.post("/admin/models/dreams-text/versions", "multipart/form-data; boundary=" + Http.BOUNDARY,
                    Http.multipart(Map.of("gguf", Files.readAllBytes(CHAT_MODEL), "config",
                            "{\"slots\": 1, \"context_per_slot\": 128}".getBytes(StandardCharsets.UTF_8)))).status())
                    .isEqualTo(201);
        }
        Tenants tenants = new Tenants(http);
        tenantId = tenants.tenant("patchers");
        keyId = tenants.key(tenantId, "member").id();
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

        // bounded work: a parser limit, an output cap
        cases.add(json("deeply nested JSON", "/v1/embeddings", body(DEEP), 400, "invalid_json", "deeper than"));
        cases.add(json("admin: deeply nested JSON", "/admin/models", "{\"name\": " + DEEP + "}", 400, "invalid_json",
                "deeper than"));
        cases.add(json("embeddings past the output limit", "/v1/embeddings",
                body("[" + String.join(",", Collections.nCopies(50, "\"x\"")) + "]"), 400, "output_too_large", "65536"));

        // integers out of range or not integers
        cases.add(json("dimensions past int", "/v1/embeddings",
                "{\"model\": \"" + MODEL + "\", \"input\": \"x\", \"dimensions\": 2147483648}", 400, "invalid_request", "dimensions"));
        cases.add(json("admin: tenant rpm past int", "/admin/tenants", "{\"name\": \"big\", \"rpm\": 2147483648}", 400,
                "invalid_request", "rpm"));
        cases.add(json("admin: key tpm fractional", "/admin/keys", "{\"role\": \"admin\", \"tpm\": 1.5}", 400,
                "invalid_request", "tpm"));
        cases.add(new Case("admin: key max_concurrent past int", "PATCH", "/admin/keys/" + keyId, "application/json",
                bytes("{\"max_concurrent\": 99999999999}"), 400, "invalid_request", "max_concurrent"));
        cases.add(new Case("admin: scheduling past int", "PUT", "/admin/models/bytes/versions/1/scheduling",
                "application/json", bytes("{\"max_batch_size\": 2147483648}"), 400, "invalid_request", "max_batch_size"));
        cases.add(new Case("admin: alias version past int", "PUT", "/admin/models/bytes/aliases/prod",
                "application/json", bytes("{\"version\": 4294967297}"), 400, "invalid_request", "version"));
        cases.add(json("admin: remote timeout past long", "/admin/models/faraway/versions",
                "{\"base_url\": \"https://example.com/v1\", \"upstream_model\": \"m\", \"timeout_ms\": 99999999999999999999}",
                400, "invalid_request", "timeout_ms"));
        cases.add(new Case("admin: audit limit past int", "GET", "/admin/audit?limit=4294967297", null, new byte[0], 400,
                "invalid_request", "'limit'"));
        cases.add(new Case("admin: usage records limit past int", "GET", "/admin/usage/records?limit=4294967297", null,
                new byte[0], 400, "invalid_request", "'limit'"));
        cases.add(upload("admin: upload with a config number past int", Map.of("onnx", new byte[10],
                "config", "{\"queue_capacity\": 2147483648}".getBytes(StandardCharsets.UTF_8)), 400, "invalid_request",
                "queue_capacity"));

        cases.add(new Case("admin: split weight past int", "PUT", "/admin/models/bytes/aliases/prod",
                "application/json", bytes("{\"split\": {\"1\": 4294967297}}"), 400, "invalid_request", "'split'"));
        cases.add(new Case("admin: split not an object", "PUT", "/admin/models/bytes/aliases/prod",
                "application/json", bytes("{\"split\": [1, 2]}"), 400, "invalid_request", "'split'"));
        cases.add(new Case("admin: split and version both", "PUT", "/admin/models/bytes/aliases/prod",
                "application/json", bytes("{\"version\": 1, \"split\": {\"1\": 1}}"), 400, "invalid_request",
                "not both"));
        cases.add(new Case("admin: split sticky unknown", "PUT", "/admin/models/bytes/aliases/prod",
                "application/json", bytes("{\"split\": {\"1\": 1}, \"sticky\": \"ip\"}"), 400,
                "invalid_request", "sticky"));
        // bundles: only of versions with files
        cases.add(new Case("admin: bundle of a version that is not there", "GET", "/admin/models/bytes/versions/99/bundle",
                null, new byte[0], 404, "not_found", "99"));
        cases.add(new Case("admin: bundle of a version that is no number", "GET", "/admin/models/bytes/versions/x/bundle",
                null, new byte[0], 404, "not_found", "'x'"));
        cases.add(new Case("admin: bundle of a remote model", "GET", "/admin/models/faraway/versions/1/bundle", null,
                new byte[0], 400, "invalid_request", "remote"));
        // rollouts' and shadows' bodies
        String rollout = "/admin/models/bytes/aliases/prod/rollout";
        cases.add(json("admin: rollout version past int", rollout, "{\"version\": 4294967297}", 400,
                "invalid_request", "version"));
        cases.add(json("admin: rollout steps falling", rollout, "{\"version\": 2, \"steps\": [50, 10, 100]}", 400,
                "invalid_request", "steps"));
        cases.add(json("admin: rollout steps fractional", rollout, "{\"version\": 2, \"steps\": [10.5, 100]}",
                400, "invalid_request", "steps"));
        cases.add(json("admin: rollout interval absurd", rollout, "{\"version\": 2, \"interval\": \"99999999d\"}",
                400, "invalid_request", "interval"));
        cases.add(json("admin: rollout threshold out of range", rollout, "{\"version\": 2, \"thresholds\":"
                + " {\"max_error_rate_increase\": 1E+10000000}}", 400, "invalid_request", "max_error_rate_increase"));
        cases.add(json("admin: rollout with an unknown field", rollout, "{\"version\": 2, \"speed\": 3}", 400,
                "invalid_request", "'speed'"));
        String shadow = "/admin/models/bytes/aliases/prod/shadow";
        for (String fraction : List.of("0", "-0.5", "1.5", "\"1E+10000000\"", "1e400", "\"half\"", "true")) {
            cases.add(new Case("admin: shadow fraction " + fraction, "PUT", shadow, "application/json",
                    bytes("{\"version\": 1, \"fraction\": " + fraction + "}"), 400, "invalid_request", "'fraction'"));
        }
        cases.add(new Case("admin: shadow version past int", "PUT", shadow, "application/json",
                bytes("{\"version\": 4294967297}"), 400, "invalid_request", "version"));
        cases.add(new Case("admin: shadow without a version", "PUT", shadow, "application/json",
                bytes("{\"fraction\": 0.5}"), 400, "invalid_request", "version"));
        cases.add(new Case("admin: shadow with an unknown field", "PUT", shadow, "application/json",
                bytes("{\"version\": 1, \"sample\": 0.5}"), 400, "invalid_request", "'sample'"));
        // a version's monitoring: its version in the path, its settings' ranges, no unknown field
        String monitoring = "/admin/models/bytes/versions/1/monitoring";
        cases.add(new Case("admin: monitoring of a version that is no number", "GET",
                "/admin/models/bytes/versions/one/monitoring", null, new byte[0], 404, "not_found", "'one'"));
        cases.add(new Case("admin: monitoring of a version past int", "GET",
                "/admin/models/bytes/versions/4294967297/monitoring", null, new byte[0], 404, "not_found",
                "4294967297"));
        cases.add(new Case("admin: monitoring of a version that does not exist", "GET",
                "/admin/models/bytes/versions/7/monitoring", null, new byte[0], 404, "not_found", "7"));
        cases.add(new Case("admin: monitoring settings of a bad version", "PUT",
                "/admin/models/bytes/versions/-1/monitoring", "application/json", bytes("{\"threshold\": 0.3}"), 404,
                "not_found", "'-1'"));
        cases.add(new Case("admin: monitoring threshold zero", "PUT", monitoring, "application/json",
                bytes("{\"threshold\": 0}"), 400, "invalid_request", "'threshold'"));
        cases.add(new Case("admin: monitoring threshold negative", "PUT", monitoring, "application/json",
                bytes("{\"threshold\": -0.2}"), 400, "invalid_request", "'threshold'"));
        cases.add(new Case("admin: monitoring threshold past its maximum", "PUT", monitoring, "application/json",
                bytes("{\"threshold\": 1e300}"), 400, "invalid_request", "'threshold'"));
        cases.add(new Case("admin: monitoring threshold a string", "PUT", monitoring, "application/json",
                bytes("{\"threshold\": \"0.2\"}"), 400, "invalid_request", "'threshold'"));
        cases.add(new Case("admin: monitoring threshold null", "PUT", monitoring, "application/json",
                bytes("{\"threshold\": null}"), 400, "invalid_request", "'threshold'"));
        cases.add(new Case("admin: monitoring window too small", "PUT", monitoring, "application/json",
                bytes("{\"window_size\": 5}"), 400, "invalid_request", "'window_size'"));
        cases.add(new Case("admin: monitoring baseline size past int", "PUT", monitoring, "application/json",
                bytes("{\"baseline_size\": 2147483648}"), 400, "invalid_request", "'baseline_size'"));
        cases.add(new Case("admin: monitoring baseline size fractional", "PUT", monitoring, "application/json",
                bytes("{\"baseline_size\": 100.5}"), 400, "invalid_request", "'baseline_size'"));
        cases.add(new Case("admin: monitoring reset not a boolean", "PUT", monitoring, "application/json",
                bytes("{\"reset_baseline\": \"yes\"}"), 400, "invalid_request", "'reset_baseline'"));
        cases.add(new Case("admin: monitoring with an unknown field", "PUT", monitoring, "application/json",
                bytes("{\"window\": \"5m\"}"), 400, "invalid_request", "'window'"));
        cases.add(new Case("admin: monitoring body not an object", "PUT", monitoring, "application/json",
                bytes("[0.3]"), 400, "invalid_json", "object"));
        // evaluations and fine-tuning jobs' own fields
        cases.add(json("evaluations: missing file", "/v1/evaluations", "{\"model\": \"" + MODEL + "\"}", 400,
                "invalid_request", "'file'"));
        cases.add(json("evaluations: unknown field", "/v1/evaluations", "{\"model\": \"" + MODEL
                + "\", \"file\": \"file-1\", \"split\": 0.2}", 400, "invalid_request", "split"));
        cases.add(json("evaluations: target not a string", "/v1/evaluations", "{\"model\": \"" + MODEL
                + "\", \"file\": \"file-1\", \"target\": 3}", 400, "invalid_request", "'target'"));
        cases.add(json("fine-tuning: hyperparameters neither object nor auto", "/v1/fine_tuning/jobs",
                "{\"model\": \"" + MODEL + "\", \"training_file\": \"file-1\", \"hyperparameters\": \"fast\"}", 400,
                "invalid_request", "'hyperparameters'"));
        cases.add(json("fine-tuning: promote without an alias", "/v1/fine_tuning/jobs", "{\"model\": \"" + MODEL
                + "\", \"training_file\": \"file-1\", \"promote\": {\"if_better_on\": \"accuracy\"}}", 400,
                "invalid_request", "'promote'"));

        // unknown fields, refused by name on every management body
        cases.add(json("admin: model with an unknown field", "/admin/models",
                "{\"name\": \"acme-model\", \"task\": \"tensor\", \"tenant\": \"acme\"}", 400, "invalid_request", "'tenant'"));
        cases.add(json("admin: tenant with an unknown field", "/admin/tenants", "{\"name\": \"t\", \"plan\": \"gold\"}",
                400, "invalid_request", "'plan'"));
        cases.add(json("admin: key with an unknown field", "/admin/keys", "{\"role\": \"admin\", \"scopes\": []}", 400,
                "invalid_request", "'scopes'"));
        cases.add(new Case("admin: key patch with an unknown field", "PATCH", "/admin/keys/" + keyId, "application/json",
                bytes("{\"scopes\": []}"), 400, "invalid_request", "'scopes'"));
        cases.add(new Case("admin: scheduling with an unknown field", "PUT", "/admin/models/bytes/versions/1/scheduling",
                "application/json", bytes("{\"batch\": 4}"), 400, "invalid_request", "'batch'"));
        // a model's residency: pinned a boolean, keep_alive seconds (-1 to forever) or "90s" / "5m" / "2h"
        for (String[] residency : new String[][] {
                {"{\"pinned\": \"yes\"}", "'pinned'"},
                {"{\"pinned\": 1}", "'pinned'"},
                {"{\"keep_alive\": -2}", "'keep_alive'"},
                {"{\"keep_alive\": 1.5}", "'keep_alive'"},
                {"{\"keep_alive\": \"5 minutes\"}", "'keep_alive'"},
                {"{\"keep_alive\": \"-1s\"}", "'keep_alive'"},
                {"{\"keep_alive\": \"500ms\"}", "'keep_alive'"},
                {"{\"keep_alive\": 99999999999999999999}", "'keep_alive'"},
                {"{\"keep_alive\": 31708800}", "'keep_alive'"},
                {"{\"keep_alive\": true}", "'keep_alive'"},
                {"{\"keep_alive\": [60]}", "'keep_alive'"},
                {"{\"pinned\": true, \"ttl\": 60}", "'ttl'"}}) {
            cases.add(new Case("admin: residency " + residency[0], "PUT", "/admin/models/bytes/residency",
                    "application/json", bytes(residency[0]), 400, "invalid_request", residency[1]));
        }
        cases.add(new Case("admin: residency of a remote model", "PUT", "/admin/models/faraway/residency",
                "application/json", bytes("{\"pinned\": true}"), 400, "invalid_request", "remote"));
        cases.add(new Case("admin: residency not an object", "PUT", "/admin/models/bytes/residency",
                "application/json", bytes("[true]"), 400, "invalid_json", "object"));
        cases.add(new Case("admin: alias with an unknown field", "PUT", "/admin/models/bytes/aliases/prod",
                "application/json", bytes("{\"version\": 1, \"weight\": 50}"), 400, "invalid_request", "'weight'"));
        cases.add(json("admin: price with an unknown field", "/admin/prices",
                "{\"model\": \"bytes\", \"currency\": \"USD\", \"discount\": \"0.5\"}", 400, "invalid_request", "'discount'"));
        cases.add(json("admin: budget with an unknown field", "/admin/budgets",
                "{\"monthly_limit\": \"10\", \"currency\": \"USD\", \"hard\": true}", 400, "invalid_request", "'hard'"));
        cases.add(json("admin: upstream with an unknown field", "/admin/upstreams",
                "{\"host\": \"api.example.com\", \"port\": 443}", 400, "invalid_request", "'port'"));
        // supply chain: publisher keys, signed uploads, safe formats, the tenant's signing policy
        cases.add(json("admin: publisher key that is not base64", "/admin/publishers",
                "{\"name\": \"acme\", \"public_key\": \"%%%\"}", 400, "invalid_request", "Ed25519"));
        cases.add(json("admin: publisher key that is not Ed25519", "/admin/publishers",
                "{\"name\": \"acme\", \"public_key\": \"" + java.util.Base64.getEncoder().encodeToString(new byte[44])
                        + "\"}", 400, "invalid_request", "Ed25519"));
        cases.add(json("admin: publisher without a key", "/admin/publishers", "{\"name\": \"acme\"}", 400,
                "invalid_request", "'public_key'"));
        cases.add(json("admin: publisher with an unknown field", "/admin/publishers",
                "{\"name\": \"acme\", \"public_key\": \"x\", \"trust\": \"full\"}", 400, "invalid_request", "'trust'"));
        cases.add(upload("admin: upload with a signature that is not JSON", Map.of("onnx", new byte[10],
                "signature", bytes("signed, honestly")), 400, "invalid_request", "'signature'"));
        cases.add(upload("admin: upload with a signature missing its key id", Map.of("onnx", new byte[10],
                "signature", bytes("{\"signature\": \"AAAA\"}")), 400, "invalid_request", "'key_id'"));
        cases.add(upload("admin: upload with a signature of an unknown field", Map.of("onnx", new byte[10],
                "signature", bytes("{\"key_id\": \"a\", \"signature\": \"b\", \"by\": \"me\"}")), 400,
                "invalid_request", "'by'"));
        cases.add(upload("admin: upload signed by an unknown key", Map.of("onnx", new byte[10], "signature",
                bytes("{\"key_id\": \"0123456789abcdef\", \"signature\": \""
                        + java.util.Base64.getEncoder().encodeToString(new byte[64]) + "\"}")), 400,
                "signature_invalid", "not a publisher key"));
        cases.add(upload("admin: upload with a signature that is not Ed25519", Map.of("onnx", new byte[10],
                "signature", bytes("{\"key_id\": \"0123456789abcdef\", \"signature\": \"AAAA\"}")), 400,
                "signature_invalid", "64 bytes"));
        cases.add(upload("admin: upload that is a pickle", Map.of("onnx", new byte[] {(byte) 0x80, 4, (byte) 0x95, 0}),
                400, "invalid_request", "pickle"));
        cases.add(upload("admin: upload that is a zip", Map.of("onnx", new byte[] {'P', 'K', 3, 4, 20, 0}), 400,
                "invalid_request", "zip"));
        cases.add(new Case("admin: tenant patch with an unknown field", "PATCH", "/admin/tenants/" + tenantId,
                "application/json", bytes("{\"name\": \"renamed\"}"), 400, "invalid_request", "'name'"));
        cases.add(new Case("admin: tenant signing policy that is not a boolean", "PATCH", "/admin/tenants/" + tenantId,
                "application/json", bytes("{\"require_signed_uploads\": \"yes\"}"), 400, "invalid_request",
                "true or false"));
        cases.add(json("admin: remote version with an unknown field", "/admin/models/faraway/versions",
                "{\"base_url\": \"https://example.com/v1\", \"upstream_model\": \"m\", \"region\": \"eu\"}", 400,
                "invalid_request", "'region'"));
        cases.add(json("admin: remote retry with an unknown field", "/admin/models/faraway/versions",
                "{\"base_url\": \"https://example.com/v1\", \"upstream_model\": \"m\", \"retry\": {\"jitter\": 1}}", 400,
                "invalid_request", "'jitter'"));
        cases.add(upload("admin: upload config with an unknown field", Map.of("onnx", new byte[10],
                "config", "{\"tenant\": \"acme\"}".getBytes(StandardCharsets.UTF_8)), 400, "invalid_request", "'tenant'"));

        // quantizing a version: its body, and models it cannot quantize
        String quantize = "/admin/models/" + MODEL + "/versions/1/quantize";
        cases.add(json("admin: quantize with an unknown field", quantize, "{\"bits\": 4}", 400, "invalid_request",
                "'bits'"));
        cases.add(json("admin: quantize per_channel not a boolean", quantize, "{\"per_channel\": \"yes\"}", 400,
                "invalid_request", "'per_channel'"));
        cases.add(json("admin: quantize sample not an array", quantize, "{\"sample\": \"a text\"}", 400,
                "invalid_request", "'sample'"));
        cases.add(json("admin: quantize sample empty", quantize, "{\"sample\": []}", 400, "invalid_request",
                "'sample'"));
        cases.add(json("admin: quantize sample of numbers", quantize, "{\"sample\": [1, 2]}", 400,
                "invalid_request", "'sample'"));
        cases.add(json("admin: quantize sample text too long", quantize, "{\"sample\": [\"" + "x".repeat(8193)
                + "\"]}", 400, "invalid_request", "'sample'"));
        cases.add(json("admin: quantize alias not a string", quantize, "{\"alias\": 3}", 400, "invalid_request",
                "'alias'"));
        cases.add(json("admin: quantize alias not valid", quantize, "{\"alias\": \"Int 8\"}", 400, "invalid_request",
                "'Int 8'"));
        cases.add(json("admin: quantize alias latest", quantize, "{\"alias\": \"latest\"}", 400, "invalid_request",
                "'latest'"));
        cases.add(json("admin: quantize body an array", quantize, "[]", 400, "invalid_json", "object"));
        cases.add(json("admin: quantize an int8 model", quantize, "{}", 409, "conflict", "MatMul"));
        cases.add(json("admin: quantize a tensor model", "/admin/models/bytes/versions/1/quantize", "{}", 400,
                "unsupported_by_model", "embedding"));
        cases.add(json("admin: quantize a remote model", "/admin/models/faraway/versions/1/quantize", "{}", 400,
                "unsupported_by_model", "remote"));
        cases.add(json("admin: quantize a missing version", "/admin/models/" + MODEL + "/versions/9/quantize", "{}",
                404, "not_found", "version 9"));
        cases.add(json("admin: quantize a version that is no number", "/admin/models/" + MODEL
                + "/versions/one/quantize", "{}", 404, "not_found", "'one'"));

        // the task endpoints: classifications, predictions, audio
        String classify = "{\"model\": \"" + MODEL + "\", ";
        cases.add(json("classifications: missing input", "/v1/classifications", "{\"model\": \"" + MODEL + "\"}", 400,
                "invalid_request", "'input'"));
        cases.add(json("classifications: unknown field", "/v1/classifications", classify
                + "\"input\": \"x\", \"labels\": [\"a\"], \"temperature\": 1}", 400, "invalid_request", "temperature"));
        cases.add(json("classifications: top_k zero", "/v1/classifications", classify
                + "\"input\": \"x\", \"labels\": [\"a\"], \"top_k\": 0}", 400, "invalid_request", "'top_k'"));
        cases.add(json("classifications: labels not a list", "/v1/classifications", classify
                + "\"input\": \"x\", \"labels\": \"a\"}", 400, "invalid_request", "'labels'"));
        cases.add(json("classifications: duplicate labels", "/v1/classifications", classify
                + "\"input\": \"x\", \"labels\": [\"a\", \"a\"]}", 400, "invalid_request", "distinct"));
        cases.add(json("classifications: zero-shot without labels", "/v1/classifications", classify
                + "\"input\": \"x\"}", 400, "unsupported_by_model", "'labels'"));
        cases.add(json("classifications: a tensor model", "/v1/classifications",
                "{\"model\": \"bytes\", \"input\": \"x\"}", 400, "unsupported_by_model", "classifications"));
        cases.add(json("predictions: an embedding model", "/v1/predictions", classify
                + "\"instances\": [[1, 2]]}", 400, "unsupported_by_model", "predictions"));
        cases.add(json("predictions: unknown field", "/v1/predictions", classify
                + "\"instances\": [[1, 2]], \"format\": \"csv\"}", 400, "invalid_request", "format"));
        cases.add(json("transcriptions: a JSON body", "/v1/audio/transcriptions", classify + "\"file\": \"x\"}", 415,
                "unsupported_media_type", "multipart/form-data"));
        cases.add(json("translations: a JSON body", "/v1/audio/translations", classify + "\"file\": \"x\"}", 415,
                "unsupported_media_type", "multipart/form-data"));
        cases.add(new Case("transcriptions: an embedding model", "/v1/audio/transcriptions",
                "multipart/form-data; boundary=" + Http.BOUNDARY, Http.multipart(Map.of("model",
                        MODEL.getBytes(StandardCharsets.UTF_8), "file", new byte[] {1, 2, 3})), 400,
                "unsupported_by_model", "audio transcriptions"));

        // OpenAI's own rule for local models: unknown arguments refused, known but unsupported ones named
        cases.add(json("embeddings with an unknown field", "/v1/embeddings",
                "{\"model\": \"" + MODEL + "\", \"input\": \"x\", \"truncate\": true}", 400, "invalid_request",
                "Unrecognized request argument supplied: truncate"));
        if (Files.isRegularFile(CHAT_MODEL) && dev.atrium.engine.llama.LlamaNatives.defaults().present()) {
            String messages = "\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}]";
            cases.add(json("chat: n past int", "/v1/chat/completions",
                    "{\"model\": \"dreams\", " + messages + ", \"n\": 2147483648}", 400, "invalid_request", "'n'"));
            cases.add(json("chat: max_tokens past int", "/v1/chat/completions",
                    "{\"model\": \"dreams\", " + messages + ", \"max_tokens\": 2147483648}", 400, "invalid_request", "max_tokens"));
            cases.add(json("chat: max_completion_tokens not an integer", "/v1/chat/completions",
                    "{\"model\": \"dreams\", " + messages + ", \"max_completion_tokens\": \"10\"}", 400, "invalid_request",
                    "max_completion_tokens"));
            cases.add(json("chat: seed past int", "/v1/chat/completions",
                    "{\"model\": \"dreams\", " + messages + ", \"seed\": 9223372036854775808}", 400, "invalid_request", "seed"));
            cases.add(json("completions: n past int", "/v1/completions",
                    "{\"model\": \"dreams-text\", \"prompt\": \"hi\", \"n\": 4294967297}", 400, "invalid_request", "'n'"));
            cases.add(json("chat: unknown field", "/v1/chat/completions",
                    "{\"model\": \"dreams\", " + messages + ", \"temprature\": 0.5}", 400, "invalid_request",
                    "Unrecognized request argument supplied: temprature"));
            cases.add(json("chat: tools are not supported", "/v1/chat/completions",
                    "{\"model\": \"dreams\", " + messages + ", \"tools\": [{\"type\": \"function\"}]}", 400,
                    "unsupported_by_model", "'tools'"));
            cases.add(json("chat: logprobs are not supported", "/v1/chat/completions",
                    "{\"model\": \"dreams\", " + messages + ", \"logprobs\": true}", 400, "unsupported_by_model", "'logprobs'"));
            cases.add(json("completions: echo is not supported", "/v1/completions",
                    "{\"model\": \"dreams-text\", \"prompt\": \"hi\", \"echo\": true}", 400, "unsupported_by_model", "'echo'"));
            cases.add(json("completions: a chat field", "/v1/completions",
                    "{\"model\": \"dreams-text\", \"prompt\": \"hi\", \"messages\": []}", 400, "invalid_request",
                    "Unrecognized request argument supplied: messages"));
        } else {
            System.out.println("BadInputTest: the chat and completion cases are skipped: they need " + CHAT_MODEL
                    + " and the llama.cpp libraries (scripts/llama-natives.sh)");
        }
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

        // bounded work and one rule for token ids
        cases.add(v2("deeply nested JSON", infer, "{\"inputs\": " + DEEP + "}", 400, "deeper than"));
        cases.add(v2("huge declared shape", infer, inputs(ids.replace("[1, 3]", "[16384, 16384]"), mask, types), 400,
                "268435456"));
        cases.add(v2("shape past long", infer, inputs(ids.replace("[1, 3]", "[4294967296, 4294967296]"), mask, types), 400,
                "too large"));
        cases.add(v2("negative token id", infer, inputs(ids.replace("7592", "-1"), mask, types), 400, "token id -1"));
        cases.add(v2("token id outside vocabulary", infer, inputs(ids.replace("7592", "999999"), mask, types), 400,
                "token id 999999"));
        cases.add(v2("unknown top-level field", infer,
                "{\"inputs\": [" + ids + "," + mask + "," + types + "], \"priority\": 1}", 400, "'priority'"));
        cases.add(v2("unknown tensor field", infer, inputs(ids.replace("\"name\"", "\"layout\": \"NCHW\", \"name\""), mask, types),
                400, "'layout'"));
        cases.add(v2("output past the output limit", "/v2/models/expand/infer", expand(200, 200), 400, "65536"));
        return cases.stream();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("openAiCases")
    void openAiAndAdmin_badInput_getsOpenAiError(Case bad) {
        Http.Reply reply = send(bad);
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
        Http.Reply reply = send(bad);
        assertThat(reply.status()).as(reply.toString()).isEqualTo(bad.status());
        JsonNode error = reply.json().path("error");
        assertThat(error.isString()).as(reply.toString()).isTrue();
        assertThat(error.asString()).contains(bad.mentions());
        assertClean(reply);
    }

    /** The cases above are refused for what they test, not because the model or the route is broken. */
    @Test
    void expand_withinTheOutputLimit_answers() {
        Http.Reply reply = http.postJson("/v2/models/expand/infer", expand(2, 3));
        assertThat(reply.status()).as(reply.toString()).isEqualTo(200);
        assertThat(reply.json().path("outputs").get(0).path("shape").toString()).isEqualTo("[2,3]");
    }

    @Test
    void routes_ofTheBodyCases_acceptAGoodBody() {
        assertThat(http.putJson("/admin/models/bytes/versions/1/scheduling", Map.of("max_batch_size", 4)).status())
                .isEqualTo(200);
        assertThat(http.putJson("/admin/models/bytes/aliases/prod", Map.of("version", 1)).status()).isEqualTo(200);
        Http.Reply monitoring = http.putJson("/admin/models/bytes/versions/1/monitoring", Map.of("threshold", 0.3,
                "baseline_size", 100, "window_size", 50, "reset_baseline", true));
        assertThat(monitoring.status()).as(monitoring.toString()).isEqualTo(200);
        assertThat(http.get("/admin/models/bytes/versions/1/monitoring").status()).isEqualTo(200);
        assertThat(http.patchJson("/admin/keys/" + keyId, Map.of("rpm", 100)).status()).isEqualTo(200);
        assertThat(http.postJson("/admin/upstreams", Map.of("host", "api.example.com")).status()).isEqualTo(201);
        assertThat(http.postJson("/admin/publishers", Map.of("name", "acme", "public_key",
                dev.atrium.registry.SigningKey.generate().publicKeyBase64())).status()).isEqualTo(201);
        assertThat(http.patchJson("/admin/tenants/" + tenantId, Map.of("require_signed_uploads", false)).status())
                .isEqualTo(200);
        Http.Reply embeddings = http.postJson("/v1/embeddings", Map.of("model", MODEL, "input", "x",
                "encoding_format", "float", "user", "u-1"));
        assertThat(embeddings.status()).as(embeddings.toString()).isEqualTo(200);
    }

    private static Http.Reply send(Case bad) {
        HttpRequest.Builder request = http.request(bad.path())
                .method(bad.method(), HttpRequest.BodyPublishers.ofByteArray(bad.body()));
        if (bad.contentType() != null) {
            request.header("Content-Type", bad.contentType());
        }
        return http.send(request.build());
    }

    private static String expand(int rows, int columns) {
        return "{\"inputs\": [{\"name\": \"x\", \"shape\": [1], \"datatype\": \"FP32\", \"data\": [1.5]},"
                + " {\"name\": \"shape\", \"shape\": [2], \"datatype\": \"INT64\", \"data\": [" + rows + ", " + columns + "]}]}";
    }

    private static byte[] bytes(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }

    private static void assertClean(Http.Reply reply) {
        assertThat(reply.header("x-request-id")).isNotBlank();
        assertThat(reply.text())
                .doesNotContain("StreamReadConstraints")
                .doesNotContain("tools.jackson")
                .doesNotContain("::")
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
