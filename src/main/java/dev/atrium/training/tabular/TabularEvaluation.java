package dev.atrium.training.tabular;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.atrium.AtriumException;
import dev.atrium.engine.onnx.tabular.FeatureSchema.Task;
import dev.atrium.training.Evaluations;
import java.nio.FloatBuffer;
import java.util.Arrays;
import java.util.Map;
import tools.jackson.databind.node.ObjectNode;

/**
 * Evaluates a trained tabular model as it will be served: its ONNX file run by ONNX Runtime on the encoded
 * validation rows, the predictions compared with their targets ({@link Evaluations}).
 */
final class TabularEvaluation {
    private static final int CHUNK = 4096;

    private TabularEvaluation() {}

    static ObjectNode evaluate(byte[] onnx, TabularEncoding encoding, EncodedRows rows) {
        OrtEnvironment environment = OrtEnvironment.getEnvironment();
        int n = rows.rowCount();
        int width = rows.width();
        boolean regression = encoding.task() == Task.REGRESSION;
        int classes = encoding.labels().size();
        double[] predicted = new double[regression ? n : 0];
        float[][] probabilities = new float[regression ? 0 : n][];
        try (OrtSession.SessionOptions options = new OrtSession.SessionOptions()) {
            options.setIntraOpNumThreads(1);
            options.setInterOpNumThreads(1);
            try (OrtSession session = environment.createSession(onnx, options)) {
                float[] features = rows.features();
                for (int from = 0; from < n; from += CHUNK) {
                    int count = Math.min(CHUNK, n - from);
                    FloatBuffer chunk = FloatBuffer.wrap(Arrays.copyOfRange(features, from * width,
                            (from + count) * width));
                    try (OnnxTensor input = OnnxTensor.createTensor(environment, chunk, new long[] {count, width});
                            OrtSession.Result result = session.run(Map.of(TabularEncoding.INPUT, input))) {
                        if (regression) {
                            float[][] values = (float[][]) result.get(TabularEncoding.PREDICTION).orElseThrow()
                                    .getValue();
                            for (int i = 0; i < count; i++) {
                                predicted[from + i] = values[i][0];
                            }
                        } else {
                            float[][] values = (float[][]) result.get(TabularEncoding.PROBABILITIES).orElseThrow()
                                    .getValue();
                            System.arraycopy(values, 0, probabilities, from, count);
                        }
                    }
                }
            }
        } catch (OrtException e) {
            throw AtriumException.internal("the trained model could not be evaluated", e);
        }
        if (regression) {
            double[] actual = new double[n];
            for (int i = 0; i < n; i++) {
                actual[i] = rows.target(i);
            }
            return Evaluations.regression(actual, predicted);
        }
        int[] actual = new int[n];
        for (int i = 0; i < n; i++) {
            actual[i] = (int) rows.target(i);
        }
        if (classes < 2) {
            throw new IllegalStateException("a classification of " + classes + " labels");
        }
        return Evaluations.classification(actual, probabilities, encoding.labels());
    }
}
