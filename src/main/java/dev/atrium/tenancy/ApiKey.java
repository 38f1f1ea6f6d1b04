package dev.atrium.tenancy;

import static java.util.Objects.requireNonNull;

import dev.atrium.store.EpochMicros;
import java.time.Instant;
import java.util.List;
import java.util.Optional;

/**
 * An API key as stored: never its secret, only what identifies and limits it.
 *
 * @param tenantId the owning tenant, or null for a platform admin key
 * @param prefix the secret's first characters, to tell keys apart
 * @param models patterns of the model names it may use; empty for every model its tenant sees
 */
public record ApiKey(String id, String tenantId, Role role, String name, String prefix, List<String> models,
        Limits limits, Instant expiresAt, Instant createdAt, Instant lastUsedAt, Instant revokedAt) {

    public ApiKey {
        requireNonNull(id, "id is null");
        requireNonNull(role, "role is null");
        requireNonNull(name, "name is null");
        requireNonNull(prefix, "prefix is null");
        models = List.copyOf(models);
        requireNonNull(limits, "limits is null");
        createdAt = EpochMicros.truncate(requireNonNull(createdAt, "createdAt is null"));
        expiresAt = EpochMicros.truncateNullable(expiresAt);
        lastUsedAt = EpochMicros.truncateNullable(lastUsedAt);
        revokedAt = EpochMicros.truncateNullable(revokedAt);
        if ((tenantId == null) != (role == Role.ADMIN)) {
            throw new IllegalArgumentException("admin keys have no tenant; every other key has one");
        }
    }

    public Optional<String> tenant() {
        return Optional.ofNullable(tenantId);
    }

    public boolean isRevoked() {
        return revokedAt != null;
    }

    public boolean isExpired(Instant now) {
        return expiresAt != null && !now.isBefore(expiresAt);
    }

    /** Usable now: neither revoked nor expired. */
    public boolean isActive(Instant now) {
        return !isRevoked() && !isExpired(now);
    }
}
