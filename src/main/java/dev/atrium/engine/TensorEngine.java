package dev.atrium.engine;

/** An engine that runs a model on named input tensors (the Open Inference Protocol's infer). */
public interface TensorEngine extends Engine {

    /**
     * Turns a request into the model's own tensors before it is checked and run, counting what it is metered by:
     * an image classifier takes encoded images as a {@code BYTES} tensor (Triton's convention) and decodes and
     * preprocesses them here. Other models take their tensors as they are.
     *
     * @throws dev.atrium.AtriumException 400 for images that cannot be decoded
     */
    default PreparedInference prepare(Deployment deployment, InferenceRequest request) {
        return new PreparedInference(request, 0);
    }

    InferenceResult infer(Deployment deployment, InferenceRequest request, RunContext context);
}
