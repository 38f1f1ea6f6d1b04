package dev.atrium.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.atrium.config.ServerSetting;
import dev.atrium.testing.BundledFiles;
import dev.atrium.testing.OnnxModelWriter;
import dev.atrium.testing.TestServer;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** The CLI drives a running server over HTTP. */
class CliTest {
    @TempDir
    Path files;

    private TestServer server;

    @BeforeEach
    void start() {
        server = TestServer.start(Map.of("preload", "none"));
    }

    @AfterEach
    void stop() {
        server.close();
    }

    record Run(int exitCode, String out, String err) {}

    /** Runs the CLI with the admin key, as if read from admin.key. */
    private Run atrium(String... args) {
        String[] withKey = java.util.Arrays.copyOf(args, args.length + 2);
        withKey[args.length] = "--key";
        withKey[args.length + 1] = server.adminKey();
        return atriumWithoutKey(args[0].equals("serve") ? args : withKey);
    }

    private Run atriumWithoutKey(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine commandLine = AtriumCommand.commandLine();
        commandLine.setOut(new PrintWriter(out, true));
        commandLine.setErr(new PrintWriter(err, true));
        int exitCode = commandLine.execute(args);
        return new Run(exitCode, out.toString(), err.toString());
    }

    @Test
    void models_keygenSignPush_recordsTheSigner_andAWrongSignatureIsRefused() throws Exception {
        String url = server.baseUrl();
        Path key = files.resolve("publisher.key");
        Run keygen = atriumWithoutKey("models", "keygen", "-o", key.toString());
        assertThat(keygen.exitCode()).as(keygen.err()).isZero();
        assertThat(keygen.out()).contains("key id ").contains("public key MC");
        assertThat(Files.getPosixFilePermissions(key)).isEqualTo(
                java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
        assertThat(atriumWithoutKey("models", "keygen", "-o", key.toString()).exitCode()).isEqualTo(1);
        Run trust = atrium("publishers", "add", "acme", "--public-key", key + ".pub", "--server", url);
        assertThat(trust.exitCode()).as(trust.err()).isZero();
        assertThat(atrium("publishers", "ls", "--server", url).out()).contains("acme").contains("trusted");

        Path model = OnnxModelWriter.identities(List.of(OnnxModelWriter.ElementType.FLOAT), -1)
                .write(files.resolve("identity.onnx"));
        Path config = Files.writeString(files.resolve("config.json"), "{\"max_batch_size\": 2}");
        Path signature = files.resolve("identity.sig.json");
        Run sign = atriumWithoutKey("models", "sign", "--key", key.toString(), "--onnx", model.toString(), "--config",
                config.toString(), "-o", signature.toString());
        assertThat(sign.exitCode()).as(sign.err()).isZero();
        assertThat(sign.out()).contains("atrium-model-signature/1").contains("tokenizer -");

        Run push = atrium("models", "push", "signed", "--onnx", model.toString(), "--config", config.toString(),
                "--signature", signature.toString(), "--task", "tensor", "--server", url);
        assertThat(push.exitCode()).as(push.err()).isZero();
        assertThat(push.out()).contains("pushed signed version 1").contains("signed by acme");
        String keyId = server.http().get("/admin/publishers").json().path("data").get(0).path("key_id").asString();
        assertThat(server.http().get("/admin/models/signed/versions/1").json().path("signature").path("key_id")
                .asString()).isEqualTo(keyId);

        // the signature covers the config: without it, the same signature is another upload's
        Run without = atrium("models", "push", "signed", "--onnx", model.toString(), "--signature",
                signature.toString(), "--server", url);
        assertThat(without.exitCode()).isEqualTo(1);
        assertThat(without.err()).contains("signature");
        // an OpenSSL-style PEM private key signs the same
        Path pem = Files.writeString(files.resolve("publisher.pem"), "-----BEGIN PRIVATE KEY-----\n"
                + Files.readString(key).strip() + "\n-----END PRIVATE KEY-----\n");
        Run pemSign = atriumWithoutKey("models", "sign", "--key", pem.toString(), "--onnx", model.toString());
        assertThat(pemSign.exitCode()).as(pemSign.err()).isZero();
        assertThat(pemSign.out()).contains("\"key_id\": \"" + keyId + "\"");

        Run strict = atrium("tenants", "create", "strict", "--require-signed-uploads", "--server", url);
        assertThat(strict.exitCode()).as(strict.err()).isZero();
        assertThat(server.http().get("/admin/tenants").json().path("tenants").get(0).path("require_signed_uploads")
                .asBoolean()).isTrue();

        String publisher = server.http().get("/admin/publishers").json().path("data").get(0).path("id").asString();
        assertThat(atrium("publishers", "rm", publisher, "--server", url).out()).contains("revoked publisher acme");
        assertThat(atrium("publishers", "ls", "--server", url).out()).contains("revoked");
    }

    @Test
    void models_pushListAliasShowRemove() throws Exception {
        String url = server.baseUrl();
        Path onnx = BundledFiles.onnx(files);
        Path tokenizer = BundledFiles.tokenizer(files);
        Path config = Files.writeString(files.resolve("config.json"), "{\"pooling\":\"cls\"}");

        Run push = atrium("models", "push", "mini", "--onnx", onnx.toString(), "--tokenizer", tokenizer.toString(),
                "--description", "pushed by the CLI", "--server", url);
        assertThat(push.exitCode()).as(push.err()).isZero();
        assertThat(push.out()).contains("pushed mini version 1");
        Run second = atrium("models", "push", "mini", "--onnx", onnx.toString(), "--tokenizer", tokenizer.toString(),
                "--config", config.toString(), "--server", url);
        assertThat(second.out()).contains("pushed mini version 2");

        Run alias = atrium("models", "alias", "mini", "production", "1", "--server", url);
        assertThat(alias.exitCode()).isZero();
        assertThat(server.http().get("/admin/models/mini").json().path("aliases").path("production").asInt()).isEqualTo(1);

        Run list = atrium("models", "ls", "--server", url);
        assertThat(list.out()).contains("mini").contains("embedding").contains("1,2").contains("production=1");

        Run split = atrium("models", "alias", "mini", "canary", "1=90,2=10", "--sticky", "user", "--server", url);
        assertThat(split.exitCode()).as(split.err()).isZero();
        assertThat(split.out()).contains("mini:canary -> 1=90 2=10 (sticky user)");
        assertThat(server.http().get("/admin/models/mini").json().path("splits").path("canary").path("split")
                .path("2").asInt()).isEqualTo(10);
        Run badSplit = atrium("models", "alias", "mini", "canary", "1=x", "--server", url);
        assertThat(badSplit.exitCode()).isNotZero();
        assertThat(badSplit.err()).contains("VERSION=WEIGHT");
        assertThat(atrium("models", "rm", "mini:2", "--server", url).err()).contains("409").contains("canary");
        assertThat(atrium("models", "alias", "mini", "canary", "1", "--server", url).exitCode()).isZero();

        Run tune = atrium("models", "tune", "mini:2", "--max-batch-size", "4", "--max-queue-delay-us", "500",
                "--server", url);
        assertThat(tune.exitCode()).as(tune.err()).isZero();
        assertThat(tune.out()).contains("\"max_batch_size\" : 4").contains("\"max_queue_delay_us\" : 500");
        assertThat(server.http().get("/admin/models/mini/versions/2").json().path("scheduling").path("max_batch_size")
                .asInt()).isEqualTo(4);

        Run rollout = atrium("rollout", "start", "mini", "production", "2", "--steps", "10,100", "--interval", "1h",
                "--min-calls", "5", "--server", url);
        assertThat(rollout.exitCode()).as(rollout.err()).isZero();
        assertThat(rollout.out()).contains("mini:production version 2 -> running at 10% beside version 1");
        assertThat(server.http().get("/admin/models/mini").json().path("splits").path("production").path("split")
                .path("2").asInt()).isEqualTo(10);
        Run status = atrium("rollout", "status", "mini", "production", "--server", url);
        assertThat(status.out()).contains("running at 10%").contains("canary   v2: 0 calls").contains("start");
        assertThat(atrium("rollout", "start", "mini", "production", "2", "--server", url).err()).contains("409");
        Run abort = atrium("rollout", "abort", "mini", "production", "--server", url);
        assertThat(abort.out()).contains("-> aborted at 0%").contains("aborted by hand");
        assertThat(server.http().get("/admin/models/mini").json().path("aliases").path("production").asInt())
                .isEqualTo(1);
        assertThat(atrium("rollout", "promote", "mini", "production", "--server", url).err()).contains("404");

        Run shadow = atrium("rollout", "shadow", "mini", "production", "2", "--fraction", "0.5", "--server", url);
        assertThat(shadow.exitCode()).as(shadow.err()).isZero();
        assertThat(shadow.out()).contains("mini:production shadowed by version 2 on 0.5 of its requests: 0 mirrored");
        assertThat(server.http().get("/admin/models/mini/aliases/production/shadow").json().path("version").asInt())
                .isEqualTo(2);
        assertThat(atrium("rollout", "status", "mini", "production", "--server", url).out())
                .contains("shadowed by version 2");
        assertThat(atrium("rollout", "shadow", "mini", "production", "2", "--fraction", "2", "--server", url).err())
                .contains("fraction");
        assertThat(atrium("rollout", "shadow", "mini", "production", "--stop", "--server", url).out())
                .contains("no longer shadowed");
        assertThat(server.http().get("/admin/models/mini/aliases/production/shadow").status()).isEqualTo(404);
        Run monitor = atrium("models", "monitor", "mini:1", "--threshold", "0.3", "--window-size", "50", "--server",
                url);
        assertThat(monitor.exitCode()).as(monitor.err()).isZero();
        assertThat(monitor.out()).contains("mini:1 (embedding)").contains("last 1m").contains("psi - (threshold 0.3)")
                .contains("recent 0 of 50");
        assertThat(atrium("models", "monitor", "mini:1", "--threshold", "0", "--server", url).err())
                .contains("400").contains("threshold");

        Run show = atrium("models", "show", "mini:2", "--server", url);
        assertThat(show.out()).contains("\"pooling\" : \"cls\"");
        // MiniLM is int8 already: the server refuses, and the CLI says why (QuantizeEndToEndTest quantizes)
        Path sample = Files.writeString(files.resolve("sample.txt"), "a first text\n\na second text\n");
        Run quantize = atrium("models", "quantize", "mini:2", "--alias", "int8", "--sample-file", sample.toString(),
                "--server", url);
        assertThat(quantize.exitCode()).isEqualTo(1);
        assertThat(quantize.err()).contains("409").contains("MatMul");
        assertThat(atrium("models", "show", "mini", "--server", url).out()).contains("pushed by the CLI");

        Run refused = atrium("models", "rm", "mini:1", "--server", url);
        assertThat(refused.exitCode()).isEqualTo(1);
        assertThat(refused.err()).contains("409").contains("production");
        assertThat(atrium("models", "rm", "mini:2", "--server", url).exitCode()).isZero();
        assertThat(server.http().get("/admin/models/mini").json().path("versions").toString()).isEqualTo("[1]");
        assertThat(atrium("models", "rm", "mini", "--server", url).exitCode()).isZero();
        assertThat(server.http().get("/admin/models/mini").status()).isEqualTo(404);
    }

    @Test
    void models_residencyAndLoaded_setAndShowHowVersionsAreKept() {
        String url = server.baseUrl();
        String model = "all-minilm-l6-v2";
        Run pin = atrium("models", "residency", model, "--pin", "--keep-alive", "5m", "--server", url);
        assertThat(pin.exitCode()).as(pin.err()).isZero();
        assertThat(pin.out()).contains(model + ": pinned, keep-alive 300 s");
        try {
            assertThat(server.http().postJson("/v1/embeddings", Map.of("model", model, "input", "x")).status())
                    .isEqualTo(200);
            Run loaded = atrium("models", "loaded", "--server", url);
            assertThat(loaded.exitCode()).as(loaded.err()).isZero();
            assertThat(loaded.out()).contains("VERSION").containsPattern(model + ":1 +onnx .* yes +300s")
                    .contains("loaded ");
            Run refused = atrium("models", "residency", model, "--keep-alive", "soon", "--server", url);
            assertThat(refused.exitCode()).isNotZero();
            assertThat(refused.err()).contains("keep_alive");
        } finally {
            Run reset = atrium("models", "residency", model, "--server", url);
            assertThat(reset.out()).contains(model + ": not pinned, keep-alive the server's");
        }
    }

    @Test
    void models_exportOnnx_writesTheServersFile_andARefusalWritesNothing() throws Exception {
        String url = server.baseUrl();
        Path head = new OnnxModelWriter()
                .input("embedding", OnnxModelWriter.ElementType.FLOAT, -1, 384)
                .initializer("weights", new float[384 * 2], 384, 2)
                .node("MatMul", List.of("embedding", "weights"), List.of("logits"))
                .node("Softmax", List.of("logits"), List.of("probabilities"))
                .output("probabilities", OnnxModelWriter.ElementType.FLOAT, -1, 2)
                .write(files.resolve("head.onnx"));
        Path config = Files.writeString(files.resolve("config.json"),
                "{\"embedding_model\": \"all-minilm-l6-v2\", \"labels\": [\"yes\", \"no\"]}");
        Run push = atrium("models", "push", "answers", "--onnx", head.toString(), "--config", config.toString(),
                "--task", "text-classification", "--server", url);
        assertThat(push.exitCode()).as(push.err()).isZero();

        Path merged = files.resolve("answers.onnx");
        Run export = atrium("models", "export-onnx", "answers:1", "-o", merged.toString(), "--server", url);
        assertThat(export.exitCode()).as(export.err()).isZero();
        byte[] written = Files.readAllBytes(merged);
        assertThat(export.out()).isEqualTo("wrote answers:1 to " + merged + " (" + written.length + " bytes, sha256 "
                + java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256")
                        .digest(written)) + ")" + System.lineSeparator());
        assertThat(written).isEqualTo(server.http().get("/admin/models/answers/versions/1/onnx").raw().body());
        try (ai.onnxruntime.OrtSession.SessionOptions options = new ai.onnxruntime.OrtSession.SessionOptions();
                ai.onnxruntime.OrtSession session = ai.onnxruntime.OrtEnvironment.getEnvironment()
                        .createSession(merged.toString(), options)) {
            assertThat(List.copyOf(session.getInputNames()))
                    .containsExactly("input_ids", "attention_mask", "token_type_ids");
            assertThat(List.copyOf(session.getOutputNames())).containsExactly("probabilities");
        }
        Path plain = files.resolve("minilm.onnx");
        assertThat(atrium("models", "export-onnx", "all-minilm-l6-v2:1", "--output", plain.toString(), "--server",
                url).exitCode()).isZero();
        assertThat(Files.readAllBytes(plain)).isEqualTo(Files.readAllBytes(BundledFiles.onnx(files)));

        // a refusal leaves the file there as it was, and nothing beside it
        Run missing = atrium("models", "export-onnx", "answers:2", "-o", merged.toString(), "--server", url);
        assertThat(missing.exitCode()).isOne();
        assertThat(missing.err()).contains("404").contains("has no version 2");
        assertThat(Files.readAllBytes(merged)).isEqualTo(written);
        Run noVersion = atrium("models", "export-onnx", "answers", "-o", merged.toString(), "--server", url);
        assertThat(noVersion.exitCode()).isOne();
        assertThat(noVersion.err()).contains("NAME:VERSION");
        try (var listed = Files.list(files)) {
            assertThat(listed.map(file -> file.getFileName().toString()).sorted().toList())
                    .containsExactly("answers.onnx", "config.json", "head.onnx", "minilm.onnx", "model.onnx");
        }
    }

