package dev.atrium.engine;

import java.util.Arrays;
import java.util.Locale;
import java.util.Optional;

/** What a model does, which decides the APIs that serve it. */
public enum ModelTask {
    /** Text in, one vector per input out: {@code /v1/embeddings} and v2 infer. */
    EMBEDDING,
    /** Tensors in, tensors out: v2 infer only. */
    TENSOR,
    /** Messages in, a reply out: {@code /v1/chat/completions} (and {@code /v1/completions}). */
    CHAT,
    /** A prompt in, its continuation out: {@code /v1/completions}. */
    COMPLETION;

    public String wireName() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static Optional<ModelTask> fromWireName(String name) {
        return Arrays.stream(values()).filter(task -> task.wireName().equals(name)).findFirst();
    }
}
