package dev.atrium.engine;

import java.util.List;

/** Output tensors of one run, in the order they were asked for (or the model's order). */
public record InferenceResult(List<Tensor> outputs) {
    public InferenceResult {
        outputs = List.copyOf(outputs);
    }
}
