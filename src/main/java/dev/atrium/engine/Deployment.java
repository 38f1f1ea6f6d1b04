package dev.atrium.engine;

import static java.util.Objects.requireNonNull;

import java.util.Optional;

/**
 * A model version resolved for serving: what an engine needs to load and run it.
 *
 * @param secret the upstream API key of a remote model, or null
 */
public record Deployment(VersionKey key, ModelTask task, ArtifactFiles files, ModelMetadata metadata, Secret secret) {
    public Deployment {
        requireNonNull(key, "key is null");
        requireNonNull(task, "task is null");
        requireNonNull(files, "files is null");
        requireNonNull(metadata, "metadata is null");
    }

    public Deployment(VersionKey key, ModelTask task, ArtifactFiles files, ModelMetadata metadata) {
        this(key, task, files, metadata, null);
    }

    public Optional<Secret> upstreamKey() {
        return Optional.ofNullable(secret);
    }
}
