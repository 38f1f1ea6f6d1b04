package dev.atrium.training.tabular;

import static dev.atrium.training.tabular.OnnxOutputs.floats;
import static dev.atrium.training.tabular.OnnxOutputs.longs;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import dev.atrium.AtriumException;
import dev.atrium.ErrorCode;
import dev.atrium.engine.onnx.tabular.FeatureSchema.Task;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import ml.dmlc.xgboost4j.java.Booster;
import ml.dmlc.xgboost4j.java.DMatrix;
import ml.dmlc.xgboost4j.java.XGBoost;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.json.JsonMapper;

class GradientBoostingTrainerTest {
    private static final Instant NOW = Instant.parse("2026-12-01T10:00:00Z");
    private final GradientBoostingTrainer trainer = new GradientBoostingTrainer(Clock.fixed(NOW, ZoneOffset.UTC));

    private static BoostingParameters parameters() {
        return new BoostingParameters(400, 0.1, 4, 1, 1, 1, 1, 20, 0, 0, 2);
    }

    @Test
    void train_noisyRegression_reachesValidationRmseWithinOneAndAHalfSigma() throws Exception {
        double sigma = 0.5;
        TabularSplit split = SyntheticTables.read(SyntheticTables.regression(5000, sigma, 1), Task.REGRESSION)
                .split(0.2, 7);

        long start = System.nanoTime();
        BoostingResult result = trainer.train(split, parameters(), TrainingListener.ignoring(), () -> false);
        double seconds = (System.nanoTime() - start) / 1e9;

        EncodedRows validation = split.validation();
        float[] predicted = floats(OnnxOutputs.run(result.model().orElseThrow().onnxModel(), validation.features(),
                validation.rowCount(), validation.width()), TabularEncoding.PREDICTION);
        double squares = 0;
        for (int row = 0; row < validation.rowCount(); row++) {
            squares += Math.pow(predicted[row] - validation.target(row), 2);
        }
        double rmse = Math.sqrt(squares / validation.rowCount());
        System.out.printf("regression: %d rounds (kept %d) on %d rows in %.2f s (%.0f rows x rounds/s), validation"
                + " RMSE %.4f for sigma %.2f%n", result.roundsRun(), result.modelRounds(), split.train().rowCount(),
                seconds, split.train().rowCount() * (double) result.roundsRun() / seconds, rmse, sigma);
        assertThat(rmse).isLessThanOrEqualTo(1.5 * sigma);
        // the reported metric is XGBoost's own RMSE of the kept model on the same rows
        assertThat(result.model().orElseThrow().validationMetric()).isCloseTo(rmse, within(1e-3));
        assertOnnxMatchesBooster(result, validation);
    }

    @Test
    void train_binaryClassification_reachesNinetyPercentAccuracyWithBayesRateNinetyFive() throws Exception {
        TabularSplit split = SyntheticTables.read(SyntheticTables.binary(4000, 0.05, 2), Task.CLASSIFICATION)
                .split(0.25, 3);
        assertThat(split.encoding().labels()).containsExactly("no", "yes");

        BoostingResult result = trainer.train(split, parameters(), TrainingListener.ignoring(), () -> false);

        EncodedRows validation = split.validation();
        Map<String, Object> outputs = OnnxOutputs.run(result.model().orElseThrow().onnxModel(), validation.features(),
                validation.rowCount(), validation.width());
        double accuracy = accuracy(longs(outputs, TabularEncoding.LABEL), validation);
        System.out.printf("binary: validation accuracy %.4f after %d rounds%n", accuracy, result.modelRounds());
        assertThat(accuracy).isGreaterThanOrEqualTo(0.90);
        float[] probabilities = floats(outputs, TabularEncoding.PROBABILITIES);
        for (int row = 0; row < validation.rowCount(); row++) {
            assertThat(probabilities[2 * row] + probabilities[2 * row + 1]).isCloseTo(1f, within(1e-6f));
        }
        assertOnnxMatchesBooster(result, validation);
    }

