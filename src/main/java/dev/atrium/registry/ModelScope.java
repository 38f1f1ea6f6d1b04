package dev.atrium.registry;

import static java.util.Objects.requireNonNull;

import java.util.Optional;
import java.util.function.Predicate;

/**
 * Which models a caller sees: its tenant's private models and the public ones, narrowed by its key's allowlist.
 * The platform (no tenant) sees the public models.
 *
 * @param tenantId the caller's tenant, or null for the platform
 * @param allowed which model names the caller's key may use
 */
public record ModelScope(String tenantId, Predicate<String> allowed) {
    /** The platform's scope: every public model. */
    public static final ModelScope PLATFORM = new ModelScope(null, name -> true);

    public ModelScope {
        requireNonNull(allowed, "allowed is null");
    }

    /** The owner value of models this scope creates and manages: the tenant, or '' for public models. */
    public String owner() {
        return tenantId == null ? Model.PUBLIC : tenantId;
    }

    /** The scope of a model's owner, with every model it owns allowed: work done for the owner, not a caller. */
    public static ModelScope ownerOf(Model model) {
        return new ModelScope(model.isPublic() ? null : model.owner(), name -> true);
    }

    public Optional<String> tenant() {
        return Optional.ofNullable(tenantId);
    }
}
