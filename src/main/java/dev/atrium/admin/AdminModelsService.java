package dev.atrium.admin;

import static java.util.Objects.requireNonNull;

import dev.atrium.AtriumException;
import dev.atrium.ErrorCode;
import dev.atrium.audit.AuditTrail;
import dev.atrium.engine.ModelOptions;
import dev.atrium.engine.EngineKind;
import dev.atrium.engine.ModelTask;
import dev.atrium.engine.Pooling;
import dev.atrium.engine.RemoteMetadata;
import dev.atrium.gateway.Caller;
import dev.atrium.registry.ArtifactFile;
import dev.atrium.registry.Model;
import dev.atrium.registry.ModelRegistry;
import dev.atrium.registry.ModelScope;
import dev.atrium.registry.Split;
import dev.atrium.registry.ModelVersion;
import dev.atrium.registry.ResolvedModel;
import dev.atrium.registry.SignedFiles;
import dev.atrium.registry.StagedArtifact;
import dev.atrium.registry.VersionSignature;
import dev.atrium.scheduling.SchedulingOptions;
import dev.atrium.server.Json;
import dev.atrium.server.MultipartUpload;
import io.helidon.http.Status;
import io.helidon.webserver.http.HttpRules;
import io.helidon.webserver.http.HttpService;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import java.io.IOException;
import java.io.InputStream;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.apache.commons.fileupload2.core.FileItemInput;
import org.apache.commons.fileupload2.core.FileItemInputIterator;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;

/**
 * The management API for the model registry: models, versions (multipart upload, and export as one ONNX file),
 * aliases, load and unload.
 */
public final class AdminModelsService implements HttpService {
    private static final int MAX_CONFIG_BYTES = 64 * 1024;
    private static final int MAX_SIGNATURE_BYTES = 4 * 1024;
    private static final List<String> MODEL_FIELDS = List.of("name", "task", "engine", "description");
    private static final List<String> ALIAS_FIELDS = List.of("version", "split", "sticky");
    private static final Set<String> REMOTE_FIELDS = Set.of("base_url", "upstream_model", "api_key", "timeout_ms",
            "retry", "fallbacks", "context_length", "max_output_tokens");
    private static final Set<String> RETRY_FIELDS = Set.of("max_attempts", "initial_backoff_ms", "max_backoff_ms");
    private static final Set<String> SCHEDULING_FIELDS = Set.of("max_batch_size", "max_batch_tokens",
            "max_queue_delay_us", "instances", "intra_op_threads", "queue_capacity", "deadline_ms");
    private static final Set<String> CONFIG_FIELDS = java.util.stream.Stream.concat(Set.of("pooling", "normalize",
            "max_length", "output", "slots", "context_per_slot",
            // classifiers: their labels, which output holds the scores and how, and a composed one's embedding model
            "labels", "output_kind", "embedding_model",
            // image classifiers' decoding, resizing and normalization
            "preprocessing",
            // embedding models that embed queries and passages differently (e5)
            "prefixes", "default_input_type",
            // tabular models' feature schema ("labels" too)
            "features", "categorical_encoding", "task", "outputs",
            // transcription models' decoding and voice activity detection
            "num_beams", "length_penalty", "repetition_penalty", "vad").stream(), SCHEDULING_FIELDS.stream())
            .collect(java.util.stream.Collectors.toUnmodifiableSet());

    private final ModelRegistry registry;
    private final dev.atrium.rollout.Rollouts rollouts;
    private final long maxRequestBytes;
    private final long maxUploadBytes;
    private final UploadSigning signing;

    /**
     * @param rollouts which aliases have a rollout running (only it moves them)
     * @param signing the trusted publisher keys, and when an upload must be signed by one
     */
    public AdminModelsService(ModelRegistry registry, dev.atrium.rollout.Rollouts rollouts, long maxRequestBytes,
            long maxUploadBytes, UploadSigning signing) {
        this.registry = requireNonNull(registry, "registry is null");
        this.rollouts = requireNonNull(rollouts, "rollouts is null");
        this.maxRequestBytes = maxRequestBytes;
        this.maxUploadBytes = maxUploadBytes;
        this.signing = requireNonNull(signing, "signing is null");
    }

