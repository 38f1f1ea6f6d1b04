package dev.atrium.engine;

import static java.util.Objects.requireNonNull;

import java.util.List;

/**
 * An embedding request checked against the model's limits and counted, so that its tokens can be admitted and
 * reserved before any model runs.
 *
 * @param request the request as it came
 * @param sequences token ids per input, in the order of the request (empty for an engine that does not
 *     tokenize here)
 * @param tokens the tokens the model will read, as counted here
 * @param maxTokens the most tokens the model can be found to have read: {@code tokens} for a local model; for
 *     a remote one, whose upstream counts with its own tokenizer, a bound it cannot exceed
 */
public record PreparedEmbedding(Deployment deployment, EmbeddingRequest request, List<long[]> sequences, long tokens,
        long maxTokens) {
    public PreparedEmbedding {
        requireNonNull(deployment, "deployment is null");
        requireNonNull(request, "request is null");
        sequences = List.copyOf(sequences);
        if (tokens < 0 || maxTokens < tokens) {
            throw new IllegalArgumentException("invalid token counts");
        }
    }
}
