package dev.atrium.training;

import static java.util.Objects.requireNonNull;

import dev.atrium.store.EpochMicros;
import java.time.Instant;

/**
 * A file a tenant uploaded for training: its OpenAI-style id, whose it is, what it is for, and the size and sha256
 * of its plaintext.
 *
 * @param tenantId null for the platform's own
 * @param blob where the store keeps its encrypted bytes
 */
public record TrainingFile(String id, String tenantId, String filename, FilePurpose purpose, long bytes,
        String sha256, String blob, Instant createdAt) {
    public TrainingFile {
        requireNonNull(id, "id is null");
        requireNonNull(filename, "filename is null");
        requireNonNull(purpose, "purpose is null");
        requireNonNull(sha256, "sha256 is null");
        requireNonNull(blob, "blob is null");
        createdAt = EpochMicros.truncate(requireNonNull(createdAt, "createdAt is null"));
    }
}
