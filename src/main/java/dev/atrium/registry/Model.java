package dev.atrium.registry;

import static java.util.Objects.requireNonNull;

import dev.atrium.engine.EngineKind;
import dev.atrium.engine.ModelTask;
import dev.atrium.store.EpochMicros;
import java.time.Instant;
import java.util.regex.Pattern;

/**
 * A named model: who owns it, what it does and which engine serves it. Its artifacts live in its versions.
 *
 * @param owner the owning tenant's id, or {@link #PUBLIC} for a model every tenant sees
 */
public record Model(long id, String owner, String name, ModelTask task, EngineKind engine, String description,
        Instant createdAt) {
    /** The owner of public models, which the platform admin publishes. */
    public static final String PUBLIC = "";
    private static final Pattern NAME = Pattern.compile("[a-z0-9][a-z0-9._-]{0,127}");

    public Model {
        requireNonNull(owner, "owner is null");
        requireNonNull(name, "name is null");
        requireNonNull(task, "task is null");
        requireNonNull(engine, "engine is null");
        requireNonNull(description, "description is null");
        createdAt = EpochMicros.truncate(requireNonNull(createdAt, "createdAt is null"));
    }

    public boolean isPublic() {
        return owner.equals(PUBLIC);
    }

    /** Lowercase letters, digits, '-', '.' and '_', starting with a letter or digit, at most 128 characters. */
    public static boolean isValidName(String name) {
        return name != null && NAME.matcher(name).matches();
    }
}
