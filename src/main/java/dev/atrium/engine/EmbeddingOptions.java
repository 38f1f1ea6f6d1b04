package dev.atrium.engine;

import java.util.Optional;

/**
 * The optional {@code config} part of an upload: how an embedding model's output becomes vectors.
 * Absent fields are read from the artifacts (the tokenizer's truncation length, the output's rank).
 */
public record EmbeddingOptions(Optional<Pooling> pooling, Optional<Boolean> normalize, Optional<Integer> maxLength,
        Optional<String> output) {

    public static EmbeddingOptions none() {
        return new EmbeddingOptions(Optional.empty(), Optional.empty(), Optional.empty(), Optional.empty());
    }
}
