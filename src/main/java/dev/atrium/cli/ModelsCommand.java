package dev.atrium.cli;

import dev.atrium.registry.SignedFiles;
import dev.atrium.registry.SigningKey;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Base64;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import tools.jackson.databind.JsonNode;

/** {@code atrium models ...}: the model registry of a running server, over its management API. */
@Command(name = "models",
        mixinStandardHelpOptions = true,
        description = "Manage the models of a running server.",
        subcommands = {
                ModelsCommand.Push.class,
                ModelsCommand.Keygen.class,
                ModelsCommand.Sign.class,
                ModelsCommand.List.class,
                ModelsCommand.Show.class,
                ModelsCommand.Alias.class,
                ModelsCommand.Tune.class,
                ModelsCommand.Monitor.class,
                ModelsCommand.Residency.class,
                ModelsCommand.Loaded.class,
                ModelsCommand.Quantize.class,
                ModelsCommand.ExportOnnx.class,
                ModelsCommand.Export.class,
                ModelsCommand.Remove.class})
final class ModelsCommand implements Runnable {
    @Spec
    CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    /** The management API's path of a version given as NAME:VERSION. */
    private static String versionPath(String reference) {
        int colon = reference.indexOf(':');
        if (colon < 0) {
            throw new AtriumClient.ClientException("give the version as NAME:VERSION");
        }
        return "/admin/models/" + reference.substring(0, colon) + "/versions/" + reference.substring(colon + 1);
    }

    @Command(name = "push", mixinStandardHelpOptions = true,
            description = "Upload a new version of a model, creating the model if it does not exist.")
    static final class Push extends ServerCommand {
        @Parameters(index = "0", paramLabel = "NAME", description = "model name")
        String name;

        @Option(names = "--onnx", paramLabel = "FILE", description = "an ONNX model file (embedding or tensor models)")
        Path onnx;

        @Option(names = "--gguf", paramLabel = "FILE", description = "a GGUF model file (chat or completion models)")
        Path gguf;

        @Option(names = "--remote", paramLabel = "URL",
                description = "a remote model: the base URL of an OpenAI-compatible upstream (on the allowed hosts)")
        String remote;

        @Option(names = "--upstream-model", paramLabel = "NAME", description = "the model's name at the upstream (--remote)")
        String upstreamModel;

        @Option(names = "--api-key-env", paramLabel = "VARIABLE",
                description = "the environment variable holding the upstream's API key (--remote); never a flag,"
                        + " so it stays out of the process list and shell history")
        String apiKeyEnvironment;

        @Option(names = "--timeout-ms", paramLabel = "MS", description = "upstream timeout per attempt (--remote)")
        Integer timeoutMs;

        @Option(names = "--max-attempts", paramLabel = "N", description = "attempts on errors, 429 and 5xx (--remote)")
        Integer maxAttempts;

        @Option(names = "--fallback", paramLabel = "MODEL", description = "a fallback model, in order (--remote; repeatable)")
        java.util.List<String> fallbacks = new java.util.ArrayList<>();

        @Option(names = "--tokenizer", paramLabel = "FILE", description = "a Hugging Face tokenizer.json (embedding models)")
        Path tokenizer;

        @Option(names = "--vad", paramLabel = "FILE",
                description = "a voice activity detector (Silero VAD ONNX) that cuts long audio at silences"
                        + " (transcription models)")
        Path vad;

        @Option(names = "--config", paramLabel = "FILE",
                description = "the version's config JSON: pooling, normalize, max_length, prefixes (embedding);"
                        + " labels, preprocessing, embedding_model (classifiers); features (tabular); num_beams, vad"
                        + " (transcription); slots, context_per_slot (GGUF)")
        Path config;

        @Option(names = "--task", paramLabel = "TASK",
                description = "embedding, tensor, chat, completion, transcription, image-classification,"
                        + " text-classification or tabular, for a new model (default: chat for GGUF, embedding with a"
                        + " tokenizer, transcription with --vad, else tensor)")
        String task;

        @Option(names = "--description", paramLabel = "TEXT", description = "description, for a new model")
        String description;

        @Option(names = "--signature", paramLabel = "FILE",
                description = "the upload's signature by a trusted publisher, as 'atrium models sign' writes it")
        Path signature;

