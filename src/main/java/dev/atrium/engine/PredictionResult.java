package dev.atrium.engine;

import static java.util.Objects.requireNonNull;

import java.util.List;
import java.util.Map;

/**
 * One prediction per row, in order: a number for a regression, or a label and each class's probability for a
 * classification.
 */
public record PredictionResult(List<Prediction> predictions, long computeNanos) {
    public PredictionResult {
        predictions = List.copyOf(predictions);
    }

    public sealed interface Prediction {}

    public record Value(double value) implements Prediction {}

    /**
     * @param probabilities by label, in the model's class order
     * @param integer whether the labels are integers (then written as numbers, as MLflow answers for them)
     */
    public record Label(String label, Map<String, Double> probabilities, boolean integer) implements Prediction {
        public Label {
            requireNonNull(label, "label is null");
            requireNonNull(probabilities, "probabilities is null");
        }
    }
}
