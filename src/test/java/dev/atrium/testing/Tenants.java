package dev.atrium.testing;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import tools.jackson.databind.JsonNode;

/** Creates tenants and keys through the management API, for tests. */
public final class Tenants {
    private final Http admin;

    public Tenants(Http admin) {
        this.admin = admin;
    }

    /** A key as created: its id and its secret. */
    public record Key(String id, String secret, String tenant, String role) {}

    public String tenant(String name) {
        Http.Reply reply = admin.postJson("/admin/tenants", Map.of("name", name));
        assertThat(reply.status()).as(reply.toString()).isEqualTo(201);
        return reply.json().path("id").asString();
    }

    public String tenant(String name, Map<String, Object> limits) {
        Map<String, Object> body = new LinkedHashMap<>(limits);
        body.put("name", name);
        Http.Reply reply = admin.postJson("/admin/tenants", body);
        assertThat(reply.status()).as(reply.toString()).isEqualTo(201);
        return reply.json().path("id").asString();
    }

    public Key key(String tenant, String role) {
        return key(tenant, role, Map.of());
    }

    /** @param fields extra fields: models, rpm, tpm, max_concurrent, expires_at, name */
    public Key key(String tenant, String role, Map<String, Object> fields) {
        Map<String, Object> body = new LinkedHashMap<>(fields);
        body.put("role", role);
        if (tenant != null) {
            body.put("tenant", tenant);
        }
        Http.Reply reply = admin.postJson("/admin/keys", body);
        assertThat(reply.status()).as(reply.toString()).isEqualTo(201);
        JsonNode key = reply.json();
        return new Key(key.path("id").asString(), key.path("key").asString(), tenant, role);
    }

    public static Map<String, Object> models(String... patterns) {
        return Map.of("models", List.of(patterns));
    }
}
