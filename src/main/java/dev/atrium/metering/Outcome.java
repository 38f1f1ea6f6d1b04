package dev.atrium.metering;

import java.util.Locale;

/**
 * How a model call ended, as its usage record says. Every call that reached a model ends in exactly one of these,
 * whatever ended it.
 */
public enum Outcome {
    /** The model answered and the client got the whole answer. */
    OK("ok"),
    /** The client went away, before or after the first byte; what was produced until then is billed. */
    CLIENT_CANCELLED("client_cancelled"),
    /** The call ran out of time: it waited in the queue past its deadline, or was cut at it. */
    DEADLINE("deadline"),
    /** The local engine failed; nothing is billed. */
    ENGINE_ERROR("error"),
    /** The upstream of a remote model failed or answered something malformed after it was called. */
    UPSTREAM_ERROR("upstream_error");

    private final String wireName;

    Outcome(String wireName) {
        this.wireName = wireName;
    }

    /** The name in usage records and their exports. */
    public String wireName() {
        return wireName;
    }

    /** Whether what the call used is billed: a local engine's own failure is not the caller's to pay. */
    public boolean billed() {
        return this != ENGINE_ERROR;
    }

    @Override
    public String toString() {
        return wireName.toLowerCase(Locale.ROOT);
    }
}
