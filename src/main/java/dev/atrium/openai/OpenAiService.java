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
        OpenAiFields.routeByUser(body);
        Serving.Embedded embedded = serving.embed(caller, call.model(), new EmbeddingRequest(call.inputs(),
                truncateInputs, call.dimensions(), Optional.of((ObjectNode) body), call.inputType()),
                () -> OpenAiFields.checkEmbeddings(body));
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
        UsageSummary summary = UsageSummary.of(metering.ledger(), caller.key().tenantId(), false,
                name -> request.query().first(name).asOptional().filter(value -> !value.isEmpty()));
        if (request.query().first("format").asOptional().filter("csv"::equals).isPresent()) {
            response.header(io.helidon.http.HeaderNames.CONTENT_TYPE, "text/csv; charset=utf-8");
            response.send(summary.toCsv().getBytes(java.nio.charset.StandardCharsets.UTF_8));
            return;
        }
        Json.send(response, Status.OK_200, summary);
    }

    /** The longest number {@link #writeFloats} writes, with its comma: {@code -0.0000000123456789,}. */
    private static final int MAX_FLOAT_CHARS = 21;

    /**
     * Writes the vector as one JSON array of numbers, each with 9 significant digits, which always read back as
     * the same float32 (9 digits separate any two floats), when it is 0 or within 10⁻⁸ ≤ |v| < 1, as the
     * components of a unit vector almost always are, and any other finite value in its shortest form; returns
     * false, having written nothing, when a value is not finite. A fixed number of digits from one
     * multiplication and a rounding costs a fraction of the shortest representation per number, and the 384
     * numbers of a sentence's vector were most of the answer's cost.
     */
    static boolean writeFloats(JsonGenerator json, float[] vector, char[] chars) {
        int n = 0;
        chars[n++] = '[';
        for (int i = 0; i < vector.length; i++) {
            if (i > 0) {
                chars[n++] = ',';
            }
            float value = vector[i];
            double magnitude = Math.abs((double) value);
            if (magnitude == 0) {
                if (Float.floatToRawIntBits(value) < 0) {
                    chars[n++] = '-'; // -0.0 reads back as itself
                }
                chars[n++] = '0'; // "0.0", as before: a reader that makes "0" an integer keeps a float here
                chars[n++] = '.';
                chars[n++] = '0';
                continue;
            }
            if (!(magnitude < 1 && magnitude >= 1e-8)) {
                if (!Float.isFinite(value)) {
                    return false; // JSON has no number for it: Jackson's generator decides
                }
                String shortest = Float.toString(value); // rare: outside the fixed-digit range, at most 15 chars
                shortest.getChars(0, shortest.length(), chars, n);
                n += shortest.length();
                continue;
            }
            int scale = 9; // digits after the point, for 9 significant digits (10 when just below a power of ten)
            while (magnitude < SCALE_THRESHOLDS[scale]) {
                scale++;
            }
            // the 9 significant digits (10 when rounding reaches the next power of ten) fit in an int
            int digits = (int) Math.round(magnitude * POWERS_OF_TEN[scale]);
            if (value < 0) {
                chars[n++] = '-';
            }
            chars[n++] = '0';
            chars[n++] = '.';
            int end = n + scale;
            while (digits % 10 == 0) { // trailing zeros say nothing; digits is never 0 here
                digits /= 10;
                end--;
            }
            for (int at = end - 1; at >= n; at--) {
                chars[at] = (char) ('0' + digits % 10);
                digits /= 10;
            }
            n = end;
        }
        chars[n++] = ']';
        json.writeRawValue(chars, 0, n);
        return true;
    }

    private static final double[] POWERS_OF_TEN = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12,
        1e13, 1e14, 1e15, 1e16, 1e17};
    /** A magnitude below SCALE_THRESHOLDS[scale] needs more than {@code scale} digits after the point. */
    private static final double[] SCALE_THRESHOLDS = {0, 0, 0, 0, 0, 0, 0, 0, 0, 1e-1, 1e-2, 1e-3, 1e-4, 1e-5, 1e-6,
        1e-7, 1e-8, 0};

    /** Streams the response with Jackson's generator: vectors are the bulk of it. */
    static byte[] encode(EmbeddingResult result, String model, boolean base64) {
        int dimension = result.vectors().isEmpty() ? 0 : result.vectors().getFirst().length;
        ByteArrayOutputStream out = new ByteArrayOutputStream(64 + result.vectors().size() * (dimension * 12 + 48));
        ByteBuffer bytes = base64 ? ByteBuffer.allocate(dimension * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN) : null;
        char[] chars = base64 ? null : new char[2 + dimension * MAX_FLOAT_CHARS];
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
                } else if (!writeFloats(json, vector, chars)) {
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