        @Override
        void run(AtriumClient client, PrintWriter out) {
            if (remote != null) {
                pushRemote(client, out);
                return;
            }
            if ((onnx == null) == (gguf == null)) {
                throw new AtriumClient.ClientException("give one of --onnx, --gguf or --remote");
            }
            Map<String, Path> parts = new LinkedHashMap<>();
            parts.put(onnx != null ? "onnx" : "gguf", onnx != null ? onnx : gguf);
            if (tokenizer != null) {
                parts.put("tokenizer", tokenizer);
            }
            if (vad != null) {
                parts.put("vad", vad);
            }
            if (config != null) {
                parts.put("config", config);
            }
            if (signature != null) {
                parts.put("signature", signature);
            }
            for (Path file : parts.values()) {
                if (!Files.isRegularFile(file)) {
                    throw new AtriumClient.ClientException("no such file: " + file);
                }
            }
            try {
                client.get("/admin/models/" + name);
            } catch (AtriumClient.ClientException e) {
                Map<String, String> model = new LinkedHashMap<>();
                model.put("name", name);
                model.put("task", task != null ? task : gguf != null ? "chat" : tokenizer != null ? "embedding"
                        : vad != null ? "transcription" : "tensor");
                model.put("engine", gguf != null ? "llama" : "onnx");
                model.put("description", description == null ? "" : description);
                client.postJson("/admin/models", model);
            }
            JsonNode version = client.postFiles("/admin/models/" + name + "/versions", parts).body();
            JsonNode signer = version.path("signature");
            out.printf("pushed %s version %d (sha256 %s, %d bytes%s)%n", name, version.path("version").asInt(),
                    version.path("artifact").path("sha256").asString(),
                    version.path("artifact").path("size_bytes").asLong(), signer.isObject() ? ", signed by " + signer.path("publisher").asString() + " key "
                            + signer.path("key_id").asString() : "");
        }

        private void pushRemote(AtriumClient client, PrintWriter out) {
            if (onnx != null || gguf != null || tokenizer != null || config != null || vad != null) {
                throw new AtriumClient.ClientException("a remote model has no files: --remote takes no --onnx, --gguf,"
                        + " --tokenizer or --config");
            }
            if (upstreamModel == null) {
                throw new AtriumClient.ClientException("--remote needs --upstream-model");
            }
            Map<String, Object> body = new LinkedHashMap<>();
            body.put("base_url", remote);
            body.put("upstream_model", upstreamModel);
            if (apiKeyEnvironment != null) {
                String key = System.getenv(apiKeyEnvironment);
                if (key == null || key.isBlank()) {
                    throw new AtriumClient.ClientException("environment variable " + apiKeyEnvironment + " is not set");
                }
                body.put("api_key", key.strip());
            }
            if (timeoutMs != null) {
                body.put("timeout_ms", timeoutMs);
            }
            if (maxAttempts != null) {
                body.put("retry", Map.of("max_attempts", maxAttempts));
            }
            body.put("fallbacks", fallbacks);
            try {
                client.get("/admin/models/" + name);
            } catch (AtriumClient.ClientException e) {
                client.postJson("/admin/models", Map.of("name", name, "task", task != null ? task : "chat",
                        "engine", "remote", "description", description == null ? "" : description));
            }
            JsonNode version = client.postJson("/admin/models/" + name + "/versions", body).body();
            out.printf("pushed %s version %d (remote %s, model %s)%n", name, version.path("version").asInt(),
                    version.path("remote").path("base_url").asString(), upstreamModel);
        }
    }

    @Command(name = "keygen", mixinStandardHelpOptions = true,
            description = "Make a publisher's Ed25519 key pair: the private key (PKCS#8, base64) goes to a new file"
                    + " only you can read; the public key is printed (and written beside it as FILE.pub) for the"
                    + " platform admin to trust with POST /admin/publishers.")
    static final class Keygen implements Callable<Integer> {
        @Option(names = {"-o", "--output"}, paramLabel = "FILE", required = true,
                description = "the private key file to write (mode 0600; never overwritten)")
        Path output;

        @Spec
        CommandSpec spec;

