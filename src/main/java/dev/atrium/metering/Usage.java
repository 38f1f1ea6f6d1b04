package dev.atrium.metering;

/**
 * What one request consumed, counted on the server: tokens, requests and compute for every model, and the unit of
 * its task for the models metered in one (seconds of audio transcribed, images classified, rows predicted).
 *
 * @param computeMillis time the engine spent running the model for it
 * @param audioMillis audio the request carried, in milliseconds (billed per second)
 */
public record Usage(long inputTokens, long outputTokens, long requests, long computeMillis, long audioMillis,
        long images, long rows) {
    public Usage {
        if (inputTokens < 0 || outputTokens < 0 || requests < 0 || computeMillis < 0 || audioMillis < 0 || images < 0
                || rows < 0) {
            throw new IllegalArgumentException("usage cannot be negative");
        }
    }

    public Usage(long inputTokens, long outputTokens, long requests, long computeMillis) {
        this(inputTokens, outputTokens, requests, computeMillis, 0, 0, 0);
    }

    /** The same usage with its compute time replaced. */
    public Usage withComputeMillis(long millis) {
        return new Usage(inputTokens, outputTokens, requests, millis, audioMillis, images, rows);
    }

    /** Each count the smaller of this usage's and the bound's: a usage cut to what was reserved. */
    public Usage atMost(Usage bound) {
        return new Usage(Math.min(inputTokens, bound.inputTokens), Math.min(outputTokens, bound.outputTokens),
                Math.min(requests, bound.requests), Math.min(computeMillis, bound.computeMillis),
                Math.min(audioMillis, bound.audioMillis), Math.min(images, bound.images), Math.min(rows, bound.rows));
    }
}
