package dev.atrium.admin;

import static java.util.Objects.requireNonNull;

import dev.atrium.AtriumException;
import dev.atrium.audit.AuditTrail;
import dev.atrium.engine.residency.Residency;
import dev.atrium.engine.residency.ResidencyPolicy;
import dev.atrium.gateway.Caller;
import dev.atrium.registry.Model;
import dev.atrium.registry.ModelRegistry;
import dev.atrium.registry.ModelScope;
import dev.atrium.server.Json;
import io.helidon.http.Status;
import io.helidon.webserver.http.HttpRules;
import io.helidon.webserver.http.HttpService;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import tools.jackson.databind.JsonNode;

/**
 * The management API of residency: what is loaded within the memory budget ({@code GET /admin/loaded}), and how a
 * model's versions are kept ({@code PUT /admin/models/{name}/residency}: pinned, keep-alive).
 */
public final class AdminResidencyService implements HttpService {
    private static final List<String> RESIDENCY_FIELDS = List.of("pinned", "keep_alive");
    /** A keep-alive as text: a whole number of seconds, minutes or hours ({@code 90s}, {@code 5m}, {@code 2h}). */
    private static final Pattern KEEP_ALIVE = Pattern.compile("([0-9]{1,9})(s|m|h)");

    private final ModelRegistry registry;
    private final Residency residency;
    private final long maxRequestBytes;

    public AdminResidencyService(ModelRegistry registry, Residency residency, long maxRequestBytes) {
        this.registry = requireNonNull(registry, "registry is null");
        this.residency = requireNonNull(residency, "residency is null");
        this.maxRequestBytes = maxRequestBytes;
    }

    /**
     * @param keepAlive seconds; -1 for as long as the budget allows
     * @param loadMs how long its load (its cold start) took
     */
    record LoadedView(String model, int version, String engine, long bytes, Instant loadedAt, Instant lastUsed,
            int inFlight, boolean pinned, Long keepAlive, long loadMs) {}

    /**
     * @param budgetBytes the server's memory budget, or null for none
     * @param loadedBytes what the versions listed hold together
     */
    record LoadedListView(Long budgetBytes, long loadedBytes, List<LoadedView> data) {}

    /** @param keepAlive seconds; -1 for as long as the budget allows; null for the server's default */
    record ResidencyView(String model, boolean pinned, Long keepAlive, List<LoadedView> loaded) {}

    @Override
    public void routing(HttpRules rules) {
        rules.get("/loaded", this::listLoaded)
                .put("/models/{name}/residency", this::setResidency);
    }

    /** The loaded versions the caller may see: a tenant's own models; every one for the platform admin. */
    private void listLoaded(ServerRequest request, ServerResponse response) {
        Caller caller = Caller.current();
        List<LoadedView> loaded = visible(caller, Optional.empty());
        long budget = residency.settings().budgetBytes();
        Json.send(response, Status.OK_200, new LoadedListView(budget == Residency.UNLIMITED ? null : budget,
                loaded.stream().mapToLong(LoadedView::bytes).sum(), loaded));
    }

    private void setResidency(ServerRequest request, ServerResponse response) {
        Caller caller = Caller.current();
        caller.requireManages();
        String name = request.path().pathParameters().get("name");
        AuditTrail.note("model.residency", name, caller.key().tenantId());
        JsonNode body = Json.readObject(request, maxRequestBytes);
        Json.rejectUnknownFields(body, RESIDENCY_FIELDS, "a model's residency");
        ResidencyPolicy policy = new ResidencyPolicy(pinned(body), keepAlive(body));
        Model model = registry.setResidency(caller.modelScope(), name, policy);
        residency.policy(model.id(), policy);
        Json.send(response, Status.OK_200, new ResidencyView(model.name(), policy.pinned(),
                policy.keepAliveSeconds(), visible(caller, Optional.of(model.id()))));
    }

    private List<LoadedView> visible(Caller caller, Optional<Long> onlyModel) {
        ModelScope scope = caller.modelScope();
        Set<Long> own = caller.isAdmin() ? null : registry.listModels(scope).stream()
                .filter(model -> model.owner().equals(scope.owner())).map(Model::id).collect(Collectors.toSet());
        return residency.loaded().stream()
                .filter(version -> own == null || own.contains(version.key().modelId()))
                .filter(version -> onlyModel.isEmpty() || onlyModel.get() == version.key().modelId())
                .map(AdminResidencyService::view)
                .toList();
    }

    private static LoadedView view(Residency.LoadedVersion version) {
        return new LoadedView(version.key().modelName(), version.key().version(), version.kind(), version.bytes(),
                version.loadedAt(), version.lastUsed(), version.inFlight(), version.pinned(),
                version.keepAlive().map(Duration::toSeconds).orElse(ResidencyPolicy.FOREVER),
                version.loadNanos() / 1_000_000);
    }

    private static boolean pinned(JsonNode body) {
        JsonNode node = body.get("pinned");
        if (node == null || node.isNull()) {
            return false;
        }
        if (!node.isBoolean()) {
            throw AtriumException.invalidParam("pinned", "'pinned' must be true or false");
        }
        return node.booleanValue();
    }

    /**
     * Seconds (an integer; -1 for as long as the budget allows) or text such as {@code "90s"}, {@code "5m"},
     * {@code "2h"}; null or absent for the server's default.
     */
    static Long keepAlive(JsonNode body) {
        JsonNode node = body.get("keep_alive");
        if (node == null || node.isNull()) {
            return null;
        }
        long seconds;
        if (node.isIntegralNumber() && node.canConvertToLong()) {
            seconds = node.longValue();
        } else if (node.isString()) {
            Matcher matcher = KEEP_ALIVE.matcher(node.asString());
            if (!matcher.matches()) {
                throw invalidKeepAlive();
            }
            long amount = Long.parseLong(matcher.group(1));
            seconds = switch (matcher.group(2)) {
                case "h" -> amount * 3600;
                case "m" -> amount * 60;
                default -> amount;
            };
        } else {
            throw invalidKeepAlive();
        }
        if (seconds < ResidencyPolicy.FOREVER || seconds > ResidencyPolicy.MAX_KEEP_ALIVE_SECONDS) {
            throw invalidKeepAlive();
        }
        return seconds;
    }

    private static AtriumException invalidKeepAlive() {
        return AtriumException.invalidParam("keep_alive", "'keep_alive' must be seconds (an integer, -1 to keep the"
                + " model for as long as the memory budget allows), a duration such as \"90s\", \"5m\" or \"2h\", or"
                + " null for the server's default; at most " + ResidencyPolicy.MAX_KEEP_ALIVE_SECONDS + " seconds");
    }
}
