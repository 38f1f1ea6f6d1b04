package dev.atrium.training;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.atrium.AtriumException;
import dev.atrium.ErrorCode;
import dev.atrium.engine.EmbeddingMetadata;
import dev.atrium.engine.Pooling;
import dev.atrium.testing.OnnxModelWriter;
import dev.atrium.testing.OnnxModelWriter.ElementType;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.LongBuffer;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The merge of an encoder and a head into one ONNX model, on a small encoder that looks each token up in a table (so
 * that a token's vector depends on nothing else, and a padded batch must give what each input gives alone): every
 * pooling over token vectors, with and without normalization, at the opsets where ReduceSum and Unsqueeze take their
 * axes as attributes (11) and as inputs (13, 18), against pooling, normalization and the head computed here; and
 * the heads it refuses, with the reason.
 */
class MergedOnnxTest {
    private static final int VOCABULARY = 50;
    private static final int DIMENSION = 6;
    private static final List<String> LABELS = List.of("a", "b", "c");
    /** Three inputs of different lengths, to be padded with token 0 and a mask of 0 in one batch. */
    private static final List<long[]> SEQUENCES = List.of(new long[] {1, 7, 9, 2}, new long[] {1, 3, 2},
            new long[] {1, 12, 44, 5, 31, 8, 2});

    private final OrtEnvironment environment = OrtEnvironment.getEnvironment();
    private final float[] table = random(VOCABULARY * DIMENSION, 5, 1.0);
    private final float[] weights = random(DIMENSION * LABELS.size(), 6, 2.0);

    @TempDir
    Path files;

    @ParameterizedTest
    @ValueSource(ints = {11, 13, 18})
    void merged_everyTokenPooling_padsAndPoolsAsTheEngineDoes(int opset) throws Exception {
        Path encoder = encoder(opset);
        Path head = head(13, "MatMul");
        int checked = 0;
        for (Pooling pooling : Pooling.values()) {
            if (pooling == Pooling.NONE) {
                continue; // an encoder of token vectors is not pooled by none (an end-to-end test has one that is)
            }
            for (boolean normalize : List.of(false, true)) {
                EmbeddingMetadata embedding = new EmbeddingMetadata(true, 512, DIMENSION, VOCABULARY, pooling,
                        normalize, "last_hidden_state");
                byte[] merged = write(MergedOnnx.of(encoder, embedding, head, scores(), new LinkedHashMap<>()));
                String what = "opset " + opset + ", " + pooling.wireName() + (normalize ? ", normalized" : "");
                try (OrtSession.SessionOptions options = new OrtSession.SessionOptions();
                        OrtSession session = environment.createSession(merged, options)) {
                    assertThat(List.copyOf(session.getInputNames())).containsExactly("input_ids", "attention_mask");
                    assertThat(List.copyOf(session.getOutputNames())).containsExactly("probabilities");
                    float[][] batch = run(session, SEQUENCES);
                    for (int i = 0; i < SEQUENCES.size(); i++) {
                        float[] expected = expected(SEQUENCES.get(i), pooling, normalize);
                        assertThat(batch[i]).as(what + ", input " + i + " in a padded batch")
                                .containsExactly(expected, org.assertj.core.data.Offset.offset(1e-6f));
                        assertThat(run(session, List.of(SEQUENCES.get(i)))[0]).as(what + ", input " + i + " alone")
                                .containsExactly(expected, org.assertj.core.data.Offset.offset(1e-6f));
                    }
                    checked++;
                }
            }
        }
        assertThat(checked).isEqualTo(2 * (Pooling.values().length - 1));
    }

    @Test
    void merged_headOfTheEncodersOpset_mayUseAnyOperator() throws Exception {
        byte[] merged = write(MergedOnnx.of(encoder(13), mean(), head(13, "Erf"), scores(), new LinkedHashMap<>()));
        try (OrtSession.SessionOptions options = new OrtSession.SessionOptions();
                OrtSession session = environment.createSession(merged, options)) {
            assertThat(run(session, SEQUENCES)).hasNumberOfRows(SEQUENCES.size());
        }
    }

    @Test
    void merged_carriesTheLabelsAndTheGivenProperties() throws Exception {
        LinkedHashMap<String, String> properties = new LinkedHashMap<>();
        properties.put("atrium.pooling", "mean");
        byte[] merged = write(MergedOnnx.of(encoder(11), mean(), head(13, "MatMul"), scores(), properties));
        try (OrtSession.SessionOptions options = new OrtSession.SessionOptions();
                OrtSession session = environment.createSession(merged, options)) {
            assertThat(session.getMetadata().getCustomMetadata()).containsEntry("labels", "a,b,c")
                    .containsEntry("atrium.pooling", "mean");
        }
    }

    @Test
    void of_headOperatorThatChangedBetweenTheOpsets_isRefusedNamingIt() {
        assertThatThrownBy(() -> MergedOnnx.of(encoder(11), mean(), head(13, "Erf"), scores(), new LinkedHashMap<>()))
                .isInstanceOfSatisfying(AtriumException.class, e -> assertThat(e.code())
                        .isEqualTo(ErrorCode.UNSUPPORTED_BY_MODEL))
                .hasMessageContaining("the head's Erf node is written for opset 13 and may mean otherwise at opset 11");
    }

    @Test
    void of_softmaxOfUnknownRankAcrossOpset13_isRefused() throws IOException {
        // Softmax flattened its input to 2-D before opset 13: the same only when it is 2-D, which this head leaves
        // undeclared (its output is an Identity's)
        Path head = new OnnxModelWriter()
                .input("embedding", ElementType.FLOAT, -1, DIMENSION)
                .initializer("weights", weights, DIMENSION, LABELS.size())
                .node("MatMul", List.of("embedding", "weights"), List.of("logits"))
                .node("Softmax", List.of("logits"), List.of("softmax"))
                .node("Identity", List.of("softmax"), List.of("probabilities"))
                .output("probabilities", ElementType.FLOAT, -1, LABELS.size())
                .write(files.resolve("head-identity.onnx"));
        assertThatThrownBy(() -> MergedOnnx.of(encoder(11), mean(), head, scores(), new LinkedHashMap<>()))
                .isInstanceOf(AtriumException.class).hasMessageContaining("Softmax");
    }

    @Test
    void of_encoderOfAnOpsetOlderThan11_isRefused() {
        assertThatThrownBy(() -> MergedOnnx.of(encoder(10), mean(), head(13, "MatMul"), scores(),
                new LinkedHashMap<>()))
                .isInstanceOfSatisfying(AtriumException.class, e -> assertThat(e.code())
                        .isEqualTo(ErrorCode.UNSUPPORTED_BY_MODEL))
                .hasMessageContaining("opset 10");
    }

    @Test
    void of_headOfTwoInputs_isRefused() throws IOException {
        Path head = new OnnxModelWriter()
                .input("embedding", ElementType.FLOAT, -1, DIMENSION)
                .input("other", ElementType.FLOAT, -1, DIMENSION)
                .node("Add", List.of("embedding", "other"), List.of("probabilities"))
                .output("probabilities", ElementType.FLOAT, -1, DIMENSION)
                .write(files.resolve("head-two.onnx"));
        assertThatThrownBy(() -> MergedOnnx.of(encoder(13), mean(), head, scores(), new LinkedHashMap<>()))
                .isInstanceOf(AtriumException.class).hasMessage("the head has 2 inputs; a head has one, the embedding");
    }

    // ---- what the merged model must answer -----------------------------------------------------------------------

    /** Pooling and normalization as EmbeddingPipeline.pool does them, then the head: softmax(f(v) · W). */
    private float[] expected(long[] ids, Pooling pooling, boolean normalize) {
        double[] vector = new double[DIMENSION];
        switch (pooling) {
            case MEAN -> {
                for (long id : ids) {
                    for (int d = 0; d < DIMENSION; d++) {
                        vector[d] += table[(int) id * DIMENSION + d] / (double) ids.length;
                    }
                }
            }
            case CLS -> copy(ids[0], vector);
            case LAST -> copy(ids[ids.length - 1], vector);
            case NONE -> throw new IllegalArgumentException("not for token vectors");
        }
        if (normalize) {
            double norm = Math.sqrt(java.util.Arrays.stream(vector).map(v -> v * v).sum());
            for (int d = 0; d < DIMENSION; d++) {
                vector[d] /= norm;
            }
        }
        double[] logits = new double[LABELS.size()];
        for (int c = 0; c < LABELS.size(); c++) {
            for (int d = 0; d < DIMENSION; d++) {
                logits[c] += vector[d] * weights[d * LABELS.size() + c];
            }
        }
        double max = java.util.Arrays.stream(logits).max().orElseThrow();
        double sum = java.util.Arrays.stream(logits).map(l -> Math.exp(l - max)).sum();
        float[] probabilities = new float[LABELS.size()];
        for (int c = 0; c < LABELS.size(); c++) {
            probabilities[c] = (float) (Math.exp(logits[c] - max) / sum);
        }
        return probabilities;
    }

    private void copy(long id, double[] vector) {
        for (int d = 0; d < DIMENSION; d++) {
            vector[d] = table[(int) id * DIMENSION + d];
        }
    }

    /** The merged model on a batch of inputs, padded with token 0 under a mask of 0. */
    private float[][] run(OrtSession session, List<long[]> sequences) throws OrtException {
        int length = sequences.stream().mapToInt(sequence -> sequence.length).max().orElseThrow();
        long[] ids = new long[sequences.size() * length];
        long[] mask = new long[ids.length];
        for (int b = 0; b < sequences.size(); b++) {
            System.arraycopy(sequences.get(b), 0, ids, b * length, sequences.get(b).length);
            java.util.Arrays.fill(mask, b * length, b * length + sequences.get(b).length, 1);
        }
        long[] shape = {sequences.size(), length};
        try (OnnxTensor idsTensor = OnnxTensor.createTensor(environment, LongBuffer.wrap(ids), shape);
                OnnxTensor maskTensor = OnnxTensor.createTensor(environment, LongBuffer.wrap(mask), shape);
                OrtSession.Result result = session.run(Map.of("input_ids", idsTensor, "attention_mask", maskTensor))) {
            return (float[][]) result.get(0).getValue();
        }
    }

    // ---- models -------------------------------------------------------------------------------------------------

    private Path encoder(int opset) throws IOException {
        return new OnnxModelWriter().opset(opset)
                .input("input_ids", ElementType.INT64, -1, -2)
                .input("attention_mask", ElementType.INT64, -1, -2)
                .initializer("table", table, VOCABULARY, DIMENSION)
                .node("Gather", List.of("table", "input_ids"), List.of("last_hidden_state"))
                .output("last_hidden_state", ElementType.FLOAT, -1, -2, DIMENSION)
                .write(files.resolve("encoder-" + opset + ".onnx"));
    }

    /** softmax(operator(v · W)): MatMul alone, or another operator after it. */
    private Path head(int opset, String operator) throws IOException {
        OnnxModelWriter writer = new OnnxModelWriter().opset(opset)
                .input("embedding", ElementType.FLOAT, -1, DIMENSION)
                .initializer("weights", weights, DIMENSION, LABELS.size())
                .node("MatMul", List.of("embedding", "weights"), List.of("logits"));
        String logits = "logits";
        if (!operator.equals("MatMul")) {
            writer.node(operator, List.of("logits"), List.of("changed"));
            logits = "changed";
        }
        return writer.node("Softmax", List.of(logits), List.of("probabilities"))
                .output("probabilities", ElementType.FLOAT, -1, LABELS.size())
                .write(files.resolve("head-" + opset + "-" + operator + ".onnx"));
    }

    private static EmbeddingMetadata mean() {
        return new EmbeddingMetadata(true, 512, DIMENSION, VOCABULARY, Pooling.MEAN, true, "last_hidden_state");
    }

    private static MergedOnnx.Scores scores() {
        return new MergedOnnx.Scores("probabilities", false, LABELS);
    }

    private static byte[] write(MergedOnnx merged) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        merged.writeTo(out);
        assertThat((long) out.size()).isEqualTo(merged.sizeBytes());
        return out.toByteArray();
    }

    private static float[] random(int size, long seed, double scale) {
        Random random = new Random(seed);
        float[] values = new float[size];
        for (int i = 0; i < size; i++) {
            values[i] = (float) (random.nextGaussian() * scale);
        }
        return values;
    }
}
