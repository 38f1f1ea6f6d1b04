package dev.atrium.admin;

import static java.util.Objects.requireNonNull;

import dev.atrium.AtriumException;
import dev.atrium.ErrorCode;
import dev.atrium.audit.AuditTrail;
import dev.atrium.gateway.Caller;
import dev.atrium.registry.PublisherKeys;
import dev.atrium.server.Json;
import io.helidon.http.Status;
import io.helidon.webserver.http.HttpRules;
import io.helidon.webserver.http.HttpService;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import java.time.Instant;
import java.util.List;
import tools.jackson.databind.JsonNode;

/**
 * {@code /admin/publishers}: the publisher keys whose signatures uploads may carry. The platform admin adds and
 * revokes them; tenant owners may read the list, to know whose signatures the platform accepts. Public keys only:
 * a publisher's private key never reaches the server.
 */
public final class AdminPublishersService implements HttpService {
    private static final List<String> FIELDS = List.of("name", "public_key");

    private final PublisherKeys publishers;
    private final long maxRequestBytes;

    public AdminPublishersService(PublisherKeys publishers, long maxRequestBytes) {
        this.publishers = requireNonNull(publishers, "publishers is null");
        this.maxRequestBytes = maxRequestBytes;
    }

    record PublisherView(String id, String name, String keyId, String publicKey, Instant createdAt, boolean revoked,
            Instant revokedAt) {
        static PublisherView of(PublisherKeys.Publisher publisher) {
            return new PublisherView(publisher.id(), publisher.name(), publisher.keyId(), publisher.publicKey(),
                    publisher.createdAt(), publisher.isRevoked(), publisher.revokedAt());
        }
    }

    record PublisherList(List<PublisherView> data) {}

    @Override
    public void routing(HttpRules rules) {
        rules.get("/publishers", this::list)
                .post("/publishers", this::add)
                .delete("/publishers/{id}", this::revoke);
    }

    private void list(ServerRequest request, ServerResponse response) {
        Caller.current().requireManages();
        Json.send(response, Status.OK_200, new PublisherList(publishers.list().stream().map(PublisherView::of)
                .toList()));
    }

    private void add(ServerRequest request, ServerResponse response) {
        requirePlatformAdmin();
        JsonNode body = Json.readObject(request, maxRequestBytes);
        Json.rejectUnknownFields(body, FIELDS, "a publisher");
        PublisherKeys.Publisher added = publishers.add(AdminJson.requiredString(body, "name"),
                AdminJson.requiredString(body, "public_key"));
        AuditTrail.note("publisher.trust", added.id() + " " + added.keyId(), null);
        response.header("Location", "/admin/publishers/" + added.id());
        Json.send(response, Status.CREATED_201, PublisherView.of(added));
    }

    /** Revokes: later uploads signed by the key are refused; versions it signed keep their record. */
    private void revoke(ServerRequest request, ServerResponse response) {
        requirePlatformAdmin();
        String id = request.path().pathParameters().get("id");
        AuditTrail.note("publisher.revoke", id, null);
        PublisherKeys.Publisher revoked = publishers.revoke(id);
        AuditTrail.note("publisher.revoke", revoked.id() + " " + revoked.keyId(), null);
        Json.send(response, Status.OK_200, PublisherView.of(revoked));
    }

    private static void requirePlatformAdmin() {
        Caller caller = Caller.current();
        caller.requireManages();
        if (!caller.isAdmin()) {
            throw new AtriumException(ErrorCode.PERMISSION_DENIED, "only the platform admin can change the trusted"
                    + " publisher keys");
        }
    }
}