        @Override
        public Integer call() {
            SigningKey key = SigningKey.generate();
            Path publicFile = output.resolveSibling(output.getFileName() + ".pub");
            try {
                if (Files.exists(output) || Files.exists(publicFile)) {
                    spec.commandLine().getErr().println("atrium: " + output + " or " + publicFile
                            + " exists already; keys are never overwritten");
                    return 1;
                }
                Files.createFile(output, PosixFilePermissions.asFileAttribute(
                        PosixFilePermissions.fromString("rw-------")));
                Files.writeString(output, key.privateKeyBase64() + "\n", StandardCharsets.US_ASCII);
                Files.writeString(publicFile, key.publicKeyBase64() + "\n", StandardCharsets.US_ASCII);
            } catch (IOException e) {
                spec.commandLine().getErr().println("atrium: cannot write the key: " + e.getMessage());
                return 1;
            }
            PrintWriter out = spec.commandLine().getOut();
            out.printf("wrote the private key to %s (keep it secret) and the public key to %s%n", output, publicFile);
            out.printf("key id %s%npublic key %s%n", key.keyId(), key.publicKeyBase64());
            return 0;
        }
    }

    @Command(name = "sign", mixinStandardHelpOptions = true,
            description = "Sign an upload's files with a publisher's private key: an Ed25519 signature of the"
                    + " statement 'atrium-model-signature/1', then 'model SHA256', 'tokenizer SHA256', 'vad SHA256'"
                    + " and 'config SHA256' (one line each, '-' for a file not given). Writes the signature JSON"
                    + " that 'atrium models push --signature' sends.")
    static final class Sign implements Callable<Integer> {
        @Option(names = "--key", paramLabel = "PRIVATE_KEY_FILE", required = true,
                description = "the publisher's private key (PKCS#8, base64 or PEM), as 'atrium models keygen'"
                        + " writes it")
        Path key;

        @Option(names = "--onnx", paramLabel = "FILE", description = "the ONNX model file")
        Path onnx;

        @Option(names = "--gguf", paramLabel = "FILE", description = "the GGUF model file")
        Path gguf;

        @Option(names = "--tokenizer", paramLabel = "FILE", description = "the tokenizer.json the upload carries")
        Path tokenizer;

        @Option(names = "--vad", paramLabel = "FILE", description = "the voice activity detector the upload carries")
        Path vad;

        @Option(names = "--config", paramLabel = "FILE", description = "the config JSON the upload carries")
        Path config;

        @Option(names = {"-o", "--output"}, paramLabel = "FILE",
                description = "where to write the signature JSON (default: standard output)")
        Path output;

        @Spec
        CommandSpec spec;

        @Override
        public Integer call() {
            try {
                if ((onnx == null) == (gguf == null)) {
                    throw new IllegalArgumentException("give one of --onnx or --gguf");
                }
                SigningKey signer = SigningKey.fromPrivateKey(
                        Files.readString(key));
                SignedFiles files = new SignedFiles(
                        sha256(onnx != null ? onnx : gguf), sha256(tokenizer), sha256(vad), sha256(config));
                // hex and base64 need no escaping in JSON
                String json = "{\"key_id\": \"" + signer.keyId() + "\", \"signature\": \""
                        + Base64.getEncoder().encodeToString(signer.sign(files.statement())) + "\"}";
                PrintWriter out = spec.commandLine().getOut();
                if (output == null) {
                    out.println(json);
                } else {
                    Files.writeString(output, json + "\n");
                    out.printf("wrote the signature of key %s to %s, over:%n%s", signer.keyId(), output,
                            new String(files.statement(), StandardCharsets.US_ASCII));
                }
                return 0;
            } catch (IllegalArgumentException | IOException | UncheckedIOException e) {
                spec.commandLine().getErr().println("atrium: cannot sign: " + e.getMessage());
                return 1;
            }
        }

        /** A file's SHA-256 as lowercase hex, or '-' for a file not given. */
        private static String sha256(Path file) throws IOException {
            if (file == null) {
                return SignedFiles.NONE;
            }
            try (InputStream in = Files.newInputStream(file)) {
                MessageDigest digest = MessageDigest.getInstance("SHA-256");
                byte[] buffer = new byte[1 << 16];
                for (int read = in.read(buffer); read >= 0; read = in.read(buffer)) {
                    digest.update(buffer, 0, read);
                }
                return HexFormat.of().formatHex(digest.digest());
            } catch (NoSuchAlgorithmException e) {
                throw new IllegalStateException(e);
            }
        }
    }

