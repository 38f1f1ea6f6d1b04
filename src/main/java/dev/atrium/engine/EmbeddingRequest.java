package dev.atrium.engine;

import java.util.List;

/**
 * Inputs to embed, in order.
 *
 * @param truncate cut inputs longer than the model's maximum instead of refusing them
 */
public record EmbeddingRequest(List<EmbeddingInput> inputs, boolean truncate) {
    public EmbeddingRequest {
        inputs = List.copyOf(inputs);
    }
}
