package dev.atrium.engine;

import java.util.List;

/**
 * One vector per input, in the order of the request, the tokens the model read, and the time the engine
 * spent running the model for it (summed over its batches).
 */
public record EmbeddingResult(List<float[]> vectors, long promptTokens, long computeNanos) {
    public EmbeddingResult {
        vectors = List.copyOf(vectors);
    }
}
