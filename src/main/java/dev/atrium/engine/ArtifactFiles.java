package dev.atrium.engine;

import static java.util.Objects.requireNonNull;

import java.nio.file.Path;
import java.util.Optional;

/**
 * The files of one model version on local disk: the model itself and, for text models, its tokenizer; for a
 * transcription model, its voice activity detector.
 */
public record ArtifactFiles(Path model, Optional<Path> tokenizer, Optional<Path> voiceActivity) {
    private static final ArtifactFiles NONE = new ArtifactFiles(Path.of(""), Optional.empty());

    public ArtifactFiles(Path model, Optional<Path> tokenizer) {
        this(model, tokenizer, Optional.empty());
    }

    /** The files of a model that has none (a remote model). */
    public static ArtifactFiles none() {
        return NONE;
    }

    public ArtifactFiles {
        requireNonNull(model, "model is null");
        requireNonNull(tokenizer, "tokenizer is null");
        requireNonNull(voiceActivity, "voiceActivity is null");
    }

    /** The files' sizes together: the least a loaded version holds; 0 for files that cannot be read. */
    public long sizeBytes() {
        long total = 0;
        for (Optional<Path> file : java.util.List.of(Optional.of(model), tokenizer, voiceActivity)) {
            if (file.isPresent()) {
                try {
                    total += java.nio.file.Files.size(file.get());
                } catch (java.io.IOException e) {
                    // a remote model's empty path, or a file gone: counted as nothing
                }
            }
        }
        return total;
    }
}
