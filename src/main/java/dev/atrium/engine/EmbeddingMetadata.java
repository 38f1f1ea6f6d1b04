package dev.atrium.engine;

import static java.util.Objects.requireNonNull;

/**
 * What an embedding model version was found to be at upload: how long an input may be, how long its vectors
 * are, and how they are made from the model's output.
 *
 * @param maxSequenceLength the most tokens one input may have, special tokens included
 * @param dimension the length of each embedding vector
 * @param vocabularySize token ids must be below this; 0 when unknown
 * @param output the model output the vectors are pooled from
 */
public record EmbeddingMetadata(
        boolean hasTokenizer,
        int maxSequenceLength,
        int dimension,
        int vocabularySize,
        Pooling pooling,
        boolean normalize,
        String output) {

    public EmbeddingMetadata {
        requireNonNull(pooling, "pooling is null");
        requireNonNull(output, "output is null");
    }
}
