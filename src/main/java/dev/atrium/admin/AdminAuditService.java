package dev.atrium.admin;

import static java.util.Objects.requireNonNull;

import dev.atrium.audit.AuditEvent;
import dev.atrium.audit.AuditLog;
import dev.atrium.audit.AuditQuery;
import dev.atrium.gateway.Caller;
import dev.atrium.server.Json;
import dev.atrium.tenancy.Tenancy;
import dev.atrium.tenancy.Tenant;
import io.helidon.http.Status;
import io.helidon.webserver.http.HttpRules;
import io.helidon.webserver.http.HttpService;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import java.util.List;
import java.util.Optional;

/** {@code GET /admin/audit}: the audit log, newest first, filtered and paged; an owner sees its tenant's rows. */
public final class AdminAuditService implements HttpService {
    private final AuditLog audit;
    private final Tenancy tenancy;

    public AdminAuditService(AuditLog audit, Tenancy tenancy) {
        this.audit = requireNonNull(audit, "audit is null");
        this.tenancy = requireNonNull(tenancy, "tenancy is null");
    }

    record AuditPage(List<AuditEvent> data, Long next) {}

    @Override
    public void routing(HttpRules rules) {
        rules.get("/audit", this::query);
    }

    private void query(ServerRequest request, ServerResponse response) {
        Caller caller = Caller.current();
        caller.requireManages();
        Optional<String> tenant = caller.tenantScope(AdminJson.parameter(request, "tenant"),
                reference -> tenancy.findTenant(reference).map(Tenant::id));
        int limit = AdminJson.queryInteger(request, "limit", 100, 1, 1000);
        AuditQuery query = new AuditQuery(tenant, AdminJson.parameter(request, "actor"), AdminJson.parameter(request, "action"),
                AdminJson.parameter(request, "from").map(text -> AdminJson.queryInstant(text, "from")),
                AdminJson.parameter(request, "to").map(text -> AdminJson.queryInstant(text, "to")),
                AdminJson.parameter(request, "before").map(text -> AdminJson.number(text, "before")), limit);
        List<AuditEvent> events = audit.query(query);
        Long next = events.size() == limit ? events.getLast().id() : null;
        Json.send(response, Status.OK_200, new AuditPage(events, next));
    }
}