    @Override
    public void routing(HttpRules rules) {
        rules.post("/models", this::createModel)
                .get("/models", this::listModels)
                .get("/models/{name}", this::getModel)
                .delete("/models/{name}", this::deleteModel)
                .post("/models/{name}/versions", this::uploadVersion)
                .get("/models/{name}/versions", this::listVersions)
                .get("/models/{name}/versions/{version}", this::getVersion)
                .delete("/models/{name}/versions/{version}", this::deleteVersion)
                .get("/models/{name}/versions/{version}/onnx", this::exportOnnx)
                .get("/models/{name}/versions/{version}/files/{role}", this::versionFile)
                .post("/models/{name}/versions/{version}/load", this::loadVersion)
                .post("/models/{name}/versions/{version}/unload", this::unloadVersion)
                .put("/models/{name}/versions/{version}/scheduling", this::setScheduling)
                .put("/models/{name}/aliases/{alias}", this::setAlias)
                .delete("/models/{name}/aliases/{alias}", this::deleteAlias);
    }

    // ---- models -------------------------------------------------------------------------------------------------

    private void createModel(ServerRequest request, ServerResponse response) {
        Caller caller = Caller.current();
        caller.requireManages();
        JsonNode body = Json.readObject(request, maxRequestBytes);
        Json.rejectUnknownFields(body, MODEL_FIELDS, "a model");
        String name = AdminJson.requiredString(body, "name");
        String taskName = AdminJson.requiredString(body, "task");
        ModelTask task = ModelTask.fromWireName(taskName).orElseThrow(() -> AtriumException.invalidParam("task",
                "unknown task '" + taskName + "'; use embedding, tensor, chat or completion"));
        String engineName = AdminJson.optionalString(body, "engine").orElse(EngineKind.ONNX.wireName());
        EngineKind engine = EngineKind.fromWireName(engineName).orElseThrow(() -> AtriumException.invalidParam(
                "engine", "unknown engine '" + engineName + "'; use onnx, llama or remote"));
        String description = AdminJson.optionalString(body, "description").orElse("");
        Model model = registry.createModel(caller.modelScope(), name, task, engine, description);
        AuditTrail.note("model.create", model.name(), caller.key().tenantId());
        response.header("Location", "/admin/models/" + model.name());
        Json.send(response, Status.CREATED_201, AdminModelView.model(model, List.of(), Map.of()));
    }

    private void listModels(ServerRequest request, ServerResponse response) {
        List<AdminModelView.ModelView> models = registry.listModels(Caller.current().modelScope()).stream()
                .map(model -> AdminModelView.model(model, registry.listVersions(model), registry.aliases(model)))
                .toList();
        Json.send(response, Status.OK_200, new AdminModelView.ModelListView(models));
    }

    private void getModel(ServerRequest request, ServerResponse response) {
        Model model = registry.model(Caller.current().modelScope(), name(request));
        Json.send(response, Status.OK_200, AdminModelView.model(model, registry.listVersions(model),
                registry.aliases(model), splits(model)));
    }

    /** The model's aliases that split their traffic. */
    private Map<String, AdminModelView.AliasView> splits(Model model) {
        Map<String, AdminModelView.AliasView> splits = new java.util.LinkedHashMap<>();
        registry.aliases(model).forEach((alias, version) -> registry.split(model, alias).ifPresent(split ->
                splits.put(alias, AdminModelView.alias(model.name(), alias, version, java.util.Optional.of(split)))));
        return splits;
    }

    private void deleteModel(ServerRequest request, ServerResponse response) {
        Caller caller = Caller.current();
        caller.requireManages();
        AuditTrail.note("model.delete", name(request), caller.key().tenantId());
        registry.deleteModel(caller.modelScope(), name(request));
        Json.noContent(response);
    }

    // ---- versions -----------------------------------------------------------------------------------------------

