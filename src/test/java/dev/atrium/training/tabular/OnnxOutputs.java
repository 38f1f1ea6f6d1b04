package dev.atrium.training.tabular;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import java.nio.FloatBuffer;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Runs an ONNX model in plain ONNX Runtime (no extensions) on a float matrix [rows, width] and returns each output,
 * flattened: FLOAT outputs as float[], INT64 outputs as long[]. Also checks every output's shape starts with rows.
 */
final class OnnxOutputs {
    private OnnxOutputs() {}

    static Map<String, Object> run(byte[] model, float[] matrix, int rows, int width) throws OrtException {
        OrtEnvironment environment = OrtEnvironment.getEnvironment();
        try (OrtSession.SessionOptions options = new OrtSession.SessionOptions();
                OrtSession session = environment.createSession(model, options);
                OnnxTensor input = OnnxTensor.createTensor(environment, FloatBuffer.wrap(matrix),
                        new long[] {rows, width});
                OrtSession.Result result = session.run(Map.of(session.getInputNames().iterator().next(), input))) {
            Map<String, Object> outputs = new LinkedHashMap<>();
            for (Map.Entry<String, OnnxValue> entry : result) {
                OnnxTensor tensor = (OnnxTensor) entry.getValue();
                long[] shape = tensor.getInfo().getShape();
                if (shape[0] != rows) {
                    throw new AssertionError("output " + entry.getKey() + " has " + shape[0] + " rows, not " + rows);
                }
                switch (tensor.getInfo().type) {
                    case FLOAT -> {
                        FloatBuffer buffer = tensor.getFloatBuffer();
                        float[] values = new float[buffer.remaining()];
                        buffer.get(values);
                        outputs.put(entry.getKey(), values);
                    }
                    case INT64 -> {
                        java.nio.LongBuffer buffer = tensor.getLongBuffer();
                        long[] values = new long[buffer.remaining()];
                        buffer.get(values);
                        outputs.put(entry.getKey(), values);
                    }
                    default -> throw new AssertionError("output " + entry.getKey() + " is " + tensor.getInfo().type);
                }
            }
            return outputs;
        }
    }

    static float[] floats(Map<String, Object> outputs, String name) {
        return (float[]) outputs.get(name);
    }

    static long[] longs(Map<String, Object> outputs, String name) {
        return (long[]) outputs.get(name);
    }
}
