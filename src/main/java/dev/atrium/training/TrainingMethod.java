package dev.atrium.training;

import java.util.Arrays;
import java.util.Optional;

/** The trainers a fine-tuning job can name in its {@code method}: what it trains and what version it makes. */
public enum TrainingMethod {
    /**
     * A softmax head over a frozen embedding model (the job's {@code model}), served as a composed text classifier:
     * a {@code text-classification} version whose config names the embedding model version it was trained on.
     */
    TEXT_CLASSIFICATION("text-classification");

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