    @Test
    void train_threeClasses_reachesNinetyPercentAccuracyWithBayesRateNinetyFive() throws Exception {
        TabularSplit split = SyntheticTables.read(SyntheticTables.multiclass(4500, 0.05, 4), Task.CLASSIFICATION)
                .split(0.2, 5);
        assertThat(split.encoding().labels()).containsExactly("high", "low", "mid");

        BoostingResult result = trainer.train(split, parameters(), TrainingListener.ignoring(), () -> false);

        EncodedRows validation = split.validation();
        Map<String, Object> outputs = OnnxOutputs.run(result.model().orElseThrow().onnxModel(), validation.features(),
                validation.rowCount(), validation.width());
        double accuracy = accuracy(longs(outputs, TabularEncoding.LABEL), validation);
        System.out.printf("multiclass: validation accuracy %.4f after %d rounds%n", accuracy, result.modelRounds());
        assertThat(accuracy).isGreaterThanOrEqualTo(0.90);
        assertOnnxMatchesBooster(result, validation);
    }

    @Test
    void train_eachRound_reportsMetricsInOrderWithTheClockTime() {
        TabularSplit split = SyntheticTables.read(SyntheticTables.binary(600, 0.05, 6), Task.CLASSIFICATION)
                .split(0.25, 1);
        List<RoundReport> heard = new ArrayList<>();

        BoostingResult result = trainer.train(split, parameters().withMaxRounds(15).withEarlyStopping(0), heard::add,
                () -> false);

        assertThat(heard).extracting(RoundReport::round).containsExactly(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13,
                14, 15);
        assertThat(heard).allSatisfy(report -> {
            assertThat(report.metric()).isEqualTo("logloss");
            assertThat(report.at()).isEqualTo(NOW);
            assertThat(report.trainMetric()).isBetween(0.0, 1.0);
        });
        // boosting lowers the training loss round after round
        assertThat(heard.getLast().trainMetric()).isLessThan(heard.getFirst().trainMetric());
        assertThat(result.history()).isEqualTo(heard);
        assertThat(result.stopReason()).isEqualTo(StopReason.COMPLETED);
    }

    @Test
    void resume_fromACheckpoint_givesTheSameModelAsAnUninterruptedRun() throws Exception {
        TabularSplit split = SyntheticTables.read(SyntheticTables.regression(1500, 0.5, 8), Task.REGRESSION)
                .split(0.2, 2);
        // sampling on: a resumed run must reseed as the uninterrupted one did
        BoostingParameters sampled = parameters().withMaxRounds(40).withEarlyStopping(0).withCheckpointEvery(10)
                .withSampling(0.7, 0.8, 42);
        List<BoostingCheckpoint> checkpoints = new ArrayList<>();
        BoostingResult uninterrupted = trainer.train(split, sampled, new TrainingListener() {
            @Override
            public void round(RoundReport report) {}

            @Override
            public void checkpoint(BoostingCheckpoint checkpoint) {
                checkpoints.add(checkpoint);
            }
        }, () -> false);
        assertThat(checkpoints).extracting(BoostingCheckpoint::rounds).containsExactly(10, 20, 30, 40);

        BoostingCheckpoint stored = BoostingCheckpoint.fromBytes(checkpoints.get(1).toBytes());
        assertThat(stored).isEqualTo(checkpoints.get(1));
        BoostingResult resumed = trainer.resume(split, sampled, stored, TrainingListener.ignoring(), () -> false);

        assertThat(resumed.history()).extracting(RoundReport::round).first().isEqualTo(21);
        assertThat(resumed.boosterModel().orElseThrow()).isEqualTo(uninterrupted.boosterModel().orElseThrow());
        assertThat(resumed.model().orElseThrow().onnxModel()).isEqualTo(uninterrupted.model().orElseThrow().onnxModel());
        assertThat(resumed.history()).isEqualTo(uninterrupted.history().subList(20, 40));
        // and sampling made a difference, so the equality above is not that of a deterministic run
        BoostingResult unsampled = trainer.train(split, sampled.withSampling(1, 1, 42), TrainingListener.ignoring(),
                () -> false);
        assertThat(unsampled.boosterModel().orElseThrow()).isNotEqualTo(uninterrupted.boosterModel().orElseThrow());
    }

