package dev.atrium.engine;

import static java.util.Objects.requireNonNull;

import dev.atrium.scheduling.SchedulingOptions;
import java.util.Optional;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.JsonNodeFactory;

/**
 * A model version resolved for serving: what an engine needs to load and run it.
 *
 * @param scheduling how the version is scheduled, as set for it (unset fields take the engine's defaults)
 * @param secret the upstream API key of a remote model, or null
 * @param config the version's upload config (a JSON object, checked at upload): the task's pre- and
 *     post-processing
 * @param parts the versions a composed model is made of, by role (an embedding model under a classifier head)
 */
public record Deployment(VersionKey key, ModelTask task, ArtifactFiles files, ModelMetadata metadata,
        SchedulingOptions scheduling, Secret secret, JsonNode config, java.util.Map<String, Deployment> parts) {
    public Deployment {
        requireNonNull(key, "key is null");
        requireNonNull(task, "task is null");
        requireNonNull(files, "files is null");
        requireNonNull(metadata, "metadata is null");
        requireNonNull(scheduling, "scheduling is null");
        requireNonNull(config, "config is null");
        parts = java.util.Map.copyOf(parts);
    }

    public Deployment(VersionKey key, ModelTask task, ArtifactFiles files, ModelMetadata metadata,
            SchedulingOptions scheduling, Secret secret) {
        this(key, task, files, metadata, scheduling, secret, JsonNodeFactory.instance.objectNode(), java.util.Map.of());
    }

    public Deployment(VersionKey key, ModelTask task, ArtifactFiles files, ModelMetadata metadata) {
        this(key, task, files, metadata, SchedulingOptions.none(), null);
    }

    /** The role of the embedding model under a composed classifier's head. */
    public static final String EMBEDDING_PART = "embedding";

    /** A part of a composed model. */
    public Optional<Deployment> part(String role) {
        return Optional.ofNullable(parts.get(role));
    }

    public Optional<Secret> upstreamKey() {
        return Optional.ofNullable(secret);
    }
}