    @Test
    void upstreamsAndRemoteModels() {
        String url = server.baseUrl();
        Run add = atrium("upstreams", "add", "127.0.0.1:9", "--server", url);
        assertThat(add.exitCode()).as(add.err()).isZero();
        assertThat(atrium("upstreams", "ls", "--server", url).out()).contains("127.0.0.1:9");

        Run offList = atrium("models", "push", "far", "--remote", "http://10.1.2.3/v1", "--upstream-model", "m",
                "--server", url);
        assertThat(offList.exitCode()).isEqualTo(1);
        assertThat(offList.err()).contains("403").contains("allowed upstream hosts");
        Run noKey = atrium("models", "push", "near", "--remote", "http://127.0.0.1:9/v1", "--upstream-model", "m",
                "--api-key-env", "ATRIUM_TEST_UNSET_VARIABLE", "--server", url);
        assertThat(noKey.exitCode()).isEqualTo(1);
        assertThat(noKey.err()).contains("ATRIUM_TEST_UNSET_VARIABLE is not set");
        Run push = atrium("models", "push", "near", "--remote", "http://127.0.0.1:9/v1", "--upstream-model", "m",
                "--fallback", "nowhere", "--max-attempts", "2", "--server", url);
        assertThat(push.exitCode()).as(push.err()).isOne();
        assertThat(push.err()).contains("fallback model 'nowhere' does not exist");
        Run pushed = atrium("models", "push", "near", "--remote", "http://127.0.0.1:9/v1", "--upstream-model", "m",
                "--max-attempts", "2", "--timeout-ms", "500", "--server", url);
        assertThat(pushed.exitCode()).as(pushed.err()).isZero();
        assertThat(pushed.out()).contains("pushed near version 1 (remote http://127.0.0.1:9/v1, model m)");
        assertThat(server.http().get("/admin/models/near/versions/1").json().path("remote").path("retry")
                .path("max_attempts").asInt()).isEqualTo(2);

        assertThat(atrium("upstreams", "rm", "127.0.0.1:9", "--server", url).exitCode()).isZero();
        assertThat(atrium("upstreams", "ls", "--server", url).out()).doesNotContain("127.0.0.1:9");
    }

