package dev.atrium.admin;

import static java.util.Objects.requireNonNull;

import dev.atrium.AtriumException;
import dev.atrium.ErrorCode;
import dev.atrium.audit.AuditTrail;
import dev.atrium.gateway.Caller;
import dev.atrium.rollout.Rollout;
import dev.atrium.rollout.RolloutPlan;
import dev.atrium.rollout.Rollouts;
import dev.atrium.rollout.Shadows;
import dev.atrium.server.Json;
import io.helidon.http.Status;
import io.helidon.webserver.http.HttpRules;
import io.helidon.webserver.http.HttpService;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import java.util.List;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.JsonNodeFactory;
import tools.jackson.databind.node.ObjectNode;

/**
 * The management API for rollouts: start a canary of a version on an alias, read how it stands beside its baseline,
 * promote or abort it by hand. One rollout runs per alias; while it runs, only it moves the alias. And for shadows:
 * mirror a fraction of an alias's requests to a candidate version and read how often it agrees, beside the rollout.
 */
public final class AdminRolloutsService implements HttpService {
    private static final List<String> START_FIELDS = List.of("version", "steps", "interval", "window", "thresholds",
            "evaluation", "sticky");
    private static final List<String> SHADOW_FIELDS = List.of("version", "fraction");
    private static final String PATH = "/models/{name}/aliases/{alias}/rollout";
    private static final String SHADOW = "/models/{name}/aliases/{alias}/shadow";

    private final Rollouts rollouts;
    private final Shadows shadows;
    private final long maxRequestBytes;

    public AdminRolloutsService(Rollouts rollouts, Shadows shadows, long maxRequestBytes) {
        this.rollouts = requireNonNull(rollouts, "rollouts is null");
        this.shadows = requireNonNull(shadows, "shadows is null");
        this.maxRequestBytes = maxRequestBytes;
    }

    @Override
    public void routing(HttpRules rules) {
        rules.post(PATH, this::start)
                .get(PATH, this::status)
                .post(PATH + "/promote", this::promote)
                .post(PATH + "/abort", this::abort)
                .put(SHADOW, this::setShadow)
                .get(SHADOW, this::shadow)
                .delete(SHADOW, this::clearShadow);
    }

    private void start(ServerRequest request, ServerResponse response) {
        Caller caller = Caller.current();
        caller.requireManages();
        String name = request.path().pathParameters().get("name");
        String alias = request.path().pathParameters().get("alias");
        AuditTrail.note("rollout.start", name + ":" + alias, caller.key().tenantId());
        JsonNode body = Json.readObject(request, maxRequestBytes);
        Json.rejectUnknownFields(body, START_FIELDS, "a rollout");
        JsonNode version = body.get("version");
        if (version == null || !version.isIntegralNumber() || !version.canConvertToInt() || version.intValue() < 1) {
            throw AtriumException.invalidParam("version", "'version' is the number of the version to roll out");
        }
        Rollout rollout = rollouts.start(caller.modelScope(), name, alias, version.intValue(),
                RolloutPlan.fromJson(body), actor(caller));
        response.header("Location", "/admin" + PATH.replace("{name}", name).replace("{alias}", alias));
        Json.send(response, Status.CREATED_201, view(rollout));
    }

    private void status(ServerRequest request, ServerResponse response) {
        String name = request.path().pathParameters().get("name");
        String alias = request.path().pathParameters().get("alias");
        Rollout rollout = rollouts.latest(Caller.current().modelScope(), name, alias).orElseThrow(() ->
                new AtriumException(ErrorCode.NOT_FOUND, "alias '" + name + ":" + alias + "' has had no rollout"));
        Json.send(response, Status.OK_200, view(rollout));
    }

    private void promote(ServerRequest request, ServerResponse response) {
        end(request, response, "rollout.promote", true);
    }

    private void abort(ServerRequest request, ServerResponse response) {
        end(request, response, "rollout.abort", false);
    }

    private void end(ServerRequest request, ServerResponse response, String action, boolean promote) {
        Caller caller = Caller.current();
        caller.requireManages();
        String name = request.path().pathParameters().get("name");
        String alias = request.path().pathParameters().get("alias");
        AuditTrail.note(action, name + ":" + alias, caller.key().tenantId());
        Rollout rollout = promote ? rollouts.promote(caller.modelScope(), name, alias, actor(caller))
                : rollouts.abort(caller.modelScope(), name, alias, actor(caller));
        Json.send(response, Status.OK_200, view(rollout));
    }

    // ---- shadows ------------------------------------------------------------------------------------------------

