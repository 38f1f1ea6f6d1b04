package dev.atrium.admin;

import static java.util.Objects.requireNonNull;

import dev.atrium.AtriumException;
import dev.atrium.ErrorCode;
import dev.atrium.audit.AuditTrail;
import dev.atrium.gateway.Caller;
import dev.atrium.registry.ModelReference;
import dev.atrium.registry.ModelRegistry;
import dev.atrium.registry.ModelScope;
import dev.atrium.registry.ModelVersion;
import dev.atrium.registry.ResolvedModel;
import dev.atrium.rollout.Rollouts;
import dev.atrium.server.Json;
import dev.atrium.server.RequestContext;
import dev.atrium.serving.Serving;
import dev.atrium.training.quantize.QuantizationSample;
import dev.atrium.training.quantize.Quantizations;
import io.helidon.http.Status;
import io.helidon.webserver.http.HttpRules;
import io.helidon.webserver.http.HttpService;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.JsonNodeFactory;

/**
 * Compression: {@code POST /admin/models/{name}/versions/{version}/quantize} reads the order, checks who may, and
 * hands the work to {@link Quantizations}: a new version of a float ONNX model with its weights in int8, its lineage
 * saying how it compares with the source.
 *
 * <p>The sample is bounded in count and length; only the model's owner may quantize it, as only it may upload
 * versions; another tenant's model answers 404; an alias with a rollout running is not moved.
 */
public final class AdminQuantizeService implements HttpService {
    private static final List<String> FIELDS = List.of("sample", "per_channel", "alias");
    static final int MAX_SAMPLE_TEXTS = 256;
    static final int MAX_SAMPLE_CHARS = 8192;

    private final ModelRegistry registry;
    private final Quantizations quantizations;
    private final Rollouts rollouts;
    private final long maxRequestBytes;

    /** @param maxModelBytes the largest model quantized: the upload limit */
    public AdminQuantizeService(ModelRegistry registry, Serving serving, Rollouts rollouts, long maxRequestBytes,
            long maxModelBytes) {
        this.registry = requireNonNull(registry, "registry is null");
        this.quantizations = new Quantizations(registry, serving, maxModelBytes,
                version -> AdminModelsService.embeddingOptions(configOf(version)));
        this.rollouts = requireNonNull(rollouts, "rollouts is null");
        this.maxRequestBytes = maxRequestBytes;
    }

    @Override
    public void routing(HttpRules rules) {
        rules.post("/models/{name}/versions/{version}/quantize", this::quantize);
    }

    /** What a request asks for. */
    private record Order(Quantizations.Order work, Optional<String> alias) {}

    private void quantize(ServerRequest request, ServerResponse response) {
        Caller caller = Caller.current();
        caller.requireManages();
        String name = request.path().pathParameters().get("name");
        String versionText = request.path().pathParameters().get("version");
        AuditTrail.note("version.quantize", name + ":" + versionText, caller.key().tenantId());
        int number = versionNumber(versionText);
        Order order = order(request);
        ModelScope scope = caller.modelScope();
        quantizations.refuseUnsupported(registry.manageable(scope, name));
        ResolvedModel source = registry.manageableVersion(scope, name, number);
        quantizations.refuseTooLarge(source);
        if (order.alias().isPresent() && rollouts.isRunning(source.model(), order.alias().get())) {
            throw new AtriumException(ErrorCode.CONFLICT, "alias '" + name + ":" + order.alias().get() + "' has a"
                    + " rollout running; promote or abort it before moving it");
        }
        Quantizations.Made result = quantizations.quantize(caller, RequestContext.current().serverRequestId(), scope,
                source, order.work());
        ModelVersion made = result.version();
        order.alias().ifPresent(alias -> registry.setAlias(scope, name, alias, made.version()));
        AuditTrail.note("version.quantize", name + ":" + number + "->" + made.version(), caller.key().tenantId());
        response.header("Location", "/admin/models/" + name + "/versions/" + made.version());
        Json.send(response, Status.CREATED_201, AdminModelView.version(made,
                registry.aliases(registry.model(scope, name)), false, result.lineage()));
    }

    // ---- request ------------------------------------------------------------------------------------------------

    private Order order(ServerRequest request) {
        JsonNode body = request.content().hasEntity() ? Json.readObject(request, maxRequestBytes)
                : JsonNodeFactory.instance.objectNode();
        Json.rejectUnknownFields(body, FIELDS, "a quantization");
        JsonNode perChannel = body.get("per_channel");
        if (perChannel != null && !perChannel.isNull() && !perChannel.isBoolean()) {
            throw AtriumException.invalidParam("per_channel", "'per_channel' must be true or false");
        }
        Optional<String> alias = AdminJson.optionalString(body, "alias");
        // checked before the work, which would otherwise make a version and then refuse the alias
        if (alias.isPresent() && (!ModelReference.isValidAlias(alias.get())
                || alias.get().equals(ModelReference.LATEST))) {
            throw AtriumException.invalidParam("alias", "alias '" + alias.get() + "' is not valid: start with a"
                    + " lowercase letter; use lowercase letters, digits, '-', '.' and '_'; 'latest' cannot be set");
        }
        JsonNode sample = body.get("sample");
        List<String> texts;
        boolean given = sample != null && !sample.isNull();
        if (given) {
            if (!sample.isArray() || sample.isEmpty() || sample.size() > MAX_SAMPLE_TEXTS) {
                throw AtriumException.invalidParam("sample", "'sample' must be an array of 1 to " + MAX_SAMPLE_TEXTS
                        + " texts");
            }
            texts = new ArrayList<>(sample.size());
            for (JsonNode text : sample) {
                if (!text.isString() || text.stringValue().isBlank()
                        || text.stringValue().length() > MAX_SAMPLE_CHARS) {
                    throw AtriumException.invalidParam("sample", "each text of 'sample' must be a string of 1 to "
                            + MAX_SAMPLE_CHARS + " characters, not only spaces");
                }
                texts.add(text.stringValue());
            }
        } else {
            texts = QuantizationSample.SENTENCES;
        }
        return new Order(new Quantizations.Order(texts, given, perChannel == null || perChannel.isNull()
                || perChannel.booleanValue()), alias);
    }


    private static JsonNode configOf(ModelVersion version) {
        JsonNode node = Json.MAPPER.readTree(version.config());
        return node != null && node.isObject() ? node : JsonNodeFactory.instance.objectNode();
    }

    private static int versionNumber(String text) {
        if (text.isEmpty() || text.length() > 9 || !text.chars().allMatch(Character::isDigit)) {
            throw new AtriumException(ErrorCode.NOT_FOUND, "'" + text + "' is not a version number");
        }
        return Integer.parseInt(text);
    }
}
