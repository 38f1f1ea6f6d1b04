package dev.atrium.serving;

/**
 * The serving layer's entry points: every kind of model call a protocol adapter can make. Tests enumerate
 * them, so a path added here is covered by the rules every path obeys (one record, charge within reservation).
 */
public enum Endpoint {
    EMBEDDINGS("/v1/embeddings"),
    CHAT_COMPLETIONS("/v1/chat/completions"),
    COMPLETIONS("/v1/completions"),
    INFER("/v2/infer");

    private final String wireName;

    Endpoint(String wireName) {
        this.wireName = wireName;
    }

    /** The name in usage records and metrics. */
    public String wireName() {
        return wireName;
    }
}