    @Command(name = "ls", mixinStandardHelpOptions = true, description = "List models.")
    static final class List extends ServerCommand {
        @Override
        void run(AtriumClient client, PrintWriter out) {
            JsonNode models = client.get("/admin/models").body().path("models");
            out.printf("%-32s %-10s %-6s %-12s %s%n", "NAME", "TASK", "ENGINE", "VERSIONS", "ALIASES");
            for (JsonNode model : models) {
                StringBuilder versions = new StringBuilder();
                model.path("versions").forEach(v -> versions.append(versions.isEmpty() ? "" : ",").append(v.asInt()));
                StringBuilder aliases = new StringBuilder();
                for (Map.Entry<String, JsonNode> alias : model.path("aliases").properties()) {
                    aliases.append(aliases.isEmpty() ? "" : " ").append(alias.getKey()).append("=")
                            .append(alias.getValue().asInt());
                }
                out.printf("%-32s %-10s %-6s %-12s %s%n", model.path("name").asString(), model.path("task").asString(),
                        model.path("engine").asString(), versions, aliases);
            }
        }
    }

    @Command(name = "show", mixinStandardHelpOptions = true, description = "Show a model, or one version as NAME:VERSION.")
    static final class Show extends ServerCommand {
        @Parameters(index = "0", paramLabel = "NAME[:VERSION]")
        String reference;

        @Override
        void run(AtriumClient client, PrintWriter out) {
            int colon = reference.indexOf(':');
            String path = colon < 0 ? "/admin/models/" + reference
                    : "/admin/models/" + reference.substring(0, colon) + "/versions/" + reference.substring(colon + 1);
            out.println(AtriumClient.pretty(client.get(path).body()));
        }
    }

    @Command(name = "alias", mixinStandardHelpOptions = true,
            description = "Point an alias at a version, or split its traffic over versions by weight.")
    static final class Alias extends ServerCommand {
        @Parameters(index = "0", paramLabel = "NAME")
        String name;

        @Parameters(index = "1", paramLabel = "ALIAS")
        String alias;

        @Parameters(index = "2", paramLabel = "TARGET",
                description = "a version (2), or versions with weights (2=90,3=10) for a traffic split")
        String target;

        @Option(names = "--sticky", paramLabel = "BY", defaultValue = "none",
                description = "what keeps a caller on one version of a split: none, key or user")
        String sticky;

        @Override
        void run(AtriumClient client, PrintWriter out) {
            if (!target.contains("=")) {
                int version;
                try {
                    version = Integer.parseInt(target);
                } catch (NumberFormatException e) {
                    throw new AtriumClient.ClientException("TARGET is a version number or VERSION=WEIGHT,...: "
                            + target);
                }
                client.putJson("/admin/models/" + name + "/aliases/" + alias, Map.of("version", version));
                out.printf("%s:%s -> version %d%n", name, alias, version);
                return;
            }
            Map<String, Integer> weights = new java.util.LinkedHashMap<>();
            for (String part : target.split(",")) {
                String[] pair = part.strip().split("=", 2);
                try {
                    weights.put(Integer.toString(Integer.parseInt(pair[0].strip())), Integer.parseInt(pair[1].strip()));
                } catch (NumberFormatException | ArrayIndexOutOfBoundsException e) {
                    throw new AtriumClient.ClientException("a split is VERSION=WEIGHT,...: " + part);
                }
            }
            JsonNode set = client.putJson("/admin/models/" + name + "/aliases/" + alias, Map.of("split", weights,
                    "sticky", sticky)).body();
            StringBuilder split = new StringBuilder();
            set.path("split").properties().forEach(entry -> split.append(split.isEmpty() ? "" : " ")
                    .append(entry.getKey()).append('=').append(entry.getValue().asInt()));
            out.printf("%s:%s -> %s (sticky %s)%n", name, alias, split, set.path("sticky").asString());
        }
    }

    @Command(name = "tune", mixinStandardHelpOptions = true,
            description = "Set how a version is scheduled (options left out take the server's defaults); a loaded"
                    + " version reloads with them at once.")
    static final class Tune extends ServerCommand {
        @Parameters(index = "0", paramLabel = "NAME:VERSION")
        String reference;

