package dev.atrium.v2;

import static java.util.Objects.requireNonNull;

import dev.atrium.AtriumException;
import dev.atrium.ErrorCode;
import dev.atrium.engine.InferenceRequest;
import dev.atrium.engine.InferenceResult;
import dev.atrium.engine.Tensor;
import dev.atrium.engine.TensorSpec;
import dev.atrium.registry.Model;
import dev.atrium.registry.ModelReference;
import dev.atrium.gateway.Caller;
import dev.atrium.gateway.Metered;
import dev.atrium.registry.ModelRegistry;
import dev.atrium.registry.ModelScope;
import dev.atrium.registry.ModelVersion;
import dev.atrium.registry.ResolvedModel;
import dev.atrium.server.Json;
import dev.atrium.server.Lifecycle;
import dev.atrium.serving.Serving;
import io.helidon.http.HeaderName;
import io.helidon.http.HeaderNames;
import io.helidon.http.Status;
import io.helidon.webserver.http.HttpRules;
import io.helidon.webserver.http.HttpService;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.List;
import tools.jackson.core.JsonGenerator;
import tools.jackson.databind.JsonNode;

/**
 * The Open Inference Protocol v2 over REST (KServe, Triton): server and model health, model metadata, and
 * infer with JSON tensors. Model names in paths may carry a version or alias ({@code name:production}).
 */
public final class V2Service implements HttpService {
    /** The top-level fields of an infer request, as the protocol defines them. */
    private static final List<String> INFER_FIELDS = List.of("id", "parameters", "inputs", "outputs");

    private final ModelRegistry registry;
    private static final HeaderName MODEL_VERSION = HeaderNames.create("x-atrium-model-version");

    private final Serving serving;
    private final Lifecycle lifecycle;
    private final java.util.function.BooleanSupplier storeReachable;
    private final long maxRequestBytes;
    private final String serverVersion;

    /** @param storeReachable whether the store can be reached and takes writes now (readiness needs it) */
    public V2Service(ModelRegistry registry, Serving serving, Lifecycle lifecycle, long maxRequestBytes,
            String serverVersion, java.util.function.BooleanSupplier storeReachable) {
        this.storeReachable = requireNonNull(storeReachable, "storeReachable is null");
        this.registry = requireNonNull(registry, "registry is null");
        this.serving = requireNonNull(serving, "serving is null");
        this.lifecycle = requireNonNull(lifecycle, "lifecycle is null");
        this.maxRequestBytes = maxRequestBytes;
        this.serverVersion = requireNonNull(serverVersion, "serverVersion is null");
    }

    record ServerMetadata(String name, String version, List<String> extensions) {}

    record Live(boolean live) {}

    record Ready(boolean ready) {}

    record ModelReady(String name, String version, boolean ready) {}

    /**
     * The protocol's metadata, with Atrium's {@code parameters}: the model's task and, for a classifier, its labels
     * in the order of its scores. An image classifier also takes its input as encoded images (a BYTES tensor).
     */
    record ModelMetadataResponse(String name, List<String> versions, String platform, List<TensorSpec> inputs,
            List<TensorSpec> outputs, Parameters parameters) {}

    @com.fasterxml.jackson.annotation.JsonInclude(com.fasterxml.jackson.annotation.JsonInclude.Include.NON_NULL)
    record Parameters(String task, List<String> labels) {}

    @Override
    public void routing(HttpRules rules) {
        rules.get("/", (request, response) -> Json.send(response, Status.OK_200,
                        new ServerMetadata("atrium", serverVersion, List.of("binary_tensor_data"))))
                .get("/health/live", (request, response) -> Json.send(response, Status.OK_200, new Live(true)))
                .get("/health/ready", this::serverReady)
                .get("/models/{model}", this::metadata)
                .get("/models/{model}/versions/{version}", this::metadata)
                .get("/models/{model}/ready", this::modelReady)
                .get("/models/{model}/versions/{version}/ready", this::modelReady)
                .post("/models/{model}/infer", this::infer)
                .post("/models/{model}/versions/{version}/infer", this::infer);
    }

    /** Ready: started, not draining, the store reachable, and no model stalled with requests waiting. */
    private void serverReady(ServerRequest request, ServerResponse response) {
        boolean ready = lifecycle.isReady() && storeReachable.getAsBoolean() && !registry.anyEngineStalled();
        Json.send(response, ready ? Status.OK_200 : Status.SERVICE_UNAVAILABLE_503, new Ready(ready));
    }

