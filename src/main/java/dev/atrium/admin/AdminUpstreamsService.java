package dev.atrium.admin;

import static java.util.Objects.requireNonNull;

import dev.atrium.AtriumException;
import dev.atrium.ErrorCode;
import dev.atrium.audit.AuditTrail;
import dev.atrium.gateway.Caller;
import dev.atrium.registry.UpstreamHosts;
import dev.atrium.server.Json;
import io.helidon.http.Status;
import io.helidon.webserver.http.HttpRules;
import io.helidon.webserver.http.HttpService;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import java.util.List;
import tools.jackson.databind.JsonNode;

/**
 * {@code /admin/upstreams}: the hosts remote models may point at. The platform admin keeps the list; tenant
 * owners may read it, to know where their remote models can go.
 */
public final class AdminUpstreamsService implements HttpService {
    private final UpstreamHosts upstreams;
    private final long maxRequestBytes;

    public AdminUpstreamsService(UpstreamHosts upstreams, long maxRequestBytes) {
        this.upstreams = requireNonNull(upstreams, "upstreams is null");
        this.maxRequestBytes = maxRequestBytes;
    }

    record UpstreamList(List<UpstreamHosts.UpstreamHost> data) {}

    @Override
    public void routing(HttpRules rules) {
        rules.get("/upstreams", this::list)
                .post("/upstreams", this::add)
                .delete("/upstreams/{host}", this::remove);
    }

    private void list(ServerRequest request, ServerResponse response) {
        Caller.current().requireManages();
        Json.send(response, Status.OK_200, new UpstreamList(upstreams.list()));
    }

    private void add(ServerRequest request, ServerResponse response) {
        requirePlatformAdmin();
        JsonNode body = Json.readObject(request, maxRequestBytes);
        Json.rejectUnknownFields(body, List.of("host"), "an upstream host");
        String host = AdminJson.requiredString(body, "host");
        UpstreamHosts.UpstreamHost added = upstreams.add(host);
        AuditTrail.note("upstream.allow", added.host(), null);
        Json.send(response, Status.CREATED_201, added);
    }

    private void remove(ServerRequest request, ServerResponse response) {
        requirePlatformAdmin();
        String host = request.path().pathParameters().get("host");
        AuditTrail.note("upstream.disallow", host, null);
        upstreams.remove(host);
        Json.noContent(response);
    }

    private static void requirePlatformAdmin() {
        Caller caller = Caller.current();
        caller.requireManages();
        if (!caller.isAdmin()) {
            throw new AtriumException(ErrorCode.PERMISSION_DENIED, "only the platform admin can change the allowed"
                    + " upstream hosts");
        }
    }
}
