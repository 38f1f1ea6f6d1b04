package dev.atrium.registry;

import static java.util.Objects.requireNonNull;

import dev.atrium.engine.ModelMetadata;
import dev.atrium.scheduling.SchedulingOptions;
import dev.atrium.store.EpochMicros;
import java.time.Instant;
import java.util.List;
import java.util.Optional;

/**
 * A version of a model: its files, the metadata read from them at upload and the upload's config (raw JSON as
 * sent, or {@code {}}), which never change; and how it is scheduled, which can.
 */
public record ModelVersion(long modelId, String modelName, int version, List<ArtifactFile> files,
        ModelMetadata metadata, String config, SchedulingOptions scheduling, Instant createdAt) {

    public ModelVersion {
        requireNonNull(modelName, "modelName is null");
        files = List.copyOf(files);
        requireNonNull(metadata, "metadata is null");
        requireNonNull(config, "config is null");
        requireNonNull(scheduling, "scheduling is null");
        createdAt = EpochMicros.truncate(requireNonNull(createdAt, "createdAt is null"));
    }

    public Optional<ArtifactFile> file(String role) {
        return files.stream().filter(file -> file.role().equals(role)).findFirst();
    }

    /** The main artifact: the model file itself (ONNX or GGUF); null for a remote model, which has none. */
    public ArtifactFile artifact() {
        return file(ArtifactFile.ONNX).or(() -> file(ArtifactFile.GGUF)).orElse(null);
    }
}
