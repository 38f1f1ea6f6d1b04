package dev.atrium.registry;

import static java.util.Objects.requireNonNull;

import java.nio.file.Path;

/** An uploaded file in the staging area: hashed and on disk, not yet part of the store. */
public record StagedArtifact(Path path, String sha256, long sizeBytes) {
    public StagedArtifact {
        requireNonNull(path, "path is null");
        requireNonNull(sha256, "sha256 is null");
    }
}
