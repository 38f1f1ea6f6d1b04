package dev.atrium.engine;

import static java.util.Objects.requireNonNull;

import dev.atrium.scheduling.SchedulingOptions;
import java.util.Optional;

/**
 * A model version resolved for serving: what an engine needs to load and run it.
 *
 * @param scheduling how the version is scheduled, as set for it (unset fields take the engine's defaults)
 * @param secret the upstream API key of a remote model, or null
 */
public record Deployment(VersionKey key, ModelTask task, ArtifactFiles files, ModelMetadata metadata,
        SchedulingOptions scheduling, Secret secret) {
    public Deployment {
        requireNonNull(key, "key is null");
        requireNonNull(task, "task is null");
        requireNonNull(files, "files is null");
        requireNonNull(metadata, "metadata is null");
        requireNonNull(scheduling, "scheduling is null");
    }

    public Deployment(VersionKey key, ModelTask task, ArtifactFiles files, ModelMetadata metadata) {
        this(key, task, files, metadata, SchedulingOptions.none(), null);
    }

    public Optional<Secret> upstreamKey() {
        return Optional.ofNullable(secret);
    }
}
