package dev.atrium.engine.onnx.image;

import static java.util.Objects.requireNonNull;

/**
 * One class of an image classification and its probability.
 *
 * @param index the class's position in the model's output
 * @param label the class's name
 * @param score its probability, 0 to 1
 */
public record ScoredLabel(int index, String label, float score) {
    public ScoredLabel {
        requireNonNull(label, "label is null");
        if (index < 0) {
            throw new IllegalArgumentException("index must not be negative, not " + index);
        }
    }
}