    private void uploadVersion(ServerRequest request, ServerResponse response) {
        String name = name(request);
        Caller caller = Caller.current();
        caller.requireManages();
        AuditTrail.note("version.create", name, caller.key().tenantId());
        Model model = registry.model(caller.modelScope(), name);
        if (model.engine() == EngineKind.REMOTE) {
            remoteVersion(request, response, caller, name);
            return;
        }
        if (!Json.mediaType(request).orElse("").equals("multipart/form-data")) {
            throw new AtriumException(ErrorCode.UNSUPPORTED_MEDIA_TYPE, "upload a version as multipart/form-data"
                    + " with a part named 'onnx' (and optionally 'tokenizer' and 'config')");
        }
        if (request.headers().contentLength().orElse(-1) > maxUploadBytes) {
            throw new AtriumException(ErrorCode.PAYLOAD_TOO_LARGE, "the upload is larger than the limit of "
                    + maxUploadBytes + " bytes");
        }
        Map<String, StagedArtifact> staged = new LinkedHashMap<>();
        String config = "{}";
        String configSha256 = SignedFiles.NONE;
        ModelOptions options = ModelOptions.none();
        SchedulingOptions scheduling = SchedulingOptions.none();
        boolean sawConfig = false;
        JsonNode signature = null;
        VersionSignature verified;
        try {
            FileItemInputIterator parts = MultipartUpload.parts(request);
            long budget = maxUploadBytes;
            while (parts.hasNext()) {
                FileItemInput part = parts.next();
                String field = part.getFieldName() == null ? "" : part.getFieldName();
                switch (field) {
                    case ArtifactFile.ONNX, ArtifactFile.GGUF, ArtifactFile.TOKENIZER, ArtifactFile.VAD -> {
                        if (staged.containsKey(field)) {
                            throw AtriumException.invalidParam(field, "the upload has more than one '" + field + "' part");
                        }
                        try (InputStream in = part.getInputStream()) {
                            StagedArtifact file = registry.artifacts().stage(in, budget);
                            staged.put(field, file);
                            budget -= file.sizeBytes();
                        }
                    }
                    case "config" -> {
                        if (sawConfig) {
                            throw AtriumException.invalidParam("config", "the upload has more than one 'config' part");
                        }
                        sawConfig = true;
                        byte[] bytes;
                        try (InputStream in = part.getInputStream()) {
                            bytes = in.readNBytes(MAX_CONFIG_BYTES + 1);
                        }
                        if (bytes.length > MAX_CONFIG_BYTES) {
                            throw AtriumException.invalidParam("config", "the 'config' part is larger than 64 KiB");
                        }
                        configSha256 = UploadSigning.sha256(bytes);
                        JsonNode node = parseConfig(bytes);
                        options = embeddingOptions(node);
                        scheduling = scheduling(node, "config");
                        config = Json.MAPPER.writeValueAsString(node);
                    }
                    case UploadSigning.PART -> {
                        if (signature != null) {
                            throw AtriumException.invalidParam(UploadSigning.PART,
                                    "the upload has more than one 'signature' part");
                        }
                        byte[] bytes;
                        try (InputStream in = part.getInputStream()) {
                            bytes = in.readNBytes(MAX_SIGNATURE_BYTES + 1);
                        }
                        signature = UploadSigning.parse(bytes, MAX_SIGNATURE_BYTES);
                    }
                    default -> throw AtriumException.invalidParam(field, "unknown part '" + field
                            + "'; the parts are onnx or gguf, tokenizer, vad (transcription models), config and"
                            + " signature");
                }
            }
            if (!staged.containsKey(ArtifactFile.ONNX) && !staged.containsKey(ArtifactFile.GGUF)) {
                throw AtriumException.invalidParam(ArtifactFile.ONNX,
                        "the upload needs a part named 'onnx' (or 'gguf') with the model file");
            }
            verified = signing.check(registry.manageable(caller.modelScope(), name), staged, configSha256, signature);
        } catch (IOException | RuntimeException e) {
            discard(staged);
            if (e instanceof AtriumException atrium) {
                throw atrium;
            }
            throw new AtriumException(ErrorCode.INVALID_REQUEST,
                    "the multipart body is malformed or was cut off before it ended");
        }
        ModelVersion version = registry.addVersion(caller.modelScope(), name, staged, options, config, scheduling,
                verified);
        // a signed upload is its own action, so the audit log tells signed versions apart (the registry says by whom)
        AuditTrail.note(verified == null ? "version.create" : "version.create.signed", name + ":" + version.version(),
                caller.key().tenantId());
        response.header("Location", "/admin/models/" + name + "/versions/" + version.version());
        Json.send(response, Status.CREATED_201, AdminModelView.version(version,
                registry.aliases(registry.model(caller.modelScope(), name)), false, null, verified));
    }

