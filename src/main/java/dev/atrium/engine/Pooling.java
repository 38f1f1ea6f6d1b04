package dev.atrium.engine;

import java.util.Arrays;
import java.util.Locale;
import java.util.Optional;

/** How token vectors become one sentence vector. */
public enum Pooling {
    /** The mean of the token vectors under the attention mask. */
    MEAN,
    /** The first token's vector (BERT's [CLS]). */
    CLS,
    /** The last token's vector under the attention mask (decoder models, which read left to right). */
    LAST,
    /** The model already outputs one vector per input. */
    NONE;

    public String wireName() {
        return this == LAST ? "last_token" : name().toLowerCase(Locale.ROOT);
    }

    public static Optional<Pooling> fromWireName(String name) {
        return Arrays.stream(values()).filter(pooling -> pooling.wireName().equals(name)).findFirst();
    }
}
