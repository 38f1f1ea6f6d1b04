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
    private final long maxRequestBytes;
    private final String serverVersion;

    public V2Service(ModelRegistry registry, Serving serving, Lifecycle lifecycle, long maxRequestBytes,
            String serverVersion) {
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
                        new ServerMetadata("atrium", serverVersion, List.of())))
                .get("/health/live", (request, response) -> Json.send(response, Status.OK_200, new Live(true)))
                .get("/health/ready", this::serverReady)
                .get("/models/{model}", this::metadata)
                .get("/models/{model}/versions/{version}", this::metadata)
                .get("/models/{model}/ready", this::modelReady)
                .get("/models/{model}/versions/{version}/ready", this::modelReady)
                .post("/models/{model}/infer", this::infer)
                .post("/models/{model}/versions/{version}/infer", this::infer);
    }

    /** Ready: started, not draining, and no model stalled with requests waiting. */
    private void serverReady(ServerRequest request, ServerResponse response) {
        boolean ready = lifecycle.isReady() && !registry.anyEngineStalled();
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
        JsonNode body = Json.readObject(request, maxRequestBytes);
        InferenceRequest inference = parseInfer(body);
        Serving.Inferred inferred = serving.infer(caller, resolved, inference);
        InferenceResult result = inferred.result();
        Metered.alertHeaders(response, inferred.alerts());
        response.header(MODEL_VERSION, Integer.toString(resolved.version().version()));

        ByteArrayOutputStream out = new ByteArrayOutputStream(1024);
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
                V2TensorCodec.write(json, tensor);
            }
            json.writeEndArray();
            json.writeEndObject();
        }
        Json.send(response, Status.OK_200, out.toByteArray());
    }

    static InferenceRequest parseInfer(JsonNode body) {
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
            tensors.add(V2TensorCodec.parse(inputs.get(i), i));
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