        @Option(names = "--max-batch-size", paramLabel = "N", description = "rows in one batch; 1 turns batching off")
        Integer maxBatchSize;

        @Option(names = "--max-batch-tokens", paramLabel = "N", description = "padded tokens in one batch")
        Integer maxBatchTokens;

        @Option(names = "--max-queue-delay-us", paramLabel = "MICROS", description = "how long a batch may wait to fill")
        Long maxQueueDelayUs;

        @Option(names = "--instances", paramLabel = "N", description = "concurrent executions")
        Integer instances;

        @Option(names = "--intra-op-threads", paramLabel = "N", description = "ONNX Runtime threads per execution")
        Integer intraOpThreads;

        @Option(names = "--queue-capacity", paramLabel = "N", description = "inputs that may wait")
        Integer queueCapacity;

        @Option(names = "--deadline-ms", paramLabel = "MS", description = "how long a request may wait to start")
        Long deadlineMs;

        @Override
        void run(AtriumClient client, PrintWriter out) {
            String path = versionPath(reference);
            Map<String, Object> body = new LinkedHashMap<>();
            body.put("max_batch_size", maxBatchSize);
            body.put("max_batch_tokens", maxBatchTokens);
            body.put("max_queue_delay_us", maxQueueDelayUs);
            body.put("instances", instances);
            body.put("intra_op_threads", intraOpThreads);
            body.put("queue_capacity", queueCapacity);
            body.put("deadline_ms", deadlineMs);
            JsonNode version = client.putJson(path + "/scheduling", body).body();
            out.println(AtriumClient.pretty(version.path("scheduling")));
        }
    }

    @Command(name = "monitor", mixinStandardHelpOptions = true,
            description = "Show a version's monitoring (traffic, latency, units, output drift), or change its drift"
                    + " threshold, baseline and window sizes.")
    static final class Monitor extends ServerCommand {
        @Parameters(index = "0", paramLabel = "NAME:VERSION")
        String reference;

        @Option(names = "--threshold", paramLabel = "PSI", description = "the PSI above which the version drifts")
        Double threshold;

        @Option(names = "--baseline-size", paramLabel = "N", description = "outputs a baseline from requests counts")
        Integer baselineSize;

        @Option(names = "--window-size", paramLabel = "N", description = "latest outputs the recent window counts")
        Integer windowSize;

        @Option(names = "--reset-baseline", description = "take a new baseline from the next outputs")
        boolean resetBaseline;

        @Option(names = "--json", description = "print the whole monitoring view as JSON")
        boolean json;

        @Override
        void run(AtriumClient client, PrintWriter out) {
            String path = versionPath(reference) + "/monitoring";
            Map<String, Object> body = new LinkedHashMap<>();
            if (threshold != null) {
                body.put("threshold", threshold);
            }
            if (baselineSize != null) {
                body.put("baseline_size", baselineSize);
            }
            if (windowSize != null) {
                body.put("window_size", windowSize);
            }
            if (resetBaseline) {
                body.put("reset_baseline", true);
            }
            JsonNode view = body.isEmpty() ? client.get(path).body() : client.putJson(path, body).body();
            if (json) {
                out.println(AtriumClient.pretty(view));
                return;
            }
            out.printf("%s:%d (%s)%n", view.path("model").asString(), view.path("version").asInt(),
                    view.path("task").asString());
            for (JsonNode window : view.path("traffic")) {
                out.printf(java.util.Locale.ROOT, "  last %-3s %d calls, %d errors (rate %.4f), p50/p90/p99 %s/%s/%s"
                        + " ms%n", window.path("window").asString(), window.path("calls").asLong(),
                        window.path("errors").asLong(), window.path("error_rate").asDouble(),
                        window.path("p50_ms").asString("-"), window.path("p90_ms").asString("-"),
                        window.path("p99_ms").asString("-"));
            }
            JsonNode drift = view.path("drift");
            if (!drift.isObject()) {
                out.println("  outputs not monitored for this task");
                return;
            }
            JsonNode baseline = drift.path("baseline");
            out.printf(java.util.Locale.ROOT, "  baseline %s from %s, %d outputs; recent %d of %d%n",
                    baseline.path("state").asString(), baseline.path("source").asString(),
                    baseline.path("outputs").asLong(), drift.path("recent").path("outputs").asInt(),
                    drift.path("window_size").asInt());
            out.printf(java.util.Locale.ROOT, "  psi %s (threshold %s)%s%n", drift.path("psi").isNumber()
                    ? String.format(java.util.Locale.ROOT, "%.4f", drift.path("psi").asDouble()) : "-",
                    drift.path("threshold").asString(), drift.path("drifting").asBoolean() ? ": DRIFTING" : "");
        }
    }

