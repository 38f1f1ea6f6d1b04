package dev.atrium.admin;

import static java.util.Objects.requireNonNull;

import dev.atrium.AtriumException;
import dev.atrium.audit.AuditTrail;
import dev.atrium.gateway.Caller;
import dev.atrium.metering.Budget;
import dev.atrium.metering.Budgets;
import dev.atrium.registry.ModelRegistry;
import dev.atrium.server.Json;
import dev.atrium.tenancy.ApiKey;
import dev.atrium.tenancy.CreatedKey;
import dev.atrium.tenancy.KeySpec;
import dev.atrium.tenancy.Limits;
import dev.atrium.tenancy.Role;
import dev.atrium.tenancy.Tenancy;
import dev.atrium.tenancy.Tenant;
import io.helidon.http.Status;
import io.helidon.webserver.http.HttpRules;
import io.helidon.webserver.http.HttpService;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import tools.jackson.databind.JsonNode;

/** The management API for tenants and API keys. Secrets appear once, in the answer to the key's creation. */
public final class AdminTenancyService implements HttpService {
    private static final Set<String> TENANT_FIELDS = Set.of("name", "rpm", "tpm", "max_concurrent",
            "require_signed_uploads");
    private static final Set<String> PATCHABLE_TENANT_FIELDS = Set.of("require_signed_uploads");
    private static final Set<String> KEY_FIELDS = Set.of("tenant", "role", "name", "models", "rpm", "tpm",
            "max_concurrent", "expires_at", "budget");
    private static final Set<String> KEY_BUDGET_FIELDS = Set.of("monthly_limit", "currency", "alert_at");
    private static final Set<String> PATCHABLE_FIELDS = Set.of("name", "models", "rpm", "tpm", "max_concurrent",
            "expires_at");

    private final Tenancy tenancy;
    private final Budgets budgets;
    private final ModelRegistry registry;
    private final long maxRequestBytes;
    private final java.util.function.Consumer<String> erase;

    /**
     * @param budgets where a key made with a {@code budget} gets it
     * @param erase erases a deleted tenant's data beyond models and keys (its training files and data key)
     */
    public AdminTenancyService(Tenancy tenancy, Budgets budgets, ModelRegistry registry, long maxRequestBytes,
            java.util.function.Consumer<String> erase) {
        this.erase = erase;
        this.tenancy = requireNonNull(tenancy, "tenancy is null");
        this.budgets = requireNonNull(budgets, "budgets is null");
        this.registry = requireNonNull(registry, "registry is null");
        this.maxRequestBytes = maxRequestBytes;
    }

    record LimitsView(Integer rpm, Integer tpm, Integer maxConcurrent) {
        static LimitsView of(Limits limits) {
            return new LimitsView(limits.rpm(), limits.tpm(), limits.maxConcurrent());
        }
    }

    record TenantView(String id, String name, LimitsView limits, Instant createdAt, boolean requireSignedUploads) {
        static TenantView of(Tenant tenant) {
            return new TenantView(tenant.id(), tenant.name(), LimitsView.of(tenant.limits()), tenant.createdAt(),
                    tenant.requireSignedUploads());
        }
    }

    record TenantListView(List<TenantView> tenants) {}

    record KeyView(String id, String name, String tenant, String role, String prefix, List<String> models,
            LimitsView limits, Instant expiresAt, Instant createdAt, Instant lastUsedAt, boolean revoked,
            Instant revokedAt) {
        static KeyView of(ApiKey key) {
            return new KeyView(key.id(), key.name(), key.tenantId(), key.role().wireName(), key.prefix(), key.models(),
                    LimitsView.of(key.limits()), key.expiresAt(), key.createdAt(), key.lastUsedAt(), key.isRevoked(),
                    key.revokedAt());
        }
    }

    /** A new key, with its secret (shown once) and the budget it was made with (null for none). */
    record CreatedKeyView(String id, String key, String name, String tenant, String role, String prefix,
            List<String> models, LimitsView limits, Instant expiresAt, Instant createdAt, KeyBudgetView budget) {
        static CreatedKeyView of(CreatedKey created, Budget budget) {
            ApiKey key = created.key();
            return new CreatedKeyView(key.id(), created.secret(), key.name(), key.tenantId(), key.role().wireName(),
                    key.prefix(), key.models(), LimitsView.of(key.limits()), key.expiresAt(), key.createdAt(),
                    budget == null ? null : new KeyBudgetView(budget.monthlyLimit().toPlainString(), budget.currency(),
                            budget.alertAt().stream().map(java.math.BigDecimal::toPlainString).toList()));
        }

        @Override
        public String toString() {
            return "CreatedKeyView[" + id + "]";
        }
    }

    /** A key's budget as {@code POST /admin/budgets} sets it; what it spent is at {@code GET /admin/budgets}. */
    record KeyBudgetView(String monthlyLimit, String currency, List<String> alertAt) {}

