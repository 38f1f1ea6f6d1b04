package dev.atrium.engine;

import java.util.List;

/** One vector per input, in the order of the request, and the tokens the model read. */
public record EmbeddingResult(List<float[]> vectors, long promptTokens) {
    public EmbeddingResult {
        vectors = List.copyOf(vectors);
    }
}