    private void setShadow(ServerRequest request, ServerResponse response) {
        Caller caller = Caller.current();
        caller.requireManages();
        String name = request.path().pathParameters().get("name");
        String alias = request.path().pathParameters().get("alias");
        AuditTrail.note("shadow.set", name + ":" + alias, caller.key().tenantId());
        JsonNode body = Json.readObject(request, maxRequestBytes);
        Json.rejectUnknownFields(body, SHADOW_FIELDS, "a shadow");
        JsonNode version = body.get("version");
        if (version == null || !version.isIntegralNumber() || !version.canConvertToInt() || version.intValue() < 1) {
            throw AtriumException.invalidParam("version", "'version' is the number of the version to mirror"
                    + " requests to");
        }
        Shadows.Shadow shadow = shadows.set(caller.modelScope(), name, alias, version.intValue(),
                fraction(body.get("fraction")), caller.key().id());
        Json.send(response, Status.OK_200, shadows.view(shadow));
    }

    /** A share of requests: a number or a decimal string, above 0 and at most 1; all of them when not given. */
    private static java.math.BigDecimal fraction(JsonNode node) {
        if (node == null) {
            return java.math.BigDecimal.ONE;
        }
        java.util.Optional<java.math.BigDecimal> value = java.util.Optional.empty();
        if (node.isString()) {
            value = dev.atrium.metering.Decimals.parse(node.stringValue());
        } else if (node.isNumber() && Double.isFinite(node.doubleValue())) {
            value = dev.atrium.metering.Decimals.parse(Double.toString(node.doubleValue()));
        }
        if (value.isEmpty() || value.get().signum() <= 0 || value.get().compareTo(java.math.BigDecimal.ONE) > 0) {
            throw AtriumException.invalidParam("fraction", "'fraction' is the share of the alias's requests to"
                    + " mirror: a number above 0 and at most 1, such as 0.1");
        }
        return value.get();
    }

    private void shadow(ServerRequest request, ServerResponse response) {
        String name = request.path().pathParameters().get("name");
        String alias = request.path().pathParameters().get("alias");
        Shadows.Shadow shadow = shadows.find(Caller.current().modelScope(), name, alias).orElseThrow(() ->
                new AtriumException(ErrorCode.NOT_FOUND, "alias '" + name + ":" + alias + "' has no shadow"));
        Json.send(response, Status.OK_200, shadows.view(shadow));
    }

    private void clearShadow(ServerRequest request, ServerResponse response) {
        Caller caller = Caller.current();
        caller.requireManages();
        String name = request.path().pathParameters().get("name");
        String alias = request.path().pathParameters().get("alias");
        AuditTrail.note("shadow.clear", name + ":" + alias, caller.key().tenantId());
        shadows.clear(caller.modelScope(), name, alias);
        Json.noContent(response);
    }

    private static Rollouts.Actor actor(Caller caller) {
        return new Rollouts.Actor(caller.key().id(), caller.key().prefix());
    }

    /** A rollout as the API shows it: its plan, where it is, its steps, and (running) the live comparison. */
    private ObjectNode view(Rollout rollout) {
        ObjectNode node = JsonNodeFactory.instance.objectNode();
        node.put("object", "rollout");
        node.put("id", rollout.id());
        node.put("model", rollout.model());
        node.put("alias", rollout.alias());
        node.put("baseline", rollout.baseline());
        node.put("canary", rollout.canary());
        node.put("state", rollout.state().wireName());
        node.put("weight", rollout.weight());
        node.set("plan", rollout.plan().toJson());
        if (rollout.reason() != null) {
            node.put("reason", rollout.reason());
        }
        node.put("started_at", rollout.startedAt().toString());
        node.put("stepped_at", rollout.steppedAt().toString());
        if (rollout.endedAt() != null) {
            node.put("ended_at", rollout.endedAt().toString());
        }
        if (rollout.state() == Rollout.State.RUNNING) {
            node.set("comparison", rollouts.compare(rollout));
        }
        try {
            shadows.find(Caller.current().modelScope(), rollout.model(), rollout.alias())
                    .ifPresent(shadow -> node.set("shadow", shadows.view(shadow)));
        } catch (AtriumException gone) {
            // the alias is gone since the rollout ended, and its shadow with it
        }
        ArrayNode steps = node.putArray("steps");
        for (Rollout.Step step : rollout.steps()) {
            ObjectNode stepNode = steps.addObject();
            stepNode.put("at", step.at().toString());
            stepNode.put("action", step.action().wireName());
            stepNode.put("weight", step.weight());
            stepNode.set("detail", step.detail());
        }
        return node;
    }
}
