package dev.atrium.gateway;

import static java.util.Objects.requireNonNull;

import dev.atrium.AtriumException;
import dev.atrium.ErrorCode;
import dev.atrium.registry.ModelScope;
import dev.atrium.tenancy.ApiKey;
import dev.atrium.tenancy.ModelPatterns;
import dev.atrium.tenancy.Role;
import dev.atrium.tenancy.Tenant;
import java.util.Optional;

/** Who is calling: the authenticated key and its tenant. Bound for the length of a request. */
public record Caller(ApiKey key, Optional<Tenant> tenant) {
    public static final ScopedValue<Caller> CURRENT = ScopedValue.newInstance();

    public Caller {
        requireNonNull(key, "key is null");
        requireNonNull(tenant, "tenant is null");
    }

    /** The caller of the request being served; only open endpoints run without one. */
    public static Caller current() {
        if (!CURRENT.isBound()) {
            throw new AtriumException(ErrorCode.UNAUTHENTICATED, GatewayFilter.UNAUTHENTICATED_MESSAGE);
        }
        return CURRENT.get();
    }

    public Role role() {
        return key.role();
    }

    public boolean isAdmin() {
        return key.role() == Role.ADMIN;
    }

    /** The models this caller sees: its tenant's and the public ones (the public ones for an admin), by allowlist. */
    public ModelScope modelScope() {
        return new ModelScope(key.tenantId(), name -> ModelPatterns.allows(key.models(), name));
    }

    /**
     * Whether this caller may see an object owned by a tenant: a platform admin sees every tenant's; anyone else
     * only its own tenant's. The one rule every tenant-scoped read goes through.
     *
     * @param ownerTenantId the object's tenant, or null for the platform's own
     */
    public boolean sees(String ownerTenantId) {
        return isAdmin() || (ownerTenantId != null && ownerTenantId.equals(key.tenantId()));
    }

    /**
     * The tenant a tenant-scoped query is about: for a platform admin the one asked for (empty for all); for anyone
     * else its own, and asking for another answers 404 as if it did not exist.
     *
     * @param asked the {@code tenant} the caller named (an id or a name)
     * @param idOf a tenant's id from its id or name, if it exists
     */
    public Optional<String> tenantScope(Optional<String> asked, java.util.function.Function<String, Optional<String>> idOf) {
        if (isAdmin()) {
            return asked.map(reference -> idOf.apply(reference).orElseThrow(() -> tenantNotFound(reference)));
        }
        if (asked.isPresent() && !asked.get().equals(key.tenantId())
                && !idOf.apply(asked.get()).filter(id -> id.equals(key.tenantId())).isPresent()) {
            throw tenantNotFound(asked.get());
        }
        return Optional.of(key.tenantId());
    }

    private static AtriumException tenantNotFound(String reference) {
        return new AtriumException(ErrorCode.NOT_FOUND, "tenant '" + reference + "' does not exist");
    }

    /** Fails with 403 unless the key's role may call models. */
    public void requireCallsModels() {
        if (!key.role().callsModels()) {
            throw new AtriumException(ErrorCode.PERMISSION_DENIED, "a " + key.role().wireName()
                    + " key cannot call models");
        }
    }

    /** Fails with 403 unless the key's role manages (an owner its tenant, an admin the platform). */
    public void requireManages() {
        if (!key.role().manages()) {
            throw new AtriumException(ErrorCode.PERMISSION_DENIED, "a " + key.role().wireName()
                    + " key cannot change anything");
        }
    }
}
