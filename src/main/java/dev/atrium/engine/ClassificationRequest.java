package dev.atrium.engine;

import static java.util.Objects.requireNonNull;

import java.util.List;

/**
 * Inputs to classify, in order.
 *
 * @param topK how many labels to return per input, best first
 * @param labels the candidate labels of a zero-shot classification by an embedding model; empty otherwise
 */
public record ClassificationRequest(List<ClassificationInput> inputs, int topK, List<String> labels) {
    public ClassificationRequest {
        inputs = List.copyOf(inputs);
        labels = List.copyOf(requireNonNull(labels, "labels is null"));
        if (topK < 1) {
            throw new IllegalArgumentException("topK must be at least 1");
        }
    }
}
