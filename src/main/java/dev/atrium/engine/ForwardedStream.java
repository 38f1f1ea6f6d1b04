package dev.atrium.engine;

import tools.jackson.databind.JsonNode;

/** An upstream's stream of JSON chunks, read with the model's deadlines. */
public interface ForwardedStream extends AutoCloseable {

    /**
     * The next chunk.
     *
     * @return null at the end of the stream
     * @throws dev.atrium.AtriumException {@code UPSTREAM_*} when the stream breaks, stalls or sends garbage
     */
    JsonNode next();

    /** Whether the stream ended with OpenAI's {@code [DONE]}. */
    boolean sawDone();

    /** Time since the request was sent. */
    long elapsedNanos();

    /** Closes the stream and its connection, at once. */
    @Override
    void close();
}
