package dev.atrium.tenancy;

import static java.util.Objects.requireNonNull;

import java.time.Instant;
import java.util.List;
import java.util.Optional;

/**
 * What a new key should be.
 *
 * @param tenant the tenant's id or name; empty for an admin key, or for an owner's own tenant
 */
public record KeySpec(Optional<String> tenant, Role role, String name, List<String> models, Limits limits,
        Optional<Instant> expiresAt) {
    public KeySpec {
        requireNonNull(tenant, "tenant is null");
        requireNonNull(role, "role is null");
        requireNonNull(name, "name is null");
        models = List.copyOf(models);
        requireNonNull(limits, "limits is null");
        requireNonNull(expiresAt, "expiresAt is null");
    }
}
