package dev.atrium.tenancy;

import dev.atrium.store.EpochMicros;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import org.jdbi.v3.core.Jdbi;
import org.jdbi.v3.core.statement.Update;
import tools.jackson.core.type.TypeReference;
import tools.jackson.databind.ObjectMapper;
import tools.jackson.databind.json.JsonMapper;

/** The tenants and api_keys tables. Rules live in {@link Tenancy}. */
final class TenancyStore {
    private static final ObjectMapper JSON = JsonMapper.builder().build();
    private static final TypeReference<List<String>> STRINGS = new TypeReference<>() {};

    private final Jdbi jdbi;

    TenancyStore(Jdbi jdbi) {
        this.jdbi = jdbi;
    }

    // ---- tenants ------------------------------------------------------------------------------------------------

    void insertTenant(Tenant tenant) {
        jdbi.useHandle(handle -> handle.createUpdate("""
                INSERT INTO tenants (id, name, rpm, tpm, max_concurrent, created_at, require_signed_uploads)
                VALUES (:id, :name, :rpm, :tpm, :max_concurrent, :created_at, :require_signed_uploads)""")
                .bind("id", tenant.id())
                .bind("name", tenant.name())
                .bind("rpm", tenant.limits().rpm())
                .bind("tpm", tenant.limits().tpm())
                .bind("max_concurrent", tenant.limits().maxConcurrent())
                .bind("created_at", EpochMicros.of(tenant.createdAt()))
                .bind("require_signed_uploads", tenant.requireSignedUploads() ? 1 : 0)
                .execute());
    }

    /** Sets whether uploads to the tenant's models must be signed. */
    void setRequireSignedUploads(String id, boolean required) {
        jdbi.useHandle(handle -> handle.createUpdate(
                        "UPDATE tenants SET require_signed_uploads = :required WHERE id = :id AND deleted_at IS NULL")
                .bind("required", required ? 1 : 0)
                .bind("id", id)
                .execute());
    }

    Optional<Tenant> findTenant(String id) {
        return jdbi.withHandle(handle -> handle.createQuery("SELECT * FROM tenants WHERE id = :id AND deleted_at IS NULL")
                .bind("id", id).map((rs, ctx) -> tenant(rs)).findOne());
    }

    Optional<Tenant> findTenantByName(String name) {
        return jdbi.withHandle(handle -> handle.createQuery("SELECT * FROM tenants WHERE name = :name AND deleted_at IS NULL")
                .bind("name", name).map((rs, ctx) -> tenant(rs)).findOne());
    }

    List<Tenant> listTenants() {
        return jdbi.withHandle(handle -> handle.createQuery("SELECT * FROM tenants WHERE deleted_at IS NULL ORDER BY name")
                .map((rs, ctx) -> tenant(rs)).list());
    }

    /**
     * Marks a tenant deleted, freeing its name, and revokes its keys. Rows stay, so that keys and audit rows
     * keep pointing at it.
     */
    void deleteTenant(String id, Instant now) {
        jdbi.useTransaction(handle -> {
            handle.createUpdate("UPDATE api_keys SET revoked_at = :now WHERE tenant_id = :id AND revoked_at IS NULL")
                    .bind("now", EpochMicros.of(now)).bind("id", id).execute();
            handle.createUpdate("UPDATE tenants SET deleted_at = :now, name = 'deleted-' || id WHERE id = :id")
                    .bind("now", EpochMicros.of(now)).bind("id", id).execute();
        });
    }

    // ---- keys ---------------------------------------------------------------------------------------------------

    void insertKey(ApiKey key, String secretSha256) {
        jdbi.useHandle(handle -> bindKey(handle.createUpdate("""
                INSERT INTO api_keys (id, tenant_id, role, name, prefix, secret_sha256, models, rpm, tpm,
                                      max_concurrent, expires_at, created_at)
                VALUES (:id, :tenant_id, :role, :name, :prefix, :secret_sha256, :models, :rpm, :tpm,
                        :max_concurrent, :expires_at, :created_at)"""), key)
                .bind("tenant_id", key.tenantId())
                .bind("role", key.role().wireName())
                .bind("prefix", key.prefix())
                .bind("secret_sha256", secretSha256)
                .bind("created_at", EpochMicros.of(key.createdAt()))
                .execute());
    }

