package dev.atrium.engine.onnx;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** ONNX Runtime's messages reach clients without paths, source locations or C++ symbols. */
class OnnxMessagesTest {
    private static final String MODEL = "/srv/atrium-data/artifacts/ab/abcdef.onnx";

    @Test
    void clientSafe_allocationFailure_saysOutOfMemoryWithoutTheArena() {
        String message = "Error code - ORT_RUNTIME_EXCEPTION - message: Non-zero status code returned while running"
                + " Expand node. Name:'node0' Status Message: /onnxruntime_src/onnxruntime/core/framework/bfc_arena.cc:376"
                + " void* onnxruntime::BFCArena::AllocateRawInternal(size_t, bool, onnxruntime::Stream*, bool,"
                + " onnxruntime::WaitNotificationFn) Failed to allocate memory for requested buffer of size 40000000000000";
        assertThat(OnnxMessages.clientSafe(message, MODEL)).isEqualTo("the model ran out of memory on these inputs");
    }

    @Test
    void clientSafe_otherRuntimeFailure_keepsItsMeaningWithoutInternals() {
        String message = "Error code - ORT_INVALID_ARGUMENT - message: Non-zero status code returned while running"
                + " Gather node. Name:'/embeddings/word_embeddings/Gather' Status Message:"
                + " /onnxruntime_src/onnxruntime/core/providers/cpu/tensor/gather.cc:154"
                + " onnxruntime::Status onnxruntime::GatherCopyData(const onnxruntime::Tensor*, ...) indices element"
                + " out of data bounds, idx=999999 must be within the inclusive range [-30522,30521]\n  second line";
        String safe = OnnxMessages.clientSafe(message, MODEL);
        assertThat(safe).contains("Gather node").contains("idx=999999 must be within the inclusive range")
                .doesNotContain("::").doesNotContain(".cc").doesNotContain("onnxruntime_src")
                .doesNotContain("ORT_INVALID_ARGUMENT").doesNotContain("second line");
    }

    @Test
    void clientSafe_modelPath_isNeverShown() {
        assertThat(OnnxMessages.clientSafe("Load model from " + MODEL + " failed: Protobuf parsing failed.", MODEL))
                .isEqualTo("Load model from model.onnx failed: Protobuf parsing failed.");
    }
}
