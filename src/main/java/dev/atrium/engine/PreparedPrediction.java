package dev.atrium.engine;

import static java.util.Objects.requireNonNull;

/**
 * Rows read and encoded by the engine, and how many there are, which they are metered by.
 *
 * @param work the engine's own form of the rows, opaque to the serving layer
 */
public record PreparedPrediction(Deployment deployment, Object work, long rows) {
    public PreparedPrediction {
        requireNonNull(deployment, "deployment is null");
        requireNonNull(work, "work is null");
        if (rows < 0) {
            throw new IllegalArgumentException("rows cannot be negative");
        }
    }
}