    /** Writes the fields a PATCH may change: name, models, limits, expiry. */
    void updateKey(ApiKey key) {
        jdbi.useHandle(handle -> bindKey(handle.createUpdate("""
                UPDATE api_keys SET name = :name, models = :models, rpm = :rpm, tpm = :tpm,
                                    max_concurrent = :max_concurrent, expires_at = :expires_at
                WHERE id = :id"""), key).execute());
    }

    private static Update bindKey(Update update, ApiKey key) {
        return update.bind("id", key.id())
                .bind("name", key.name())
                .bind("models", key.models().isEmpty() ? null : JSON.writeValueAsString(key.models()))
                .bind("rpm", key.limits().rpm())
                .bind("tpm", key.limits().tpm())
                .bind("max_concurrent", key.limits().maxConcurrent())
                .bind("expires_at", EpochMicros.ofNullable(key.expiresAt()));
    }

    boolean revokeKey(String id, Instant now) {
        return jdbi.withHandle(handle -> handle.createUpdate(
                        "UPDATE api_keys SET revoked_at = :now WHERE id = :id AND revoked_at IS NULL")
                .bind("now", EpochMicros.of(now)).bind("id", id).execute() > 0);
    }

    void touchKey(String id, Instant now) {
        jdbi.useHandle(handle -> handle.createUpdate("UPDATE api_keys SET last_used_at = :now WHERE id = :id")
                .bind("now", EpochMicros.of(now)).bind("id", id).execute());
    }

    Optional<ApiKey> findKey(String id) {
        return jdbi.withHandle(handle -> handle.createQuery("SELECT * FROM api_keys WHERE id = :id")
                .bind("id", id).map((rs, ctx) -> key(rs)).findOne());
    }

    Optional<ApiKey> findKeyBySecretHash(String sha256) {
        return jdbi.withHandle(handle -> handle.createQuery(
                        "SELECT * FROM api_keys WHERE secret_sha256 = :sha256")
                .bind("sha256", sha256).map((rs, ctx) -> key(rs)).findOne());
    }

    /** Keys of one tenant, or of all tenants and the platform when {@code tenantId} is null; oldest first. */
    List<ApiKey> listKeys(String tenantId) {
        return jdbi.withHandle(handle -> handle.createQuery(
                        "SELECT * FROM api_keys WHERE :tenant IS NULL OR tenant_id = :tenant ORDER BY created_at, id")
                .bind("tenant", tenantId)
                .map((rs, ctx) -> key(rs)).list());
    }

    long countKeys() {
        return jdbi.withHandle(handle -> handle.createQuery("SELECT COUNT(*) FROM api_keys").mapTo(Long.class).one());
    }

    private static Tenant tenant(ResultSet rs) throws SQLException {
        return new Tenant(rs.getString("id"), rs.getString("name"), limits(rs), EpochMicros.instant(rs, "created_at"),
                rs.getInt("require_signed_uploads") == 1);
    }

    private static ApiKey key(ResultSet rs) throws SQLException {
        String models = rs.getString("models");
        return new ApiKey(
                rs.getString("id"),
                rs.getString("tenant_id"),
                Role.fromWireName(rs.getString("role")).orElseThrow(),
                rs.getString("name"),
                rs.getString("prefix"),
                models == null ? List.of() : JSON.readValue(models, STRINGS),
                limits(rs),
                instant(rs, "expires_at"),
                EpochMicros.instant(rs, "created_at"),
                instant(rs, "last_used_at"),
                instant(rs, "revoked_at"));
    }

    private static Limits limits(ResultSet rs) throws SQLException {
        return new Limits(integer(rs, "rpm"), integer(rs, "tpm"), integer(rs, "max_concurrent"));
    }

    private static Integer integer(ResultSet rs, String column) throws SQLException {
        int value = rs.getInt(column);
        return rs.wasNull() ? null : value;
    }

    private static Instant instant(ResultSet rs, String column) throws SQLException {
        return EpochMicros.nullableInstant(rs, column);
    }
}
