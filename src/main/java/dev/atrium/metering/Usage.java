package dev.atrium.metering;

/**
 * What one request consumed, counted on the server.
 *
 * @param computeMillis time the engine spent running the model for it
 */
public record Usage(long inputTokens, long outputTokens, long requests, long computeMillis) {
    public Usage {
        if (inputTokens < 0 || outputTokens < 0 || requests < 0 || computeMillis < 0) {
            throw new IllegalArgumentException("usage cannot be negative");
        }
    }
}
