package dev.atrium.engine;

import java.util.List;

/** Output tensors of one run, in the order they were asked for (or the model's order), and its compute time. */
public record InferenceResult(List<Tensor> outputs, long computeNanos) {
    public InferenceResult {
        outputs = List.copyOf(outputs);
    }
}