    /** The model named by the path: {@code /models/{model}} (a reference) or {@code .../versions/{version}}. */
    private ResolvedModel resolve(ServerRequest request) {
        ModelScope scope = Caller.current().modelScope();
        String model = request.path().pathParameters().get("model");
        var version = request.path().pathParameters().first("version");
        if (version.isEmpty()) {
            return registry.resolve(scope, model);
        }
        if (model.contains(":")) {
            throw AtriumException.withParam(ErrorCode.MODEL_NOT_FOUND, "model",
                    "give a version either in the name or in /versions/, not both");
        }
        String text = version.get();
        if (text.isEmpty() || text.length() > 9 || !text.chars().allMatch(Character::isDigit)) {
            throw new AtriumException(ErrorCode.MODEL_NOT_FOUND, "model '" + model + "' has no version '" + text + "'");
        }
        return registry.resolve(scope, ModelReference.parse(model + ":" + Integer.parseInt(text)));
    }

    private void metadata(ServerRequest request, ServerResponse response) {
        ResolvedModel resolved = resolve(request);
        Model model = resolved.model();
        List<String> versions = registry.listVersions(model).stream()
                .map(ModelVersion::version).map(String::valueOf).toList();
        Json.send(response, Status.OK_200, new ModelMetadataResponse(model.name(), versions, model.engine().platform(),
                resolved.version().metadata().inputs(), resolved.version().metadata().outputs(),
                new Parameters(model.task().wireName(), resolved.version().metadata().labels().isEmpty() ? null
                        : resolved.version().metadata().labels())));
    }

    /**
     * Ready means loaded and making progress: asking loads the version (so readiness probes also warm it up); a
     * version whose engine has work waiting and has produced nothing for a while answers 503, not ready.
     */
    private void modelReady(ServerRequest request, ServerResponse response) {
        ResolvedModel resolved = resolve(request);
        var engine = registry.engine(resolved.model());
        engine.load(resolved.deployment());
        boolean ready = !engine.isStalled(resolved.deployment().key());
        Json.send(response, ready ? Status.OK_200 : Status.SERVICE_UNAVAILABLE_503, new ModelReady(
                resolved.model().name(), Integer.toString(resolved.version().version()), ready));
    }

    private void infer(ServerRequest request, ServerResponse response) {
        Caller caller = Caller.current();
        caller.requireCallsModels();
        ResolvedModel resolved = resolve(request);
        // the binary tensor data extension: the JSON object, then the tensors' raw bytes
        java.util.Optional<String> headerLength = request.headers().first(INFERENCE_HEADER_LENGTH);
        JsonNode body;
        java.nio.ByteBuffer binary;
        if (headerLength.isPresent()) {
            byte[] whole = Json.readBody(request, maxRequestBytes);
            long jsonLength;
            try {
                jsonLength = Long.parseLong(headerLength.get().strip());
            } catch (NumberFormatException e) {
                jsonLength = -1;
            }
            if (jsonLength < 1 || jsonLength > whole.length) {
                throw AtriumException.invalidParam("inputs", "Inference-Header-Content-Length is " + headerLength.get()
                        + ", but the body has " + whole.length + " bytes");
            }
            try {
                body = Json.MAPPER.readTree(new java.io.ByteArrayInputStream(whole, 0, (int) jsonLength));
            } catch (tools.jackson.core.JacksonException e) {
                throw new AtriumException(ErrorCode.INVALID_JSON, "the request's JSON is not valid: "
                        + Json.describe(e));
            }
            if (body == null || !body.isObject()) {
                throw new AtriumException(ErrorCode.INVALID_JSON, "the request's JSON must be an object");
            }
            binary = java.nio.ByteBuffer.wrap(whole, (int) jsonLength, whole.length - (int) jsonLength).slice();
        } else {
            body = Json.readObject(request, maxRequestBytes);
            binary = java.nio.ByteBuffer.allocate(0);
        }
        InferenceRequest inference = parseInfer(body, binary);
        if (binary.hasRemaining()) {
            throw AtriumException.invalidParam("inputs", binary.remaining() + " bytes of binary data are left over"
                    + " after the inputs that claim theirs");
        }
        java.util.Set<String> binaryOutputs = binaryOutputs(body);
        Serving.Inferred inferred = serving.infer(caller, resolved, inference);
        InferenceResult result = inferred.result();
        Metered.alertHeaders(response, inferred.alerts());
        response.header(MODEL_VERSION, Integer.toString(resolved.version().version()));

        ByteArrayOutputStream out = new ByteArrayOutputStream(1024);
        List<byte[]> binaryParts = new ArrayList<>();
        try (JsonGenerator json = Json.MAPPER.createGenerator(out)) {
            json.writeStartObject();
            json.writeStringProperty("model_name", resolved.model().name());
            json.writeStringProperty("model_version", Integer.toString(resolved.version().version()));
            JsonNode id = body.get("id");
            if (id != null && id.isString()) {
                json.writeStringProperty("id", id.stringValue());
            }
            json.writeArrayPropertyStart("outputs");
            for (Tensor tensor : result.outputs()) {
                if (binaryOutputs.contains(tensor.name()) || binaryOutputs.contains("")) {
                    byte[] bytes = V2BinaryData.write(tensor);
                    binaryParts.add(bytes);
                    V2TensorCodec.writeBinary(json, tensor, bytes.length);
                } else {
                    V2TensorCodec.write(json, tensor);
                }
            }
            json.writeEndArray();
            json.writeEndObject();
        }
        if (binaryParts.isEmpty()) {
            Json.send(response, Status.OK_200, out.toByteArray());
            return;
        }
        response.header(INFERENCE_HEADER_LENGTH, Integer.toString(out.size()));
        binaryParts.forEach(out::writeBytes);
        response.status(Status.OK_200);
        response.header(io.helidon.http.HeaderNames.CONTENT_TYPE, "application/octet-stream");
        response.send(out.toByteArray());
    }