    /**
     * A version of a remote model, from a JSON body: where it points (on the allowlist), the upstream's API key
     * (sealed in the store, never shown again), its timeout, retry policy and fallbacks.
     */
    private void remoteVersion(ServerRequest request, ServerResponse response, Caller caller, String name) {
        JsonNode body = Json.readObject(request, maxRequestBytes);
        Json.rejectUnknownFields(body, REMOTE_FIELDS, "a remote version");
        JsonNode retry = body.path("retry");
        if (body.has("retry") && !retry.isObject()) {
            throw AtriumException.invalidParam("retry", "'retry' must be an object");
        }
        Json.rejectUnknownFields(retry, RETRY_FIELDS, "the 'retry' object");
        String apiKey = AdminJson.optionalString(body, "api_key").orElse(null);
        if (apiKey != null && (apiKey.isBlank() || apiKey.length() > 4096 || apiKey.chars().anyMatch(c -> c < 0x21 || c > 0x7e))) {
            throw AtriumException.invalidParam("api_key", "'api_key' must be 1 to 4096 visible ASCII characters");
        }
        String upstreamModel = AdminJson.requiredString(body, "upstream_model");
        if (upstreamModel.isBlank() || upstreamModel.length() > 256) {
            throw AtriumException.invalidParam("upstream_model", "'upstream_model' must be 1 to 256 characters");
        }
        List<String> fallbacks = AdminJson.strings(body, "fallbacks");
        if (fallbacks.size() > 8) {
            throw AtriumException.invalidParam("fallbacks", "a model has at most 8 fallbacks");
        }
        long initialBackoff = bounded(retry, "initial_backoff_ms", 250, 0, 60_000);
        RemoteMetadata requested = new RemoteMetadata(
                AdminJson.requiredString(body, "base_url"),
                upstreamModel,
                bounded(body, "timeout_ms", 60_000, 1, 600_000),
                (int) bounded(retry, "max_attempts", 3, 1, 10),
                initialBackoff,
                bounded(retry, "max_backoff_ms", Math.max(8_000, initialBackoff), initialBackoff, 300_000),
                fallbacks,
                (int) bounded(body, "context_length", 0, 0, 10_000_000),
                (int) bounded(body, "max_output_tokens", 4096, 1, 10_000_000),
                apiKey != null);
        ModelVersion version = registry.addRemoteVersion(caller.modelScope(), name, requested, apiKey, "{}");
        AuditTrail.note("version.create", name + ":" + version.version(), caller.key().tenantId());
        response.header("Location", "/admin/models/" + name + "/versions/" + version.version());
        Json.send(response, Status.CREATED_201, AdminModelView.version(version,
                registry.aliases(registry.model(caller.modelScope(), name)), true));
    }

    /** An optional integer field within bounds, or its default. */
    private static long bounded(JsonNode body, String field, long fallback, long min, long max) {
        JsonNode node = body.get(field);
        if (node == null || node.isNull()) {
            return fallback;
        }
        if (!node.isIntegralNumber() || !node.canConvertToLong() || node.longValue() < min || node.longValue() > max) {
            throw AtriumException.invalidParam(field, "'" + field + "' must be an integer from " + min + " to " + max);
        }
        return node.longValue();
    }

    private void discard(Map<String, StagedArtifact> staged) {
        staged.values().forEach(file -> registry.artifacts().discard(file.path()));
    }

    static JsonNode parseConfig(byte[] bytes) {
        JsonNode node;
        try {
            node = Json.MAPPER.readTree(bytes);
        } catch (JacksonException e) {
            throw AtriumException.invalidParam("config", "the 'config' part is not valid JSON: " + Json.describe(e));
        }
        if (node == null || !node.isObject()) {
            throw AtriumException.invalidParam("config", "the 'config' part must be a JSON object");
        }
        Json.unknownField(node, CONFIG_FIELDS).ifPresent(field -> {
            // named by the part, since the field is inside it
            throw AtriumException.invalidParam("config", "unknown config field '" + field + "'; the fields are "
                    + String.join(", ", CONFIG_FIELDS.stream().sorted().toList()));
        });
        return node;
    }