    record KeyListView(List<KeyView> keys) {}

    @Override
    public void routing(HttpRules rules) {
        rules.post("/tenants", this::createTenant)
                .get("/tenants", this::listTenants)
                .get("/tenants/{id}", this::getTenant)
                .patch("/tenants/{id}", this::updateTenant)
                .delete("/tenants/{id}", this::deleteTenant)
                .post("/keys", this::createKey)
                .get("/keys", this::listKeys)
                .get("/keys/{id}", this::getKey)
                .patch("/keys/{id}", this::updateKey)
                .delete("/keys/{id}", this::revokeKey);
    }

    // ---- tenants ------------------------------------------------------------------------------------------------

    private void createTenant(ServerRequest request, ServerResponse response) {
        Caller caller = Caller.current();
        requireAdmin(caller);
        JsonNode body = Json.readObject(request, maxRequestBytes);
        Json.rejectUnknownFields(body, TENANT_FIELDS, "a tenant");
        String name = AdminJson.requiredString(body, "name");
        Tenant tenant = tenancy.createTenant(caller.key(), name, limits(body),
                optionalBoolean(body, "require_signed_uploads").orElse(false));
        AuditTrail.note("tenant.create", tenant.id(), tenant.id());
        response.header("Location", "/admin/tenants/" + tenant.id());
        Json.send(response, Status.CREATED_201, TenantView.of(tenant));
    }

    private void listTenants(ServerRequest request, ServerResponse response) {
        List<TenantView> tenants = tenancy.listTenants(Caller.current().key()).stream().map(TenantView::of).toList();
        Json.send(response, Status.OK_200, new TenantListView(tenants));
    }

    private void getTenant(ServerRequest request, ServerResponse response) {
        Tenant tenant = tenancy.tenant(Caller.current().key(), id(request));
        Json.send(response, Status.OK_200, TenantView.of(tenant));
    }

    /** Changes a tenant's policy: whether uploads to its models must be signed (the platform admin's call). */
    private void updateTenant(ServerRequest request, ServerResponse response) {
        Caller caller = Caller.current();
        requireAdmin(caller);
        AuditTrail.note("tenant.update", id(request), id(request));
        JsonNode body = Json.readObject(request, maxRequestBytes);
        Json.unknownField(body, PATCHABLE_TENANT_FIELDS).ifPresent(field -> {
            throw AtriumException.invalidParam(field, "'" + field + "' cannot be changed; only"
                    + " require_signed_uploads can");
        });
        Tenant tenant = tenancy.tenant(caller.key(), id(request));
        Optional<Boolean> required = optionalBoolean(body, "require_signed_uploads");
        if (required.isPresent()) {
            tenant = tenancy.setRequireSignedUploads(caller.key(), tenant.id(), required.get());
        }
        Json.send(response, Status.OK_200, TenantView.of(tenant));
    }

    /** Deletes the tenant's private models, then the tenant, revoking its keys. */
    private void deleteTenant(ServerRequest request, ServerResponse response) {
        Caller caller = Caller.current();
        requireAdmin(caller);
        AuditTrail.note("tenant.delete", id(request), id(request));
        Tenant tenant = tenancy.tenant(caller.key(), id(request));
        registry.deleteModelsOf(tenant.id());
        erase.accept(tenant.id());
        tenancy.deleteTenant(caller.key(), tenant.id());
        Json.noContent(response);
    }

    // ---- keys ---------------------------------------------------------------------------------------------------

    private void createKey(ServerRequest request, ServerResponse response) {
        Caller caller = Caller.current();
        caller.requireManages();
        JsonNode body = Json.readObject(request, maxRequestBytes);
        Json.rejectUnknownFields(body, KEY_FIELDS, "a key");
        String roleName = AdminJson.requiredString(body, "role");
        Role role = Role.fromWireName(roleName).orElseThrow(() -> AtriumException.invalidParam("role",
                "unknown role '" + roleName + "'; use admin, owner, member or reader"));
        KeySpec spec = new KeySpec(AdminJson.optionalString(body, "tenant"), role,
                AdminJson.optionalString(body, "name").orElse(role.wireName() + " key"),
                AdminJson.strings(body, "models"), limits(body), AdminJson.instant(body, "expires_at"));
        BudgetFields budget = keyBudget(body);
        CreatedKey created = tenancy.createKey(caller.key(), spec, tenantId -> {
            if (budget != null) {
                if (tenantId == null) {
                    throw AtriumException.invalidParam("budget", "platform admin keys have no budget");
                }
                try {
                    budgets.check(tenantId, null, budget.monthlyLimit(), budget.currency(), budget.alertAt());
                } catch (IllegalArgumentException e) {
                    throw AtriumException.invalidParam("budget", e.getMessage());
                }
            }
        });
        AuditTrail.note("key.create", created.key().id(), created.key().tenantId());
        Budget set = null;
        if (budget != null) {
            try {
                set = budgets.set(created.key().tenantId(), created.key().id(), budget.monthlyLimit(),
                        budget.currency(), budget.alertAt());
            } catch (RuntimeException e) {
                // checked above, so only the store (or a price set in another currency meanwhile) gets here: the
                // key goes too, and its secret was never shown
                try {
                    tenancy.revokeKey(caller.key(), created.key().id());
                } catch (RuntimeException revoking) {
                    e.addSuppressed(revoking);
                }
                throw e;
            }
        }
        response.header("Location", "/admin/keys/" + created.key().id());
        Json.send(response, Status.CREATED_201, CreatedKeyView.of(created, set));
    }

