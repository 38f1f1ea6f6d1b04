package dev.atrium.tenancy;

import static java.util.Objects.requireNonNull;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import dev.atrium.AtriumException;
import dev.atrium.ErrorCode;
import dev.atrium.store.ChangeFeed;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import org.jdbi.v3.core.Jdbi;

/**
 * Tenants and their API keys, with the rules of who may see and change what.
 *
 * <p>Every method that acts for a caller takes the caller's key. Rules are checked in two steps, so that they
 * give nothing away: first the role (403 for an action the role can never take, whatever the target), then
 * visibility (a key or tenant of another tenant answers 404, exactly like one that does not exist).
 *
 * <p>Authentication caches a looked-up key for at most {@link #KEY_CACHE_TTL}, so a key revoked on another node
 * sharing the store stops working within that time; one revoked here stops at once.
 */
public final class Tenancy {
    public static final Duration KEY_CACHE_TTL = Duration.ofSeconds(5);
    private static final Duration LAST_USED_RESOLUTION = Duration.ofMinutes(1);

    private record CachedKey(ApiKey key, long loadedAtNanos) {}

    private record CachedTenant(Optional<Tenant> tenant, long loadedAtNanos) {}

    private final TenancyStore store;
    private final Clock clock;
    /** Keys and tenants used lately, each kept at most {@link #KEY_CACHE_TTL}; bounded, whatever the traffic. */
    private final Cache<String, CachedKey> keysBySecretHash = Caffeine.newBuilder().maximumSize(100_000)
            .expireAfterWrite(KEY_CACHE_TTL).build();
    private final Cache<String, CachedTenant> tenantsById = Caffeine.newBuilder().maximumSize(100_000)
            .expireAfterWrite(KEY_CACHE_TTL).build();

    private final ChangeFeed changes;

    public Tenancy(Jdbi jdbi, Clock clock) {
        this(jdbi, clock, ChangeFeed.none());
    }

    /** Tenancy whose key and tenant changes other replicas hear of through the feed, and theirs here. */
    public Tenancy(Jdbi jdbi, Clock clock, ChangeFeed changes) {
        this.store = new TenancyStore(jdbi);
        this.clock = requireNonNull(clock, "clock is null");
        this.changes = requireNonNull(changes, "changes is null");
        changes.subscribe(ChangeFeed.Topic.KEYS, keysBySecretHash::invalidateAll);
        changes.subscribe(ChangeFeed.Topic.TENANTS, () -> {
            tenantsById.invalidateAll();
            keysBySecretHash.invalidateAll();
        });
    }

    // ---- authentication -----------------------------------------------------------------------------------------

    /** The active key with this secret, if any. Never logs or keeps the secret, only its hash. */
    public Optional<ApiKey> authenticate(String secret) {
        if (!KeySecrets.isWellFormed(secret)) {
            return Optional.empty();
        }
        String hash = KeySecrets.sha256(secret);
        CachedKey cached = keysBySecretHash.getIfPresent(hash);
        long now = System.nanoTime();
        ApiKey key;
        if (cached != null && now - cached.loadedAtNanos() < KEY_CACHE_TTL.toNanos()) {
            key = cached.key();
        } else {
            Optional<ApiKey> stored = store.findKeyBySecretHash(hash);
            if (stored.isEmpty()) {
                keysBySecretHash.invalidate(hash);
                return Optional.empty();
            }
            key = stored.get();
            keysBySecretHash.put(hash, new CachedKey(key, now));
        }
        Instant instant = clock.instant();
        if (!key.isActive(instant)) {
            return Optional.empty();
        }
        if (key.lastUsedAt() == null || key.lastUsedAt().plus(LAST_USED_RESOLUTION).isBefore(instant)) {
            store.touchKey(key.id(), instant);
            key = withLastUsed(key, instant);
            keysBySecretHash.put(hash, new CachedKey(key, now));
        }
        return Optional.of(key);
    }

    /** A key by id if it is usable now, for work the platform does on its behalf later (a training job's run). */
    public Optional<ApiKey> activeKey(String id) {
        Instant now = clock.instant();
        return store.findKey(id).filter(key -> key.isActive(now));
    }

    private void forgetCached(String keyId) {
        keysBySecretHash.asMap().values().removeIf(cached -> cached.key().id().equals(keyId));
        changes.publish(ChangeFeed.Topic.KEYS);
    }

    // ---- tenants ------------------------------------------------------------------------------------------------

    public Tenant createTenant(ApiKey actor, String name, Limits limits) {
        return createTenant(actor, name, limits, false);
    }

    /** @param requireSignedUploads whether uploads to the tenant's models must be signed by a trusted publisher */
    public Tenant createTenant(ApiKey actor, String name, Limits limits, boolean requireSignedUploads) {
        requireAdmin(actor);
        if (!Tenant.isValidName(name)) {
            throw AtriumException.invalidParam("name", "tenant name '" + name + "' is not valid: letters, digits,"
                    + " spaces, '.', '_' and '-', at most 100 characters");
        }
        if (store.findTenantByName(name).isPresent()) {
            throw new AtriumException(ErrorCode.CONFLICT, "a tenant named '" + name + "' already exists");
        }
        Tenant tenant = new Tenant(KeySecrets.newId("ten"), name, limits, clock.instant(), requireSignedUploads);
        store.insertTenant(tenant);
        changes.publish(ChangeFeed.Topic.TENANTS);
        return tenant;
    }

