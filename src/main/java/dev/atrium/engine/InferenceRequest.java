package dev.atrium.engine;

import java.util.List;

/**
 * Input tensors for one run of a tensor model.
 *
 * @param outputs the outputs to return; empty for all of them
 */
public record InferenceRequest(List<Tensor> inputs, List<String> outputs) {
    public InferenceRequest {
        inputs = List.copyOf(inputs);
        outputs = List.copyOf(outputs);
    }
}
