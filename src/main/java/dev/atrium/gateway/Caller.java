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
