package dev.atrium.training;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import ai.onnxruntime.NodeInfo;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import dev.atrium.engine.DataType;
import dev.atrium.engine.TensorSpec;
import dev.atrium.engine.onnx.image.ClassificationOutput;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class SoftmaxHeadTrainerTest {
    private static final List<String> LABELS = List.of("alpha", "beta", "gamma");
    private static final int DIMENSION = 16;
    private static final HeadTrainingOptions OPTIONS = new HeadTrainingOptions(12, 16, 0.05, 1e-3, 42);

    /** Three Gaussian clusters in 16 dimensions, well apart but overlapping a little. */
    private static HeadTrainingData clusters(long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        float[][] centers = new float[LABELS.size()][DIMENSION];
        for (float[] center : centers) {
            for (int d = 0; d < DIMENSION; d++) {
                center[d] = (float) (random.nextDouble() * 2 - 1);
            }
        }
        int n = 300;
        float[][] vectors = new float[n][DIMENSION];
        int[] classes = new int[n];
        for (int i = 0; i < n; i++) {
            classes[i] = i % LABELS.size();
            for (int d = 0; d < DIMENSION; d++) {
                vectors[i][d] = (float) (centers[classes[i]][d] + 0.35 * gaussian(random));
            }
        }
        StratifiedSplit split = StratifiedSplit.of(classes, 0.2, seed);
        return new HeadTrainingData(LABELS, select(vectors, split.train()), select(classes, split.train()),
                select(vectors, split.validation()), select(classes, split.validation()));
    }

    private static double gaussian(SplittableRandom random) {
        // Box-Muller, so the data do not depend on the JDK's nextGaussian algorithm
        return Math.sqrt(-2 * Math.log(1 - random.nextDouble())) * Math.cos(2 * Math.PI * random.nextDouble());
    }

    static float[][] select(float[][] rows, int[] indices) {
        return Arrays.stream(indices).mapToObj(i -> rows[i]).toArray(float[][]::new);
    }

    static int[] select(int[] values, int[] indices) {
        return Arrays.stream(indices).map(i -> values[i]).toArray();
    }

    private static SoftmaxHead completed(HeadTrainingOutcome outcome) {
        assertThat(outcome).isInstanceOf(HeadTrainingOutcome.Completed.class);
        return ((HeadTrainingOutcome.Completed) outcome).head();
    }

    @Test
    void train_clusters_learnsThemAndReportsEveryEpoch() {
        HeadTrainingData data = clusters(1);
        List<EpochProgress> reported = new ArrayList<>();
        List<Integer> checkpointEpochs = new ArrayList<>();

        HeadTrainingOutcome outcome = new SoftmaxHeadTrainer(OPTIONS).train(data, (progress, checkpoint) -> {
            reported.add(progress);
            checkpointEpochs.add(checkpoint.epoch());
        });

        SoftmaxHead head = completed(outcome);
        assertThat(reported).extracting(EpochProgress::epoch).containsExactly(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12);
        assertThat(checkpointEpochs).containsExactly(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12);
        assertThat(outcome.history()).isEqualTo(reported);
        assertThat(reported.getLast().trainingLoss()).isLessThan(reported.getFirst().trainingLoss() / 2);
        assertThat(reported.getLast().validationAccuracy()).isGreaterThanOrEqualTo(0.95);

        // the head's own predictions agree with the accuracy the trainer reported
        float[][] probabilities = head.probabilities(data.validationVectors());
        ClassificationMetrics metrics = ClassificationMetrics.of(data.validationClasses(), toDouble(probabilities));
        assertThat(metrics.accuracy()).isCloseTo(reported.getLast().validationAccuracy(), within(1.0 / 60));
        assertThat(metrics.logLoss()).isCloseTo(reported.getLast().validationLoss(), within(1e-4));
        for (float[] row : probabilities) {
            double sum = 0;
            for (float p : row) {
                sum += p;
            }
            assertThat(sum).isCloseTo(1, within(1e-5));
        }
    }

    @Test
    void train_oneFullBatchStep_isMinusLearningRateTimesTheGradientSign() {
        // From zero weights every class has probability 1/C, so the gradient of the mean cross-entropy is
        // g[d][c] = mean_i x_i[d] * (1/C - [y_i = c]) and g_bias[c] = mean_i (1/C - [y_i = c]); Adam's first step
        // is -lr * g / (|g| + 1e-8) (its bias corrections make m = g and v = g²). L2 adds nothing at zero.
        HeadTrainingData data = clusters(2);
        double learningRate = 0.1;
        HeadTrainingOptions oneStep = new HeadTrainingOptions(1, 65_536, learningRate, 0.5, 3);

        SoftmaxHead head = completed(new SoftmaxHeadTrainer(oneStep).train(data, HeadTrainingListener.NONE));

        int classes = LABELS.size();
        int n = data.trainVectors().length;
        float[] weights = head.weights();
        for (int d = 0; d < DIMENSION; d++) {
            for (int c = 0; c < classes; c++) {
                double g = 0;
                for (int i = 0; i < n; i++) {
                    g += data.trainVectors()[i][d] * (1.0 / classes - (data.trainClasses()[i] == c ? 1 : 0));
                }
                g /= n;
                assertThat((double) weights[d * classes + c]).isCloseTo(-learningRate * g / (Math.abs(g) + 1e-8),
                        within(1e-6));
            }
        }
        // balanced classes: the bias gradient is 0, up to rounding, so the bias barely moves
        for (float bias : head.bias()) {
            assertThat(Math.abs(bias)).isLessThanOrEqualTo((float) learningRate);
        }
    }

    @Test
    void train_sameSeed_sameHeadBitForBit_otherSeed_otherHead() {
        HeadTrainingData data = clusters(3);

        SoftmaxHead first = completed(new SoftmaxHeadTrainer(OPTIONS).train(data, HeadTrainingListener.NONE));
        SoftmaxHead second = completed(new SoftmaxHeadTrainer(OPTIONS).train(data, HeadTrainingListener.NONE));
        SoftmaxHead otherSeed = completed(new SoftmaxHeadTrainer(new HeadTrainingOptions(12, 16, 0.05, 1e-3, 43))
                .train(data, HeadTrainingListener.NONE));

        assertThat(second.weights()).isEqualTo(first.weights());
        assertThat(second.bias()).isEqualTo(first.bias());
        assertThat(otherSeed.weights()).isNotEqualTo(first.weights());
    }

    @Test
    void train_strongerL2_smallerWeights() {
        HeadTrainingData data = clusters(4);

        SoftmaxHead weak = completed(new SoftmaxHeadTrainer(new HeadTrainingOptions(12, 16, 0.05, 0, 1))
                .train(data, HeadTrainingListener.NONE));
        SoftmaxHead strong = completed(new SoftmaxHeadTrainer(new HeadTrainingOptions(12, 16, 0.05, 1, 1))
                .train(data, HeadTrainingListener.NONE));

        assertThat(norm(strong.weights())).isLessThan(norm(weak.weights()) / 2);
    }

    @Test
    void resume_fromStoredCheckpoint_endsExactlyWhereTheUninterruptedRunDoes() {
        HeadTrainingData data = clusters(5);
        List<HeadCheckpoint> uninterruptedCheckpoints = new ArrayList<>();
        HeadTrainingOutcome uninterrupted = new SoftmaxHeadTrainer(OPTIONS).train(data,
                (progress, checkpoint) -> uninterruptedCheckpoints.add(checkpoint));

        // a run cancelled after epoch 5, as a job that is stopped and later restarted
        int[] epochsSeen = {0};
        HeadTrainingOutcome cancelled = new SoftmaxHeadTrainer(OPTIONS).train(data, new HeadTrainingListener() {
            @Override
            public void epochFinished(EpochProgress progress, HeadCheckpoint checkpoint) {
                epochsSeen[0]++;
            }

            @Override
            public boolean cancelRequested() {
                return epochsSeen[0] == 5;
            }
        });
        assertThat(cancelled).isInstanceOf(HeadTrainingOutcome.Cancelled.class);
        HeadCheckpoint checkpoint = ((HeadTrainingOutcome.Cancelled) cancelled).checkpoint();
        assertThat(checkpoint.epoch()).isEqualTo(5);
        assertThat(checkpoint).isEqualTo(uninterruptedCheckpoints.get(4));

        byte[] stored = checkpoint.toBytes();
        List<Integer> resumedEpochs = new ArrayList<>();
        HeadTrainingOutcome resumed = new SoftmaxHeadTrainer(OPTIONS).resume(HeadCheckpoint.fromBytes(stored), data,
                (progress, next) -> resumedEpochs.add(progress.epoch()));

        assertThat(resumedEpochs).containsExactly(6, 7, 8, 9, 10, 11, 12);
        assertThat(completed(resumed).weights()).isEqualTo(completed(uninterrupted).weights());
        assertThat(completed(resumed).bias()).isEqualTo(completed(uninterrupted).bias());
        assertThat(resumed.history()).isEqualTo(uninterrupted.history());
    }

    @Test
    void resume_otherDataOrOptions_refused() {
        HeadTrainingData data = clusters(6);
        HeadCheckpoint[] last = new HeadCheckpoint[1];
        new SoftmaxHeadTrainer(OPTIONS).train(data, (progress, checkpoint) -> last[0] = checkpoint);

        assertThatThrownBy(() -> new SoftmaxHeadTrainer(OPTIONS).resume(last[0], clusters(7), HeadTrainingListener.NONE))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("other data");
        assertThatThrownBy(() -> new SoftmaxHeadTrainer(OPTIONS.withEpochs(20)).resume(last[0], data,
                HeadTrainingListener.NONE)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void checkpoint_roundTripsAndRefusesDamagedBytes() {
        HeadTrainingData data = clusters(8);
        HeadCheckpoint[] last = new HeadCheckpoint[1];
        new SoftmaxHeadTrainer(OPTIONS.withEpochs(2)).train(data, (progress, checkpoint) -> last[0] = checkpoint);
        byte[] bytes = last[0].toBytes();

        assertThat(HeadCheckpoint.fromBytes(bytes)).isEqualTo(last[0]);
        assertThatThrownBy(() -> HeadCheckpoint.fromBytes(Arrays.copyOf(bytes, bytes.length - 1)))
                .isInstanceOf(IllegalArgumentException.class);
        byte[] wrongMagic = bytes.clone();
        wrongMagic[0] ^= 1;
        assertThatThrownBy(() -> HeadCheckpoint.fromBytes(wrongMagic)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> HeadCheckpoint.fromBytes(new byte[3])).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void cancel_beforeFirstEpoch_givesCheckpointAtZero() {
        HeadTrainingData data = clusters(9);

        HeadTrainingOutcome outcome = new SoftmaxHeadTrainer(OPTIONS).train(data, new HeadTrainingListener() {
            @Override
            public void epochFinished(EpochProgress progress, HeadCheckpoint checkpoint) {
                throw new AssertionError("no epoch should run");
            }

            @Override
            public boolean cancelRequested() {
                return true;
            }
        });

        assertThat(outcome).isInstanceOfSatisfying(HeadTrainingOutcome.Cancelled.class,
                cancelled -> assertThat(cancelled.checkpoint().epoch()).isZero());
        assertThat(outcome.history()).isEmpty();
    }

    @Test
    void toOnnx_loadsInOnnxRuntimeAndGivesTheHeadsProbabilities() throws Exception {
        HeadTrainingData data = clusters(10);
        SoftmaxHead head = completed(new SoftmaxHeadTrainer(OPTIONS).train(data, HeadTrainingListener.NONE));

        assertOnnxMatches(head, data.validationVectors());
    }

    @Test
    void data_inconsistentInput_refused() {
        float[][] one = {{1, 2}};
        assertThatThrownBy(() -> new HeadTrainingData(List.of("a"), one, new int[] {0}, one, new int[] {0}))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new HeadTrainingData(List.of("a", "b"), one, new int[] {2}, one, new int[] {0}))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new HeadTrainingData(List.of("a", "b"), one, new int[] {0}, new float[][] {{1}},
                new int[] {0})).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new HeadTrainingData(List.of("a", "b"), new float[][] {{Float.NaN, 0}}, new int[] {0},
                one, new int[] {0})).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new HeadTrainingData(List.of("a,b", "c"), one, new int[] {0}, one, new int[] {0}))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new HeadTrainingData(List.of("a", "b"), one, new int[] {0}, new float[0][],
                new int[0])).isInstanceOf(IllegalArgumentException.class);
    }

    /**
     * Loads the head's ONNX form in ONNX Runtime and checks its signature, its labels as Atrium's classifier
     * reads them, and that its probabilities equal the head's own to 1e-5.
     */
    static void assertOnnxMatches(SoftmaxHead head, float[][] embeddings) throws Exception {
        OrtEnvironment environment = OrtEnvironment.getEnvironment();
        try (OrtSession.SessionOptions sessionOptions = new OrtSession.SessionOptions();
                OrtSession session = environment.createSession(head.toOnnx(), sessionOptions)) {
            Map<String, NodeInfo> inputs = session.getInputInfo();
            Map<String, NodeInfo> outputs = session.getOutputInfo();
            assertThat(inputs).containsOnlyKeys("embedding");
            assertThat(outputs).containsOnlyKeys("probabilities");
            TensorInfo input = (TensorInfo) inputs.get("embedding").getInfo();
            TensorInfo output = (TensorInfo) outputs.get("probabilities").getInfo();
            assertThat(input.type).isEqualTo(ai.onnxruntime.OnnxJavaType.FLOAT);
            assertThat(input.getShape()).containsExactly(-1, head.dimension());
            assertThat(output.type).isEqualTo(ai.onnxruntime.OnnxJavaType.FLOAT);
            assertThat(output.getShape()).containsExactly(-1, head.labels().size());
            Map<String, String> metadata = session.getMetadata().getCustomMetadata();
            assertThat(metadata).containsEntry("labels", String.join(",", head.labels()));

            // what Atrium's composed text classifier makes of it, with no config fields of its own
            ClassificationOutput served = ClassificationOutput.fromConfig(null,
                    List.of(new TensorSpec("probabilities", DataType.FP32, List.of(-1L, (long) head.labels().size()))),
                    metadata);
            assertThat(served.output()).isEqualTo("probabilities");
            assertThat(served.kind()).isEqualTo(ClassificationOutput.OutputKind.PROBABILITIES);
            assertThat(served.labels()).isEqualTo(head.labels());

            float[][] expected = head.probabilities(embeddings);
            try (OnnxTensor tensor = OnnxTensor.createTensor(environment, embeddings);
                    OrtSession.Result result = session.run(Map.of("embedding", tensor))) {
                float[][] actual = (float[][]) result.get(0).getValue();
                assertThat(actual).hasDimensions(embeddings.length, head.labels().size());
                for (int i = 0; i < actual.length; i++) {
                    for (int c = 0; c < actual[i].length; c++) {
                        assertThat(actual[i][c]).as("row %d class %d", i, c).isCloseTo(expected[i][c], within(1e-5f));
                    }
                }
            }
        }
    }

    static double[][] toDouble(float[][] rows) {
        double[][] result = new double[rows.length][];
        for (int i = 0; i < rows.length; i++) {
            result[i] = new double[rows[i].length];
            for (int j = 0; j < rows[i].length; j++) {
                result[i][j] = rows[i][j];
            }
        }
        return result;
    }

    private static double norm(float[] values) {
        double sum = 0;
        for (float value : values) {
            sum += (double) value * value;
        }
        return Math.sqrt(sum);
    }
}