    @Test
    void train_cancelledBetweenRounds_stopsWithoutAModelAndResumesToTheSameModel() {
        TabularSplit split = SyntheticTables.read(SyntheticTables.binary(800, 0.05, 9), Task.CLASSIFICATION)
                .split(0.25, 2);
        BoostingParameters parameters = parameters().withMaxRounds(12).withEarlyStopping(0);
        AtomicInteger rounds = new AtomicInteger();

        BoostingResult cancelled = trainer.train(split, parameters, report -> rounds.incrementAndGet(),
                () -> rounds.get() >= 5);

        assertThat(cancelled.stopReason()).isEqualTo(StopReason.CANCELLED);
        assertThat(cancelled.roundsRun()).isEqualTo(5);
        assertThat(cancelled.model()).isEmpty();
        assertThat(cancelled.checkpoint().rounds()).isEqualTo(5);
        BoostingResult resumed = trainer.resume(split, parameters, cancelled.checkpoint(), TrainingListener.ignoring(),
                () -> false);
        BoostingResult whole = trainer.train(split, parameters, TrainingListener.ignoring(), () -> false);
        assertThat(resumed.boosterModel().orElseThrow()).isEqualTo(whole.boosterModel().orElseThrow());
    }

    @Test
    void train_validationMetricStopsImproving_stopsEarlyAndKeepsTheBestRounds() throws Exception {
        // few noisy rows and a high learning rate: the validation loss turns up soon
        TabularSplit split = SyntheticTables.read(SyntheticTables.binary(300, 0.2, 10), Task.CLASSIFICATION)
                .split(0.3, 4);
        BoostingParameters parameters = new BoostingParameters(500, 0.5, 6, 0, 0, 1, 1, 10, 0, 0, 1);

        BoostingResult result = trainer.train(split, parameters, TrainingListener.ignoring(), () -> false);

        assertThat(result.stopReason()).isEqualTo(StopReason.EARLY_STOPPED);
        int best = 0;
        for (int i = 1; i < result.history().size(); i++) {
            if (result.history().get(i).validationMetric() < result.history().get(best).validationMetric()) {
                best = i;
            }
        }
        assertThat(result.modelRounds()).isEqualTo(best + 1);
        assertThat(result.roundsRun()).isEqualTo(best + 1 + 10);
        JsonMapper json = JsonMapper.builder().build();
        assertThat(json.readTree(result.boosterModel().orElseThrow()).at("/learner/gradient_booster/model/trees").size())
                .isEqualTo(best + 1);
        // the kept model's validation log loss, from ONNX, is that of its best round
        EncodedRows validation = split.validation();
        float[] probabilities = floats(OnnxOutputs.run(result.model().orElseThrow().onnxModel(), validation.features(),
                validation.rowCount(), validation.width()), TabularEncoding.PROBABILITIES);
        double loss = 0;
        for (int row = 0; row < validation.rowCount(); row++) {
            loss -= Math.log(probabilities[2 * row + (int) validation.target(row)]);
        }
        assertThat(loss / validation.rowCount()).isCloseTo(result.history().get(best).validationMetric(), within(1e-4));
        assertThat(result.model().orElseThrow().validationMetric()).isEqualTo(result.history().get(best).validationMetric());
        assertOnnxMatchesBooster(result, validation);
    }