    @Test
    void tenantsAndKeys_createListShowRevoke() {
        String url = server.baseUrl();
        Run tenant = atrium("tenants", "create", "acme", "--rpm", "600", "--server", url);
        assertThat(tenant.exitCode()).as(tenant.err()).isZero();
        assertThat(tenant.out()).contains("created tenant acme (ten_");
        assertThat(atrium("tenants", "ls", "--server", url).out()).contains("acme").contains("600");

        Run key = atrium("keys", "create", "--tenant", "acme", "--role", "member", "--models", "all-minilm-*",
                "--rpm", "600", "--tpm", "200000", "--expires", "30d", "--name", "ci", "--server", url);
        assertThat(key.exitCode()).as(key.err()).isZero();
        String secret = key.out().lines().filter(line -> line.startsWith("atr-")).findFirst().orElseThrow();
        String id = key.out().replaceAll("(?s).*created member key (key_[0-9a-f]+).*", "$1");
        assertThat(server.http().withKey(secret).get("/v1/models").status()).isEqualTo(200);

        Run list = atrium("keys", "ls", "--tenant", "acme", "--server", url);
        assertThat(list.out()).contains(id).contains("member").contains("active").doesNotContain(secret);
        Run show = atrium("keys", "show", id, "--server", url);
        assertThat(show.out()).contains("\"all-minilm-*\"").contains("\"rpm\" : 600").contains("\"tpm\" : 200000")
                .doesNotContain(secret);

        // the new key is a member: it may not manage keys, and the CLI says so in one line
        Run denied = atriumWithoutKey("keys", "ls", "--server", url, "--key", secret);
        assertThat(denied.exitCode()).isEqualTo(1);
        assertThat(denied.err()).contains("403");

        assertThat(atrium("keys", "revoke", id, "--server", url).exitCode()).isZero();
        assertThat(server.http().withKey(secret).get("/v1/models").status()).isEqualTo(401);
        assertThat(atrium("keys", "ls", "--server", url).out()).contains("revoked");

        String tenantId = tenant.out().replaceAll("(?s).*\\((ten_[0-9a-f]+)\\).*", "$1");
        assertThat(atrium("tenants", "rm", tenantId, "--server", url).exitCode()).isZero();
        assertThat(atrium("tenants", "ls", "--server", url).out()).doesNotContain("acme");
    }