    @Command(name = "residency", mixinStandardHelpOptions = true,
            description = "Set how a model's loaded versions are kept within the memory budget: pinned (never evicted"
                    + " for room) and their keep-alive; options left out: not pinned, the server's keep-alive.")
    static final class Residency extends ServerCommand {
        @Parameters(index = "0", paramLabel = "NAME")
        String name;

        @Option(names = "--pin", negatable = true, defaultValue = "false",
                description = "never evict the model's versions to make room (--no-pin: the budget may)")
        boolean pinned;

        @Option(names = "--keep-alive", paramLabel = "DURATION",
                description = "how long an idle version stays loaded: seconds, 90s, 5m or 2h; -1 for as long as the"
                        + " budget allows")
        String keepAlive;

        @Override
        void run(AtriumClient client, PrintWriter out) {
            Map<String, Object> body = new LinkedHashMap<>();
            body.put("pinned", pinned);
            if (keepAlive != null) {
                body.put("keep_alive", keepAlive.matches("-?[0-9]+") ? Long.valueOf(keepAlive) : keepAlive);
            }
            JsonNode set = client.putJson("/admin/models/" + name + "/residency", body).body();
            JsonNode seconds = set.path("keep_alive");
            out.printf("%s: %s, keep-alive %s%n", set.path("model").asString(), set.path("pinned").asBoolean()
                    ? "pinned" : "not pinned", seconds.isNull() ? "the server's" : seconds.asLong() < 0 ? "forever"
                    : seconds.asLong() + " s");
        }
    }

    @Command(name = "loaded", mixinStandardHelpOptions = true,
            description = "List the loaded versions: engine, memory measured at load, load time, last use, work in"
                    + " flight, pin and keep-alive.")
    static final class Loaded extends ServerCommand {
        @Override
        void run(AtriumClient client, PrintWriter out) {
            JsonNode loaded = client.get("/admin/loaded").body();
            out.printf("%-36s %-6s %9s %8s %-24s %8s %-6s %s%n", "VERSION", "ENGINE", "MIB", "LOAD_MS", "LAST_USED",
                    "IN_FLIGHT", "PINNED", "KEEP_ALIVE");
            for (JsonNode version : loaded.path("data")) {
                long keepAlive = version.path("keep_alive").asLong();
                out.printf("%-36s %-6s %9.1f %8d %-24s %8d %-6s %s%n", version.path("model").asString() + ":"
                        + version.path("version").asInt(), version.path("engine").asString(),
                        version.path("bytes").asLong() / 1048576.0, version.path("load_ms").asLong(),
                        version.path("last_used").asString(), version.path("in_flight").asInt(),
                        version.path("pinned").asBoolean() ? "yes" : "no", keepAlive < 0 ? "forever"
                                : keepAlive + "s");
            }
            JsonNode budget = loaded.path("budget_bytes");
            out.printf("loaded %.1f MiB of %s%n", loaded.path("loaded_bytes").asLong() / 1048576.0, budget.isNull()
                    ? "no budget" : String.format(java.util.Locale.ROOT, "a budget of %.1f MiB",
                            budget.asLong() / 1048576.0));
        }
    }

    @Command(name = "quantize", mixinStandardHelpOptions = true,
            description = "Make a new version of a float ONNX embedding model or text classifier with its weights in"
                    + " int8 (dynamic quantization), measured against the float version on a sample: size, speed and"
                    + " the cosine of their embeddings (or how often their labels agree), kept in its lineage.")
    static final class Quantize extends ServerCommand {
        @Parameters(index = "0", paramLabel = "NAME:VERSION", description = "the float version")
        String reference;

        @Option(names = "--alias", paramLabel = "ALIAS", description = "an alias to point at the new version")
        String alias;

