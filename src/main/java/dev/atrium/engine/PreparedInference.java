package dev.atrium.engine;

import static java.util.Objects.requireNonNull;

/**
 * A tensor request as the model takes it, and the images it carried (encoded images decoded into the model's
 * input), which it is metered by.
 */
public record PreparedInference(InferenceRequest request, long images) {
    public PreparedInference {
        requireNonNull(request, "request is null");
        if (images < 0) {
            throw new IllegalArgumentException("images cannot be negative");
        }
    }
}