    /** The options of a version's config (checked at its upload). */
    static ModelOptions embeddingOptions(JsonNode config) {
        Optional<Pooling> pooling = AdminJson.optionalString(config, "pooling").map(text -> Pooling.fromWireName(text)
                .orElseThrow(() -> AtriumException.invalidParam("config", "pooling must be mean, cls, last_token or none")));
        JsonNode normalize = config.get("normalize");
        if (normalize != null && !normalize.isBoolean()) {
            throw AtriumException.invalidParam("config", "normalize must be true or false");
        }
        JsonNode maxLength = config.get("max_length");
        if (maxLength != null && (!maxLength.isIntegralNumber() || !maxLength.canConvertToInt() || maxLength.intValue() < 2)) {
            throw AtriumException.invalidParam("config", "max_length must be an integer of at least 2");
        }
        return new ModelOptions(pooling,
                Optional.ofNullable(normalize).map(JsonNode::booleanValue),
                Optional.ofNullable(maxLength).map(JsonNode::intValue),
                AdminJson.optionalString(config, "output"),
                Optional.ofNullable(AdminJson.positiveInteger(config, "slots")),
                Optional.ofNullable(AdminJson.positiveInteger(config, "context_per_slot")),
                config);
    }

    private void listVersions(ServerRequest request, ServerResponse response) {
        Model model = registry.model(Caller.current().modelScope(), name(request));
        Map<String, Integer> aliases = registry.aliases(model);
        List<AdminModelView.VersionView> versions = registry.listVersions(model).stream()
                .map(version -> AdminModelView.version(version, aliases, registry.isLoaded(model, version.version()),
                        registry.lineage(version).orElse(null), registry.signature(version).orElse(null)))
                .toList();
        Json.send(response, Status.OK_200, new AdminModelView.VersionListView(versions));
    }

    private void getVersion(ServerRequest request, ServerResponse response) {
        ModelScope scope = Caller.current().modelScope();
        ModelVersion version = registry.version(scope, name(request), versionNumber(request));
        Model model = registry.model(scope, name(request));
        Json.send(response, Status.OK_200, AdminModelView.version(version, registry.aliases(model),
                registry.isLoaded(model, version.version()), registry.lineage(version).orElse(null),
                registry.signature(version).orElse(null)));
    }

