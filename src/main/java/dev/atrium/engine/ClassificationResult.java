package dev.atrium.engine;

import static java.util.Objects.requireNonNull;

import java.util.List;

/** The labels of each input, best first, and the time the engine ran the model for them. */
public record ClassificationResult(List<List<LabelScore>> labels, long computeNanos) {
    public ClassificationResult {
        labels = labels.stream().map(List::copyOf).toList();
    }

    /** A label and its score (a probability from 0 to 1). */
    public record LabelScore(String label, double score) {
        public LabelScore {
            requireNonNull(label, "label is null");
        }
    }
}
