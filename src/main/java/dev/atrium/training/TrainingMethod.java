package dev.atrium.training;

import java.util.Arrays;
import java.util.Optional;

/** The trainers a fine-tuning job can name in its {@code method}: what it trains and what version it makes. */
public enum TrainingMethod {
    /**
     * A softmax head over a frozen embedding model (the job's {@code model}), served as a composed text classifier:
     * a {@code text-classification} version whose config names the embedding model version it was trained on.
     */
    TEXT_CLASSIFICATION("text-classification"),
    /**
     * Gradient-boosted trees or a linear model (the job's {@code model}: {@code gradient-boosted-trees} or
     * {@code linear}) predicting a number from a CSV file's other columns: a {@code tabular} version.
     */
    TABULAR_REGRESSION("tabular-regression"),
    /** The same, predicting a class: a {@code tabular} version that answers labels with probabilities. */
    TABULAR_CLASSIFICATION("tabular-classification"),
    /** A classifier over the pixels of small images ({@code model}: {@code linear}): an image-classification version. */
    IMAGE_CLASSIFICATION("image-classification");

    private final String wireName;

    TrainingMethod(String wireName) {
        this.wireName = wireName;
    }

    public String wireName() {
        return wireName;
    }

    public static Optional<TrainingMethod> fromWireName(String name) {
        return Arrays.stream(values()).filter(method -> method.wireName.equals(name)).findFirst();
    }
}
