package dev.atrium.admin;

import static java.util.Objects.requireNonNull;

import dev.atrium.AtriumException;
import dev.atrium.ErrorCode;
import dev.atrium.audit.AuditTrail;
import dev.atrium.gateway.Caller;
import dev.atrium.rollout.VersionMonitors;
import dev.atrium.server.Json;
import io.helidon.http.Status;
import io.helidon.webserver.http.HttpRules;
import io.helidon.webserver.http.HttpService;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import tools.jackson.databind.JsonNode;

/**
 * The management API for a version's monitoring: read its traffic, units and output drift; set its drift
 * threshold, baseline and window sizes, or reset its baseline.
 */
public final class AdminMonitoringService implements HttpService {
    private static final String PATH = "/models/{name}/versions/{version}/monitoring";

    private final VersionMonitors monitors;
    private final long maxRequestBytes;

    public AdminMonitoringService(VersionMonitors monitors, long maxRequestBytes) {
        this.monitors = requireNonNull(monitors, "monitors is null");
        this.maxRequestBytes = maxRequestBytes;
    }

    @Override
    public void routing(HttpRules rules) {
        rules.get(PATH, this::view)
                .put(PATH, this::configure);
    }

    private void view(ServerRequest request, ServerResponse response) {
        Json.send(response, Status.OK_200, monitors.view(Caller.current().modelScope(), name(request),
                version(request)));
    }

    private void configure(ServerRequest request, ServerResponse response) {
        Caller caller = Caller.current();
        caller.requireManages();
        AuditTrail.note("version.monitoring", name(request) + ":" + request.path().pathParameters().get("version"),
                caller.key().tenantId());
        int version = version(request);
        JsonNode body = Json.readObject(request, maxRequestBytes);
        Json.send(response, Status.OK_200, monitors.configure(caller.modelScope(), name(request), version, body));
    }

    private static String name(ServerRequest request) {
        return request.path().pathParameters().get("name");
    }

    /** A version number, as the model's other routes take it: anything else names no version (404). */
    private static int version(ServerRequest request) {
        String text = request.path().pathParameters().get("version");
        if (text.isEmpty() || text.length() > 9 || !text.chars().allMatch(Character::isDigit)) {
            throw new AtriumException(ErrorCode.NOT_FOUND, "'" + text + "' is not a version number");
        }
        return Integer.parseInt(text);
    }
}