    /**
     * One file of a version as it was uploaded ({@code onnx}, {@code tokenizer}, {@code vad}), checked against its
     * sha256 on the way out: the tokenizer a merged ONNX export needs, say. Whoever may read the version may.
     */
    private void versionFile(ServerRequest request, ServerResponse response) {
        String name = name(request);
        String role = request.path().pathParameters().get("role");
        ModelVersion version = registry.version(Caller.current().modelScope(), name, versionNumber(request));
        ArtifactFile file = version.file(role).orElseThrow(() -> AtriumException.withParam(
                dev.atrium.ErrorCode.NOT_FOUND, "role", "version " + version.version() + " of model '" + name
                        + "' has no " + role + " file; it has " + String.join(", ", version.files().stream()
                                .map(ArtifactFile::role).toList())));
        java.nio.file.Path path = registry.artifacts().path(file);
        String extension = role.equals(ArtifactFile.TOKENIZER) ? ".json" : role.equals(ArtifactFile.ONNX)
                || role.equals(ArtifactFile.VAD) ? ".onnx" : ".gguf";
        response.status(Status.OK_200);
        response.header(io.helidon.http.HeaderNames.CONTENT_TYPE, role.equals(ArtifactFile.TOKENIZER)
                ? "application/json" : "application/octet-stream");
        response.header(io.helidon.http.HeaderNames.CONTENT_DISPOSITION, "attachment; filename=\"" + name + "-"
                + version.version() + "-" + role + extension + "\"");
        response.header(io.helidon.http.HeaderNames.CONTENT_LENGTH, Long.toString(file.sizeBytes()));
        response.header("x-atrium-sha256", file.sha256());
        try (java.io.InputStream in = java.nio.file.Files.newInputStream(path);
                java.io.OutputStream out = response.outputStream()) {
            in.transferTo(out);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /** The version as one ONNX file (see {@link OnnxExport}); whoever may read the version may export it. */
    private void exportOnnx(ServerRequest request, ServerResponse response) {
        OnnxExport.send(registry, Caller.current().modelScope(), name(request), versionNumber(request), response);
    }

    private void deleteVersion(ServerRequest request, ServerResponse response) {
        Caller caller = Caller.current();
        caller.requireManages();
        AuditTrail.note("version.delete", name(request) + ":" + request.path().pathParameters().get("version"),
                caller.key().tenantId());
        registry.deleteVersion(caller.modelScope(), name(request), versionNumber(request));
        Json.noContent(response);
    }

    private void loadVersion(ServerRequest request, ServerResponse response) {
        Caller caller = Caller.current();
        caller.requireManages();
        AuditTrail.note("version.load", name(request) + ":" + request.path().pathParameters().get("version"),
                caller.key().tenantId());
        ResolvedModel resolved = registry.manageableVersion(caller.modelScope(), name(request), versionNumber(request));
        registry.engine(resolved.model()).load(resolved.deployment());
        Json.send(response, Status.OK_200, AdminModelView.version(resolved.version(),
                registry.aliases(resolved.model()), registry.engine(resolved.model()).isLoaded(resolved.deployment().key())));
    }

    private void unloadVersion(ServerRequest request, ServerResponse response) {
        Caller caller = Caller.current();
        caller.requireManages();
        AuditTrail.note("version.unload", name(request) + ":" + request.path().pathParameters().get("version"),
                caller.key().tenantId());
        ResolvedModel resolved = registry.manageableVersion(caller.modelScope(), name(request), versionNumber(request));
        registry.engine(resolved.model()).unload(resolved.deployment().key());
        Json.send(response, Status.OK_200, AdminModelView.version(resolved.version(),
                registry.aliases(resolved.model()), registry.engine(resolved.model()).isLoaded(resolved.deployment().key())));
    }

    /** Replaces how a version is scheduled: fields left out take the server's defaults. */
    private void setScheduling(ServerRequest request, ServerResponse response) {
        Caller caller = Caller.current();
        caller.requireManages();
        AuditTrail.note("version.schedule", name(request) + ":" + request.path().pathParameters().get("version"),
                caller.key().tenantId());
        JsonNode body = Json.readObject(request, maxRequestBytes);
        Json.rejectUnknownFields(body, SCHEDULING_FIELDS, "a version's scheduling");
        ModelVersion version = registry.setScheduling(caller.modelScope(), name(request), versionNumber(request),
                scheduling(body, null));
        Model model = registry.model(caller.modelScope(), name(request));
        Json.send(response, Status.OK_200, AdminModelView.version(version, registry.aliases(model),
                registry.isLoaded(model, version.version())));
    }

    /** The scheduling fields of a JSON object; each refusal names the field (or the part that holds it). */
    static SchedulingOptions scheduling(JsonNode node, String part) {
        try {
            return new SchedulingOptions(integer(node, "max_batch_size", part), integer(node, "max_batch_tokens", part),
                    longValue(node, "max_queue_delay_us", part), integer(node, "instances", part),
                    integer(node, "intra_op_threads", part), integer(node, "queue_capacity", part),
                    longValue(node, "deadline_ms", part));
        } catch (IllegalArgumentException e) {
            throw AtriumException.invalidParam(part != null ? part : e.getMessage().split(" ")[0], e.getMessage());
        }
    }

    private static Integer integer(JsonNode node, String field, String part) {
        Long value = longValue(node, field, part);
        if (value != null && (value > Integer.MAX_VALUE || value < Integer.MIN_VALUE)) {
            throw AtriumException.invalidParam(part != null ? part : field, "'" + field + "' is too large");
        }
        return value == null ? null : value.intValue();
    }

    private static Long longValue(JsonNode node, String field, String part) {
        JsonNode value = node.get(field);
        if (value == null || value.isNull()) {
            return null;
        }
        if (!value.isIntegralNumber() || !value.canConvertToLong()) {
            throw AtriumException.invalidParam(part != null ? part : field, "'" + field + "' must be an integer");
        }
        return value.longValue();
    }

    // ---- aliases ------------------------------------------------------------------------------------------------

    private void setAlias(ServerRequest request, ServerResponse response) {
        String name = name(request);
        String alias = request.path().pathParameters().get("alias");
        Caller caller = Caller.current();
        caller.requireManages();
        AuditTrail.note("alias.set", name + ":" + alias, caller.key().tenantId());
        JsonNode body = Json.readObject(request, maxRequestBytes);
        Json.rejectUnknownFields(body, ALIAS_FIELDS, "an alias");
        JsonNode version = body.get("version");
        JsonNode split = body.get("split");
        Split.Sticky sticky = Json.optionalString(body, "sticky").map(Split.Sticky::fromWireName)
                .orElse(Split.Sticky.NONE);
        if ((version == null) == (split == null)) {
            throw AtriumException.invalidParam("version", "an alias takes a 'version', or a 'split' of versions to"
                    + " weights ({\"2\": 90, \"3\": 10}), not both");
        }
        refuseDuringRollout(caller, name, alias);
        if (version != null) {
            if (!version.isIntegralNumber() || !version.canConvertToInt() || version.intValue() < 1) {
                throw AtriumException.invalidParam("version", "'version' must be a version number");
            }
            registry.setAlias(caller.modelScope(), name, alias, version.intValue());
        } else {
            if (!split.isObject() || split.isEmpty()) {
                throw AtriumException.invalidParam("split", "'split' is an object of version numbers to weights,"
                        + " e.g. {\"2\": 90, \"3\": 10}");
            }
            Map<Integer, Integer> weights = new java.util.TreeMap<>();
            for (Map.Entry<String, JsonNode> entry : split.properties()) {
                int number;
                try {
                    number = Integer.parseInt(entry.getKey());
                } catch (NumberFormatException e) {
                    number = 0;
                }
                JsonNode weight = entry.getValue();
                if (number < 1 || !weight.isIntegralNumber() || !weight.canConvertToInt()) {
                    throw AtriumException.invalidParam("split", "'split' maps version numbers to integer weights;"
                            + " '" + entry.getKey() + "' is not one");
                }
                weights.put(number, weight.intValue());
            }
            registry.setSplit(caller.modelScope(), name, alias, weights, sticky);
        }
        Model model = registry.model(caller.modelScope(), name);
        Json.send(response, Status.OK_200, AdminModelView.alias(name, alias, registry.aliases(model).get(alias),
                registry.split(model, alias)));
    }

    private void deleteAlias(ServerRequest request, ServerResponse response) {
        Caller caller = Caller.current();
        caller.requireManages();
        String alias = request.path().pathParameters().get("alias");
        AuditTrail.note("alias.delete", name(request) + ":" + alias, caller.key().tenantId());
        refuseDuringRollout(caller, name(request), alias);
        registry.deleteAlias(caller.modelScope(), name(request), alias);
        Json.noContent(response);
    }

    private void refuseDuringRollout(Caller caller, String name, String alias) {
        if (rollouts.isRunning(registry.model(caller.modelScope(), name), alias)) {
            throw new AtriumException(ErrorCode.CONFLICT, "alias '" + name + ":" + alias + "' has a rollout running;"
                    + " promote or abort it (POST /admin/models/" + name + "/aliases/" + alias + "/rollout/promote or"
                    + " /abort) before moving it");
        }
    }

    // ---- request fields -----------------------------------------------------------------------------------------

    private static String name(ServerRequest request) {
        return request.path().pathParameters().get("name");
    }

    static int versionNumber(ServerRequest request) {
        String text = request.path().pathParameters().get("version");
        if (text.isEmpty() || text.length() > 9 || !text.chars().allMatch(Character::isDigit)) {
            throw new AtriumException(ErrorCode.NOT_FOUND, "'" + text + "' is not a version number");
        }
        return Integer.parseInt(text);
    }
}