    public List<Tenant> listTenants(ApiKey actor) {
        requireAdmin(actor);
        return store.listTenants();
    }

    public Tenant tenant(ApiKey actor, String id) {
        requireAdmin(actor);
        return store.findTenant(id).orElseThrow(() -> tenantNotFound(id));
    }

    /** A tenant by id or name, for the platform's own use (no caller, no rules). */
    public Optional<Tenant> findTenant(String reference) {
        return store.findTenant(reference).or(() -> store.findTenantByName(reference));
    }

    /** The tenant a key belongs to, for admission (cached like keys); empty for platform keys. */
    public Optional<Tenant> tenantOf(ApiKey key) {
        if (key.tenantId() == null) {
            return Optional.empty();
        }
        long now = System.nanoTime();
        CachedTenant cached = tenantsById.getIfPresent(key.tenantId());
        if (cached != null && now - cached.loadedAtNanos() < KEY_CACHE_TTL.toNanos()) {
            return cached.tenant();
        }
        Optional<Tenant> tenant = store.findTenant(key.tenantId());
        tenantsById.put(key.tenantId(), new CachedTenant(tenant, now));
        return tenant;
    }

    /** Sets whether uploads to a tenant's models must be signed; only the platform admin may. */
    public Tenant setRequireSignedUploads(ApiKey actor, String id, boolean required) {
        requireAdmin(actor);
        store.findTenant(id).orElseThrow(() -> tenantNotFound(id));
        store.setRequireSignedUploads(id, required);
        tenantsById.invalidate(id);
        changes.publish(ChangeFeed.Topic.TENANTS);
        return store.findTenant(id).orElseThrow(() -> tenantNotFound(id));
    }

    /**
     * Whether uploads to a tenant's models must be signed, read from the store (not the admission cache), so that a
     * policy just switched on holds for the very next upload.
     */
    public boolean requiresSignedUploads(String tenantId) {
        return store.findTenant(tenantId).map(Tenant::requireSignedUploads).orElse(false);
    }

    public void deleteTenant(ApiKey actor, String id) {
        requireAdmin(actor);
        store.findTenant(id).orElseThrow(() -> tenantNotFound(id));
        store.deleteTenant(id, clock.instant());
        keysBySecretHash.invalidateAll();
        tenantsById.invalidate(id);
        changes.publish(ChangeFeed.Topic.TENANTS);
    }

    // ---- keys ---------------------------------------------------------------------------------------------------

    public CreatedKey createKey(ApiKey actor, KeySpec spec) {
        return createKey(actor, spec, tenantId -> { });
    }

    /**
     * Creates a key once {@code before} has accepted it, given the key's tenant (null for a platform key): what
     * must hold for the key to be made (the budget it is made with, say) is checked there, before anything is
     * written.
     */
    public CreatedKey createKey(ApiKey actor, KeySpec spec, java.util.function.Consumer<String> before) {
        String tenantId = tenantOfNewKey(actor, spec);
        checkName(spec.name());
        ModelPatterns.check(spec.models());
        Instant now = clock.instant();
        spec.expiresAt().ifPresent(expiry -> {
            if (!expiry.isAfter(now)) {
                throw AtriumException.invalidParam("expires_at", "expires_at must be in the future");
            }
        });
        before.accept(tenantId);
        String secret = KeySecrets.generate();
        ApiKey key = new ApiKey(KeySecrets.newId("key"), tenantId, spec.role(), spec.name(), KeySecrets.prefix(secret),
                spec.models(), spec.limits(), spec.expiresAt().orElse(null), now, null, null);
        store.insertKey(key, KeySecrets.sha256(secret));
        return new CreatedKey(key, secret);
    }

    private String tenantOfNewKey(ApiKey actor, KeySpec spec) {
        requireManager(actor);
        String tenantId;
        if (actor.role() == Role.ADMIN) {
            if (spec.role() == Role.ADMIN) {
                if (spec.tenant().isPresent()) {
                    throw AtriumException.invalidParam("tenant", "admin keys belong to the platform, not to a tenant");
                }
                tenantId = null;
            } else {
                String reference = spec.tenant().orElseThrow(() -> AtriumException.invalidParam("tenant",
                        "a " + spec.role().wireName() + " key needs a tenant"));
                tenantId = store.findTenant(reference).or(() -> store.findTenantByName(reference))
                        .orElseThrow(() -> tenantNotFound(reference)).id();
            }
        } else {
            if (spec.role() == Role.ADMIN) {
                throw permissionDenied("only a platform admin can create admin keys");
            }
            String own = actor.tenantId();
            if (spec.tenant().isPresent() && !spec.tenant().get().equals(own)
                    && !store.findTenant(own).map(Tenant::name).equals(spec.tenant())) {
                throw tenantNotFound(spec.tenant().get());
            }
            tenantId = own;
        }
        return tenantId;
    }

