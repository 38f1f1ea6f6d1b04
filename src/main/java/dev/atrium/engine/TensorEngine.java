package dev.atrium.engine;

/** An engine that runs a model on named input tensors (the Open Inference Protocol's infer). */
public interface TensorEngine extends Engine {

    InferenceResult infer(Deployment deployment, InferenceRequest request, RunContext context);
}