    @Test
    void pricesUsageAndInvoice() {
        String url = server.baseUrl();
        String tenant = new dev.atrium.testing.Tenants(server.http()).tenant("billed");
        Run price = atrium("prices", "set", "all-minilm-l6-v2", "--tenant", "billed", "--input-per-1m", "0.02",
                "--per-request", "0.001", "--currency", "EUR", "--server", url);
        assertThat(price.exitCode()).as(price.err()).isZero();
        assertThat(price.out()).contains("0.02/1M in").contains("EUR");
        assertThat(atrium("prices", "ls", "--model", "all-minilm-l6-v2", "--server", url).out()).contains(tenant)
                .contains("0.001");

        String member = new dev.atrium.testing.Tenants(server.http()).key(tenant, "member").secret();
        assertThat(server.http().withKey(member).postJson("/v1/embeddings",
                Map.of("model", "all-minilm-l6-v2", "input", "bill me")).status()).isEqualTo(200);

        Run usage = atrium("usage", "--tenant", "billed", "--group-by", "model", "--server", url);
        assertThat(usage.exitCode()).as(usage.err()).isZero();
        assertThat(usage.out()).contains("all-minilm-l6-v2").contains("EUR");
        Run invoice = atrium("invoice", "--tenant", "billed", "--server", url);
        assertThat(invoice.out()).contains("input_tokens").contains("requests").contains("subtotal:").contains("EUR");
        Run csv = atrium("invoice", "--tenant", "billed", "--csv", "--server", url);
        assertThat(csv.out()).startsWith("model,meter,quantity,unit,unit_price,currency,amount").contains("subtotal,,,,,EUR,");
    }

