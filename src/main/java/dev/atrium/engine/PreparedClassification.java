package dev.atrium.engine;

import static java.util.Objects.requireNonNull;

/**
 * A classification request checked and made ready by its engine, with what it will be metered by.
 *
 * @param work the engine's own form of the inputs (decoded images, token ids), opaque to the serving layer
 * @param tokens the text tokens the model will read
 * @param images the images it will classify
 */
public record PreparedClassification(Deployment deployment, ClassificationRequest request, Object work, long tokens,
        long images) {
    public PreparedClassification {
        requireNonNull(deployment, "deployment is null");
        requireNonNull(request, "request is null");
        requireNonNull(work, "work is null");
        if (tokens < 0 || images < 0) {
            throw new IllegalArgumentException("counts cannot be negative");
        }
    }
}