    /** The extension's header: how many bytes of the body are its JSON object. */
    private static final io.helidon.http.HeaderName INFERENCE_HEADER_LENGTH =
            io.helidon.http.HeaderNames.create("Inference-Header-Content-Length");

    /**
     * The outputs asked for as binary data: by an output's {@code binary_data} parameter, or all of them ("") by
     * the request's {@code binary_data_output}.
     */
    private static java.util.Set<String> binaryOutputs(JsonNode body) {
        java.util.Set<String> names = new java.util.HashSet<>();
        if (body.path("parameters").path("binary_data_output").asBoolean(false)) {
            names.add("");
        }
        for (JsonNode output : body.path("outputs")) {
            if (output.path("parameters").path("binary_data").asBoolean(false)) {
                names.add(output.path("name").asString(""));
            }
        }
        return names;
    }

    static InferenceRequest parseInfer(JsonNode body) {
        return parseInfer(body, java.nio.ByteBuffer.allocate(0));
    }

    static InferenceRequest parseInfer(JsonNode body, java.nio.ByteBuffer binary) {
        Json.rejectUnknownFields(body, INFER_FIELDS, "an infer request");
        JsonNode id = body.get("id");
        if (id != null && !id.isNull() && !id.isString()) {
            throw AtriumException.invalidParam("id", "'id' must be a string");
        }
        JsonNode parameters = body.get("parameters");
        if (parameters != null && !parameters.isNull() && !parameters.isObject()) {
            throw AtriumException.invalidParam("parameters", "'parameters' must be an object");
        }
        JsonNode inputs = body.get("inputs");
        if (inputs == null || !inputs.isArray() || inputs.isEmpty()) {
            throw AtriumException.invalidParam("inputs", "'inputs' must be a non-empty array of tensors");
        }
        List<Tensor> tensors = new ArrayList<>(inputs.size());
        for (int i = 0; i < inputs.size(); i++) {
            tensors.add(V2TensorCodec.parse(inputs.get(i), i, binary));
        }
        List<String> outputs = new ArrayList<>();
        JsonNode requested = body.get("outputs");
        if (requested != null && !requested.isNull()) {
            if (!requested.isArray()) {
                throw AtriumException.invalidParam("outputs", "'outputs' must be an array of {\"name\": ...} objects");
            }
            for (JsonNode output : requested) {
                JsonNode name = output.get("name");
                if (!output.isObject() || name == null || !name.isString()) {
                    throw AtriumException.invalidParam("outputs", "each of 'outputs' needs a 'name' string");
                }
                if (outputs.contains(name.stringValue())) {
                    throw AtriumException.invalidParam("outputs", "output '" + name.stringValue() + "' is asked for twice");
                }
                outputs.add(name.stringValue());
            }
        }
        return new InferenceRequest(tensors, outputs);
    }
}
