package dev.atrium.openai;

import static java.util.Objects.requireNonNull;

import dev.atrium.AtriumException;
import dev.atrium.ErrorCode;
import dev.atrium.engine.EmbeddingRequest;
import dev.atrium.engine.EmbeddingResult;
import dev.atrium.gateway.Caller;
import dev.atrium.gateway.Metered;
import dev.atrium.metering.Metering;
import dev.atrium.metering.UsageSummary;
import dev.atrium.registry.Model;
import dev.atrium.registry.ModelReference;
import dev.atrium.registry.ModelRegistry;
import dev.atrium.registry.ModelScope;
import dev.atrium.registry.ResolvedModel;
import dev.atrium.server.Json;
import dev.atrium.serving.Serving;
import io.helidon.http.HeaderName;
import io.helidon.http.HeaderNames;
import io.helidon.http.Status;
import io.helidon.webserver.http.HttpRules;
import io.helidon.webserver.http.HttpService;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Optional;
import tools.jackson.core.JsonGenerator;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.ObjectNode;

/** OpenAI-compatible {@code /v1}: the model list and embeddings. Chat and completions come with the LLM engine. */
public final class OpenAiService implements HttpService {
    /** Which version of the model answered: plain names and aliases move, so clients can see where they landed. */
    static final HeaderName MODEL_VERSION = HeaderNames.create("x-atrium-model-version");

    private final ModelRegistry registry;
    private final Metering metering;
    private final long maxRequestBytes;
    private final boolean truncateInputs;
    private final Serving serving;

    public OpenAiService(ModelRegistry registry, Metering metering, Serving serving, long maxRequestBytes,
            boolean truncateInputs) {
        this.registry = requireNonNull(registry, "registry is null");
        this.metering = requireNonNull(metering, "metering is null");
        this.serving = requireNonNull(serving, "serving is null");
        this.maxRequestBytes = maxRequestBytes;
        this.truncateInputs = truncateInputs;
    }

    @Override
    public void routing(HttpRules rules) {
        rules.get("/models", this::listModels)
                .get("/models/{model}", this::getModel)
                .post("/embeddings", this::embeddings)
                .get("/usage", this::usage);
    }

    private void listModels(ServerRequest request, ServerResponse response) {
        ModelScope scope = Caller.current().modelScope();
        List<OpenAiModel> models = new ArrayList<>();
        for (Model model : registry.listModels(scope)) {
            ResolvedModel resolved;
            try {
                resolved = registry.resolve(scope, new ModelReference(model.name(), java.util.OptionalInt.empty(),
                        java.util.Optional.empty()));
            } catch (AtriumException e) {
                continue; // no version yet, or deleted meanwhile: not callable, so not listed
            }
            models.add(OpenAiModel.of(resolved));
        }
        Json.send(response, Status.OK_200, new OpenAiModelList("list", models));
    }

    private void getModel(ServerRequest request, ServerResponse response) {
        ResolvedModel resolved = registry.resolve(Caller.current().modelScope(),
                request.path().pathParameters().get("model"));
        response.header(MODEL_VERSION, Integer.toString(resolved.version().version()));
        Json.send(response, Status.OK_200, OpenAiModel.of(resolved));
    }

    private void embeddings(ServerRequest request, ServerResponse response) {
        Caller caller = Caller.current();
        caller.requireCallsModels();
        JsonNode body = Json.readObject(request, maxRequestBytes);
        OpenAiEmbeddingsRequest call = OpenAiEmbeddingsRequest.parse(body);
        Serving.Embedded embedded = serving.embed(caller, call.model(), new EmbeddingRequest(call.inputs(),
                truncateInputs, call.dimensions(), Optional.of((ObjectNode) body)), () -> OpenAiFields.checkEmbeddings(body));
        Metered.alertHeaders(response, embedded.alerts());
        response.header(MODEL_VERSION, Integer.toString(embedded.model().version().version()));
        Json.send(response, Status.OK_200, encode(embedded.result(), embedded.model().model().name(), call.base64()));
    }

    /** The caller's tenant's usage (the platform's own for an admin key); members call models and see none. */
    private void usage(ServerRequest request, ServerResponse response) {
        Caller caller = Caller.current();
        if (caller.role() == dev.atrium.tenancy.Role.MEMBER) {
            throw new AtriumException(ErrorCode.PERMISSION_DENIED, "a member key cannot read usage");
        }
        Json.send(response, Status.OK_200, UsageSummary.of(metering.ledger(), caller.key().tenantId(), false,
                name -> request.query().first(name).asOptional().filter(value -> !value.isEmpty())));
    }

    /** Streams the response with Jackson's generator: vectors are the bulk of it. */
    static byte[] encode(EmbeddingResult result, String model, boolean base64) {
        int dimension = result.vectors().isEmpty() ? 0 : result.vectors().getFirst().length;
        ByteArrayOutputStream out = new ByteArrayOutputStream(64 + result.vectors().size() * (dimension * 12 + 48));
        ByteBuffer bytes = base64 ? ByteBuffer.allocate(dimension * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN) : null;
        try (JsonGenerator json = Json.MAPPER.createGenerator(out)) {
            json.writeStartObject();
            json.writeStringProperty("object", "list");
            json.writeArrayPropertyStart("data");
            for (int i = 0; i < result.vectors().size(); i++) {
                float[] vector = result.vectors().get(i);
                json.writeStartObject();
                json.writeStringProperty("object", "embedding");
                json.writeNumberProperty("index", i);
                json.writeName("embedding");
                if (base64) {
                    bytes.clear();
                    bytes.asFloatBuffer().put(vector);
                    json.writeString(Base64.getEncoder().encodeToString(bytes.array()));
                } else {
                    json.writeStartArray(vector, vector.length);
                    for (float value : vector) {
                        json.writeNumber(value);
                    }
                    json.writeEndArray();
                }
                json.writeEndObject();
            }
            json.writeEndArray();
            json.writeStringProperty("model", model);
            json.writeObjectPropertyStart("usage");
            json.writeNumberProperty("prompt_tokens", result.promptTokens());
            json.writeNumberProperty("total_tokens", result.promptTokens());
            json.writeEndObject();
            json.writeEndObject();
        }
        return out.toByteArray();
    }
}
