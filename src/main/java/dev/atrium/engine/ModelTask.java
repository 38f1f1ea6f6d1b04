package dev.atrium.engine;

import java.util.Arrays;
import java.util.Optional;

/** What a model does, which decides the APIs that serve it and the unit it is metered in. */
public enum ModelTask {
    /** Text in, one vector per input out: {@code /v1/embeddings} and v2 infer. */
    EMBEDDING("embedding"),
    /** Tensors in, tensors out: v2 infer only. */
    TENSOR("tensor"),
    /** Messages in, a reply out: {@code /v1/chat/completions} (and {@code /v1/completions}). */
    CHAT("chat"),
    /** A prompt in, its continuation out: {@code /v1/completions}. */
    COMPLETION("completion"),
    /** Speech in, its text out: {@code /v1/audio/transcriptions}; metered per second of audio. */
    TRANSCRIPTION("transcription"),
    /** Images in, labels with scores out: {@code /v1/classifications} and v2 infer; metered per image. */
    IMAGE_CLASSIFICATION("image-classification"),
    /** Texts in, labels with scores out: {@code /v1/classifications}; metered per token. */
    TEXT_CLASSIFICATION("text-classification"),
    /** Rows of features in, a prediction per row out: {@code /v1/predictions}; metered per row. */
    TABULAR("tabular");

    private final String wireName;

    ModelTask(String wireName) {
        this.wireName = wireName;
    }

    public String wireName() {
        return wireName;
    }

    public static Optional<ModelTask> fromWireName(String name) {
        return Arrays.stream(values()).filter(task -> task.wireName.equals(name)).findFirst();
    }
}