    /**
     * Registers a secret chosen outside (ATRIUM_ADMIN_KEY) as a platform admin key, unless a key with that secret
     * exists already.
     */
    public Optional<ApiKey> registerAdminSecret(String secret, String name) {
        if (!KeySecrets.isWellFormed(secret)) {
            throw new IllegalArgumentException("ATRIUM_ADMIN_KEY must be 'atr-' followed by at least 43 URL-safe"
                    + " base64 characters (256 bits)");
        }
        String hash = KeySecrets.sha256(secret);
        if (store.findKeyBySecretHash(hash).isPresent()) {
            return Optional.empty();
        }
        ApiKey key = new ApiKey(KeySecrets.newId("key"), null, Role.ADMIN, name, KeySecrets.prefix(secret), List.of(),
                Limits.NONE, null, clock.instant(), null, null);
        store.insertKey(key, hash);
        return Optional.of(key);
    }

    /** Creates the first platform admin key when the store has no key at all. */
    public Optional<CreatedKey> createFirstAdminKey() {
        if (store.countKeys() > 0) {
            return Optional.empty();
        }
        String secret = KeySecrets.generate();
        ApiKey key = new ApiKey(KeySecrets.newId("key"), null, Role.ADMIN, "bootstrap admin", KeySecrets.prefix(secret),
                List.of(), Limits.NONE, null, clock.instant(), null, null);
        store.insertKey(key, KeySecrets.sha256(secret));
        return Optional.of(new CreatedKey(key, secret));
    }

    /** Keys the actor may see: all for an admin (optionally one tenant's), its tenant's for an owner. */
    public List<ApiKey> listKeys(ApiKey actor, Optional<String> tenant) {
        requireManager(actor);
        if (actor.role() == Role.ADMIN) {
            if (tenant.isEmpty()) {
                return store.listKeys(null);
            }
            String id = store.findTenant(tenant.get()).or(() -> store.findTenantByName(tenant.get()))
                    .orElseThrow(() -> tenantNotFound(tenant.get())).id();
            return store.listKeys(id);
        }
        if (tenant.isPresent() && !tenant.get().equals(actor.tenantId())
                && !store.findTenant(actor.tenantId()).map(Tenant::name).equals(tenant)) {
            throw tenantNotFound(tenant.get());
        }
        return store.listKeys(actor.tenantId());
    }

    public ApiKey key(ApiKey actor, String id) {
        requireManager(actor);
        return visibleKey(actor, id);
    }

    /**
     * Saves a changed key. Only name, models, limits and expiry may change: the id, tenant and role of the stored
     * key are kept whatever the caller sends.
     */
    public ApiKey updateKey(ApiKey actor, ApiKey changed) {
        requireManager(actor);
        ApiKey stored = visibleKey(actor, changed.id());
        checkName(changed.name());
        ModelPatterns.check(changed.models());
        ApiKey updated = new ApiKey(stored.id(), stored.tenantId(), stored.role(), changed.name(), stored.prefix(),
                changed.models(), changed.limits(), changed.expiresAt(), stored.createdAt(), stored.lastUsedAt(),
                stored.revokedAt());
        store.updateKey(updated);
        forgetCached(updated.id());
        return updated;
    }

    public ApiKey revokeKey(ApiKey actor, String id) {
        requireManager(actor);
        ApiKey key = visibleKey(actor, id);
        store.revokeKey(id, clock.instant());
        forgetCached(id);
        return store.findKey(id).orElse(key);
    }

    private ApiKey visibleKey(ApiKey actor, String id) {
        return store.findKey(id)
                .filter(key -> actor.role() == Role.ADMIN || actor.tenantId().equals(key.tenantId()))
                .orElseThrow(() -> new AtriumException(ErrorCode.NOT_FOUND, "key '" + id + "' does not exist"));
    }

    // ---- rules --------------------------------------------------------------------------------------------------

    private static void checkName(String name) {
        if (name.isBlank() || name.length() > 100) {
            throw AtriumException.invalidParam("name", "a key name has 1 to 100 characters");
        }
    }

    private static void requireAdmin(ApiKey actor) {
        if (actor.role() != Role.ADMIN) {
            throw permissionDenied("only a platform admin can manage tenants");
        }
    }

    private static void requireManager(ApiKey actor) {
        if (!actor.role().manages()) {
            throw permissionDenied("a " + actor.role().wireName() + " key cannot manage keys");
        }
    }

    private static AtriumException permissionDenied(String message) {
        return new AtriumException(ErrorCode.PERMISSION_DENIED, message);
    }

    private static AtriumException tenantNotFound(String reference) {
        return new AtriumException(ErrorCode.NOT_FOUND, "tenant '" + reference + "' does not exist");
    }

    private static ApiKey withLastUsed(ApiKey key, Instant lastUsed) {
        return new ApiKey(key.id(), key.tenantId(), key.role(), key.name(), key.prefix(), key.models(), key.limits(),
                key.expiresAt(), key.createdAt(), lastUsed, key.revokedAt());
    }
}
