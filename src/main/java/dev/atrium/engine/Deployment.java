package dev.atrium.engine;

import static java.util.Objects.requireNonNull;

/** A model version resolved for serving: what an engine needs to load and run it. */
public record Deployment(VersionKey key, ModelTask task, ArtifactFiles files, ModelMetadata metadata) {
    public Deployment {
        requireNonNull(key, "key is null");
        requireNonNull(task, "task is null");
        requireNonNull(files, "files is null");
        requireNonNull(metadata, "metadata is null");
    }
}