    @Test
    void resume_withOtherParameters_isRefused() {
        TabularSplit split = SyntheticTables.read(SyntheticTables.binary(400, 0.05, 11), Task.CLASSIFICATION)
                .split(0.25, 2);
        BoostingParameters parameters = parameters().withMaxRounds(3).withEarlyStopping(0);
        BoostingResult result = trainer.train(split, parameters, TrainingListener.ignoring(), () -> false);

        assertThatThrownBy(() -> trainer.resume(split, parameters.withSampling(0.5, 1, 0), result.checkpoint(),
                TrainingListener.ignoring(), () -> false))
                .isInstanceOfSatisfying(AtriumException.class, e -> {
                    assertThat(e.code()).isEqualTo(ErrorCode.INVALID_REQUEST);
                    assertThat(e.param()).contains("checkpoint");
                });
        // more rounds of the same run are fine
        assertThat(trainer.resume(split, parameters.withMaxRounds(5), result.checkpoint(), TrainingListener.ignoring(),
                () -> false).roundsRun()).isEqualTo(5);
    }

    @Test
    void checkpoint_fromBytesOfSomethingElse_isRefused() {
        assertThatThrownBy(() -> BoostingCheckpoint.fromBytes("not a checkpoint".getBytes()))
                .isInstanceOfSatisfying(AtriumException.class,
                        e -> assertThat(e.code()).isEqualTo(ErrorCode.INVALID_ARTIFACT));
        byte[] truncated = java.util.Arrays.copyOf(new BoostingCheckpoint(1, 1, 0.5, "d", new byte[100]).toBytes(), 60);
        assertThatThrownBy(() -> BoostingCheckpoint.fromBytes(truncated)).isInstanceOf(AtriumException.class);
    }

    /** XGBoost's own predictions of the kept model, on the same rows, equal ONNX Runtime's to 1e-4. */
    static void assertOnnxMatchesBooster(BoostingResult result, EncodedRows rows) throws Exception {
        Booster booster = XGBoost.loadModel(result.boosterModel().orElseThrow());
        DMatrix matrix = new DMatrix(rows.features(), rows.rowCount(), rows.width(), Float.NaN);
        try {
            float[][] expected = booster.predict(matrix);
            Map<String, Object> outputs = OnnxOutputs.run(result.model().orElseThrow().onnxModel(), rows.features(),
                    rows.rowCount(), rows.width());
            assertOutputsMatch(expected, outputs);
        } finally {
            matrix.dispose();
            booster.dispose();
        }
    }

    /** expected: XGBoost's predictions, a value (regression, binary probability) or a row of class probabilities. */
    static void assertOutputsMatch(float[][] expected, Map<String, Object> outputs) {
        if (outputs.containsKey(TabularEncoding.PREDICTION)) {
            float[] actual = floats(outputs, TabularEncoding.PREDICTION);
            for (int row = 0; row < expected.length; row++) {
                assertThat(actual[row]).as("row %d", row).isCloseTo(expected[row][0], within(1e-4f));
            }
            return;
        }
        float[] probabilities = floats(outputs, TabularEncoding.PROBABILITIES);
        long[] labels = longs(outputs, TabularEncoding.LABEL);
        int classes = probabilities.length / expected.length;
        for (int row = 0; row < expected.length; row++) {
            float[] wanted = expected[row].length == 1 ? new float[] {1 - expected[row][0], expected[row][0]}
                    : expected[row];
            int best = 0;
            for (int k = 0; k < classes; k++) {
                assertThat(probabilities[row * classes + k]).as("row %d class %d", row, k).isCloseTo(wanted[k],
                        within(1e-4f));
                best = wanted[k] > wanted[best] ? k : best;
            }
            // where two classes tie to float precision either label is right
            if (Math.abs(wanted[best] - wanted[(int) labels[row]]) > 1e-4) {
                assertThat(labels[row]).as("row %d label", row).isEqualTo(best);
            }
        }
    }

    private static double accuracy(long[] labels, EncodedRows rows) {
        int right = 0;
        for (int row = 0; row < rows.rowCount(); row++) {
            right += labels[row] == (long) rows.target(row) ? 1 : 0;
        }
        return right / (double) rows.rowCount();
    }
}