        @Option(names = "--sample-file", paramLabel = "FILE",
                description = "the texts to compare on, one a line (default: the server's own varied sentences)")
        Path sampleFile;

        @Option(names = "--per-tensor", description = "one scale per weight, never one per output channel")
        boolean perTensor;

        @Override
        void run(AtriumClient client, PrintWriter out) {
            Map<String, Object> body = new LinkedHashMap<>();
            if (sampleFile != null) {
                java.util.List<String> lines;
                try {
                    lines = Files.readAllLines(sampleFile).stream().filter(line -> !line.isBlank()).toList();
                } catch (IOException e) {
                    throw new AtriumClient.ClientException("cannot read " + sampleFile + ": " + e.getMessage());
                }
                body.put("sample", lines);
            }
            if (perTensor) {
                body.put("per_channel", false);
            }
            if (alias != null) {
                body.put("alias", alias);
            }
            JsonNode version = client.postJson(versionPath(reference) + "/quantize", body).body();
            JsonNode lineage = version.path("lineage");
            JsonNode accuracy = lineage.path("accuracy");
            String measured = accuracy.path("metric").asString().equals("agreement")
                    ? String.format(java.util.Locale.ROOT, "label agreement %.4f",
                            accuracy.path("agreement").asDouble())
                    : String.format(java.util.Locale.ROOT, "cosine mean %.4f min %.4f",
                            accuracy.path("cosine_mean").asDouble(), accuracy.path("cosine_min").asDouble());
            out.printf("quantized %s to %s:%d (%d -> %d bytes, %s on %d texts, %.1f -> %.1f texts/s in process)%n",
                    reference, version.path("model").asString(), version.path("version").asInt(),
                    lineage.path("size_bytes").path("before").asLong(),
                    lineage.path("size_bytes").path("after").asLong(),
                    measured, accuracy.path("sample").asInt(), lineage.path("speed").path("before").asDouble(),
                    lineage.path("speed").path("after").asDouble());
        }
    }

    /** Downloads one file the server makes of a version: {@code /admin/models/NAME/versions/V/SUFFIX}. */
    abstract static class Download extends ServerCommand {
        @Parameters(index = "0", paramLabel = "NAME:VERSION")
        String reference;

        @Option(names = {"-o", "--output"}, paramLabel = "FILE", required = true, description = "the file to write")
        Path output;

        /** The path under the version, and what the file is, for the line printed. */
        abstract String suffix();

        abstract String what();

        @Override
        void run(AtriumClient client, PrintWriter out) {
            AtriumClient.Download download = client.download(versionPath(reference) + "/" + suffix(), output);
            out.printf("wrote %s%s to %s (%d bytes, sha256 %s)%n", what(), reference, download.file(),
                    download.sizeBytes(), download.sha256());
        }
    }

    @Command(name = "export-onnx", mixinStandardHelpOptions = true,
            description = "Download a version as one ONNX file: a composed text classifier merged with its embedding"
                    + " model (token ids in, probabilities out), any other ONNX version's model file as it is.")
    static final class ExportOnnx extends Download {
        @Override
        String suffix() {
            return "onnx";
        }

        @Override
        String what() {
            return "";
        }
    }

    @Command(name = "export", mixinStandardHelpOptions = true,
            description = "Download a version as a signed bundle for the edge: its files, config and manifest, signed"
                    + " with the server's key (check it with 'atrium bundle verify', serve it with 'atrium run').")
    static final class Export extends Download {
        @Override
        String suffix() {
            return "bundle";
        }

        @Override
        String what() {
            return "the bundle of ";
        }
    }

    @Command(name = "rm", mixinStandardHelpOptions = true,
            description = "Delete a model with all its versions, or one version as NAME:VERSION.")
    static final class Remove extends ServerCommand {
        @Parameters(index = "0", paramLabel = "NAME[:VERSION]")
        String reference;

        @Override
        void run(AtriumClient client, PrintWriter out) {
            int colon = reference.indexOf(':');
            if (colon < 0) {
                client.delete("/admin/models/" + reference);
            } else {
                client.delete("/admin/models/" + reference.substring(0, colon) + "/versions/"
                        + reference.substring(colon + 1));
            }
            out.println("deleted " + reference);
        }
    }
}