    @Test
    void train_aSearchThatPromotes_thenEvaluate_scoresTheAliasOnAFile() throws Exception {
        String url = server.baseUrl();
        java.util.Random random = new java.util.Random(3);
        StringBuilder train = new StringBuilder("x1,x2,y\n");
        StringBuilder valid = new StringBuilder("x1,x2,y\n");
        for (int i = 0; i < 500; i++) {
            double x1 = random.nextDouble();
            double x2 = random.nextDouble();
            (i < 400 ? train : valid).append(x1).append(',').append(x2).append(',')
                    .append(3 * x1 - x2 + random.nextGaussian() * 0.1).append('\n');
        }
        Path rows = files.resolve("rows.csv");
        Path validation = files.resolve("valid.csv");
        Files.writeString(rows, train);
        Files.writeString(validation, valid);
        Run trained = atrium("train", "--model", "auto", "--method", "tabular-regression", "--file", rows.toString(),
                "--target", "y", "--suffix", "cli-prices", "--search", "{\"max_trials\": 3}", "--validation-file",
                validation.toString(), "--promote", "production:rmse", "--server", url);
        assertThat(trained.exitCode()).as(trained.err()).isZero();
        assertThat(trained.out()).contains("cli-prices:1").contains("\"trials\":3").contains("promoted: ");
        assertThat(trained.err()).contains("Trial 1 (").contains("AutoML: 3 trials");
        Run scored = atrium("evaluate", "cli-prices:production", "--file", validation.toString(), "--target", "y",
                "--server", url);
        assertThat(scored.exitCode()).as(scored.err()).isZero();
        assertThat(scored.out()).startsWith("cli-prices:1 {").contains("\"rmse\":").contains("\"r2\":");
        Run badPromote = atrium("train", "--model", "linear", "--method", "tabular-regression", "--file",
                rows.toString(), "--target", "y", "--promote", "production", "--server", url);
        assertThat(badPromote.exitCode()).isNotZero();
        assertThat(badPromote.err()).contains("ALIAS:METRIC");
    }

