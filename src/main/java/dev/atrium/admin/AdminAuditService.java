package dev.atrium.admin;

import static java.util.Objects.requireNonNull;

import dev.atrium.audit.AuditEvent;
import dev.atrium.audit.AuditLog;
import dev.atrium.audit.AuditQuery;
import dev.atrium.gateway.Caller;
import dev.atrium.server.Csv;
import dev.atrium.server.Json;
import dev.atrium.tenancy.Tenancy;
import dev.atrium.tenancy.Tenant;
import io.helidon.http.HeaderNames;
import io.helidon.http.Status;
import io.helidon.webserver.http.HttpRules;
import io.helidon.webserver.http.HttpService;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Optional;
import org.slf4j.LoggerFactory;

/**
 * {@code GET /admin/audit}: the audit log, newest first, filtered and paged, or with {@code format=csv} every row
 * of the filters and range as CSV; an owner sees its tenant's rows.
 */
public final class AdminAuditService implements HttpService {
    private static final int CSV_PAGE = 1000;

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
        if (AdminJson.parameter(request, "format").filter("csv"::equals).isPresent()) {
            csv(query, response);
            return;
        }
        List<AuditEvent> events = audit.query(query);
        Long next = events.size() == limit ? events.getLast().id() : null;
        Json.send(response, Status.OK_200, new AuditPage(events, next));
    }

    /**
     * Every row the query's filters and range match, newest first, as CSV: read and written a page at a time, so
     * that memory stays bounded whatever the range holds ({@code limit} and {@code before} are ignored).
     */
    private void csv(AuditQuery query, ServerResponse response) {
        response.header(HeaderNames.CONTENT_TYPE, "text/csv; charset=utf-8");
        try (Writer out = new BufferedWriter(new OutputStreamWriter(response.outputStream(), StandardCharsets.UTF_8))) {
            out.write("id,time,actor_key_id,actor_prefix,tenant_id,action,target,source_address,outcome,status,"
                    + "occurrences\r\n");
            Optional<Long> before = Optional.empty();
            while (true) {
                List<AuditEvent> page = audit.query(new AuditQuery(query.tenantId(), query.actorKeyId(),
                        query.action(), query.from(), query.to(), before, CSV_PAGE));
                for (AuditEvent event : page) {
                    out.write(event.id() + "," + event.time() + "," + Csv.field(event.actorKeyId()) + ","
                            + Csv.field(event.actorPrefix()) + "," + Csv.field(event.tenantId()) + ","
                            + Csv.field(event.action()) + "," + Csv.field(event.target()) + ","
                            + Csv.field(event.sourceAddress()) + "," + Csv.field(event.outcome()) + ","
                            + event.status() + "," + event.occurrences() + "\r\n");
                }
                if (page.size() < CSV_PAGE) {
                    break;
                }
                before = Optional.of(page.getLast().id());
            }
        } catch (IOException e) {
            // the client went away mid-export
            LoggerFactory.getLogger(AdminAuditService.class).debug("audit export cut off: {}", e.toString());
        }
    }
}
