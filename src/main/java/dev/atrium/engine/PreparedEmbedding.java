package dev.atrium.engine;

import static java.util.Objects.requireNonNull;

import java.util.List;

/**
 * An embedding request turned into token ids, checked against the model's limits, so that its tokens can be
 * counted (and admitted) before any model runs.
 *
 * @param sequences token ids per input, in the order of the request
 * @param tokens the tokens the model will read: the sum of the sequences' lengths
 */
public record PreparedEmbedding(Deployment deployment, List<long[]> sequences, long tokens) {
    public PreparedEmbedding {
        requireNonNull(deployment, "deployment is null");
        sequences = List.copyOf(sequences);
    }
}