    @Test
    void pricesSet_amountOutOfBounds_isAUsageErrorBeforeAnyRequest() {
        for (String amount : List.of("1e2147483647", "1E+10000000", "0.0000000000001", "-1", "1" + "0".repeat(100_000))) {
            Run run = atrium("prices", "set", "all-minilm-l6-v2", "--per-request", amount, "--server", server.baseUrl());
            assertThat(run.exitCode()).as(amount.length() > 40 ? amount.length() + " digits" : amount).isEqualTo(2);
            assertThat(run.err()).contains("--per-request").contains("not an amount");
        }
    }

    @Test
    void commands_withoutAKey_explainWhereTheKeyComesFrom() {
        Run run = atriumWithoutKey("models", "ls", "--server", server.baseUrl(), "--key", "atr-" + "x".repeat(43));
        assertThat(run.exitCode()).isEqualTo(1);
        assertThat(run.err()).contains("401").contains("ATRIUM_API_KEY").contains("admin.key");
    }

    @Test
    void models_unreachableServer_saysSoInOneLine() {
        Run run = atrium("models", "ls", "--server", "http://127.0.0.1:1");
        assertThat(run.exitCode()).isEqualTo(1);
        assertThat(run.err()).contains("cannot connect to http://127.0.0.1:1").doesNotContain("Exception");
    }

    @Test
    void models_pushMissingFile_isReportedBeforeAnyRequest() {
        Run run = atrium("models", "push", "x", "--onnx", files.resolve("missing.onnx").toString(), "--server", server.baseUrl());
        assertThat(run.exitCode()).isEqualTo(1);
        assertThat(run.err()).contains("no such file");
        assertThat(server.http().get("/admin/models/x").status()).isEqualTo(404);
    }

    @Test
    void serveHelp_listsEverySettingWithItsEnvironmentVariable() {
        Run help = atrium("serve", "--help");
        assertThat(help.exitCode()).isZero();
        for (ServerSetting setting : ServerSetting.values()) {
            assertThat(help.out()).contains("--" + setting.key()).contains(setting.environmentVariable());
        }
        assertThat(help.out()).contains("--config");
    }

    @Test
    void serve_invalidSetting_isAUsageError() {
        Run run = atrium("serve", "--port", "http");
        assertThat(run.exitCode()).isEqualTo(2);
        assertThat(run.err()).contains("ATRIUM_PORT");
    }
}