    private void listKeys(ServerRequest request, ServerResponse response) {
        Optional<String> tenant = request.query().first("tenant").asOptional();
        List<KeyView> keys = tenancy.listKeys(Caller.current().key(), tenant).stream().map(KeyView::of).toList();
        Json.send(response, Status.OK_200, new KeyListView(keys));
    }

    private void getKey(ServerRequest request, ServerResponse response) {
        Json.send(response, Status.OK_200, KeyView.of(tenancy.key(Caller.current().key(), id(request))));
    }

    /** Changes name, models, limits or expiry; a field sent as null is cleared, a field left out is kept. */
    private void updateKey(ServerRequest request, ServerResponse response) {
        Caller caller = Caller.current();
        caller.requireManages();
        AuditTrail.note("key.update", id(request), null);
        JsonNode body = Json.readObject(request, maxRequestBytes);
        Json.unknownField(body, PATCHABLE_FIELDS).ifPresent(field -> {
            throw AtriumException.invalidParam(field, "'" + field + "' cannot be changed; a key's tenant and"
                    + " role are fixed at creation, and only name, models, rpm, tpm, max_concurrent and"
                    + " expires_at can change");
        });
        ApiKey current = tenancy.key(caller.key(), id(request));
        AuditTrail.note("key.update", current.id(), current.tenantId());
        Limits limits = new Limits(
                body.has("rpm") ? AdminJson.positiveInteger(body, "rpm") : current.limits().rpm(),
                body.has("tpm") ? AdminJson.positiveInteger(body, "tpm") : current.limits().tpm(),
                body.has("max_concurrent") ? AdminJson.positiveInteger(body, "max_concurrent")
                        : current.limits().maxConcurrent());
        ApiKey changed = new ApiKey(current.id(), current.tenantId(), current.role(),
                body.has("name") ? AdminJson.requiredString(body, "name") : current.name(),
                current.prefix(),
                body.has("models") ? AdminJson.strings(body, "models") : current.models(),
                limits,
                body.has("expires_at") ? AdminJson.instant(body, "expires_at").orElse(null) : current.expiresAt(),
                current.createdAt(), current.lastUsedAt(), current.revokedAt());
        Json.send(response, Status.OK_200, KeyView.of(tenancy.updateKey(caller.key(), changed)));
    }

    private void revokeKey(ServerRequest request, ServerResponse response) {
        Caller caller = Caller.current();
        caller.requireManages();
        AuditTrail.note("key.revoke", id(request), null);
        ApiKey revoked = tenancy.revokeKey(caller.key(), id(request));
        AuditTrail.note("key.revoke", revoked.id(), revoked.tenantId());
        Json.send(response, Status.OK_200, KeyView.of(revoked));
    }

    // ---- request fields -----------------------------------------------------------------------------------------

    /** The {@code budget} a key is made with, or null. */
    private static BudgetFields keyBudget(JsonNode body) {
        JsonNode budget = body.get("budget");
        if (budget == null || budget.isNull()) {
            return null;
        }
        if (!budget.isObject()) {
            throw AtriumException.invalidParam("budget", "'budget' must be an object with monthly_limit, currency and"
                    + " alert_at, as POST /admin/budgets takes them");
        }
        Json.rejectUnknownFields(budget, KEY_BUDGET_FIELDS, "a key's budget");
        return BudgetFields.of(budget);
    }

    private static Limits limits(JsonNode body) {
        return new Limits(AdminJson.positiveInteger(body, "rpm"), AdminJson.positiveInteger(body, "tpm"),
                AdminJson.positiveInteger(body, "max_concurrent"));
    }

    private static Optional<Boolean> optionalBoolean(JsonNode body, String field) {
        JsonNode value = body.get(field);
        if (value == null) {
            return Optional.empty();
        }
        if (!value.isBoolean()) {
            throw AtriumException.invalidParam(field, "'" + field + "' must be true or false");
        }
        return Optional.of(value.booleanValue());
    }

    private static void requireAdmin(Caller caller) {
        if (!caller.isAdmin()) {
            throw new AtriumException(dev.atrium.ErrorCode.PERMISSION_DENIED, "only a platform admin can manage tenants");
        }
    }

    private static String id(ServerRequest request) {
        return request.path().pathParameters().get("id");
    }
}
