package dev.atrium.training.tabular;

import static dev.atrium.training.tabular.OnnxOutputs.floats;
import static dev.atrium.training.tabular.OnnxOutputs.longs;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import dev.atrium.engine.onnx.tabular.FeatureSchema.Task;
import dev.atrium.training.tabular.LinearTrainer.LinearParameters;
import java.util.Map;
import org.junit.jupiter.api.Test;

class LinearTrainerTest {
    private final LinearTrainer trainer = new LinearTrainer();

    @Test
    void train_ridgeOnALinearFunction_recoversItsCoefficientsAndReachesSigma() throws Exception {
        double sigma = 0.5;
        TabularSplit split = SyntheticTables.read(SyntheticTables.linear(4000, sigma, 21), Task.REGRESSION)
                .split(0.2, 1);
        long start = System.nanoTime();
        TrainedTabularModel model = trainer.train(split, LinearParameters.defaults());
        double seconds = (System.nanoTime() - start) / 1e9;

        EncodedRows validation = split.validation();
        float[] predicted = floats(OnnxOutputs.run(model.onnxModel(), validation.features(), validation.rowCount(),
                validation.width()), TabularEncoding.PREDICTION);
        double squares = 0;
        for (int row = 0; row < validation.rowCount(); row++) {
            squares += Math.pow(predicted[row] - validation.target(row), 2);
        }
        double rmse = Math.sqrt(squares / validation.rowCount());
        System.out.printf("ridge: %d rows in %.3f s, validation RMSE %.4f for sigma %.2f%n", split.train().rowCount(),
                seconds, rmse, sigma);
        assertThat(rmse).isLessThanOrEqualTo(1.1 * sigma);
        assertThat(model.metric()).isEqualTo("rmse");
        assertThat(model.validationMetric()).isCloseTo(rmse, within(1e-4));
        assertThat(model.family()).isEqualTo(ModelFamily.LINEAR);

        // the coefficients, read off the ONNX model at unit rows: x1 1.5, x2 -2, member 0.5;
        // columns: x1, x2, color blue / green / red, member, noise
        float[] rows = new float[4 * 7];
        rows[7] = 1;
        rows[2 * 7 + 1] = 1;
        rows[3 * 7 + 5] = 1;
        float[] at = floats(OnnxOutputs.run(model.onnxModel(), rows, 4, 7), TabularEncoding.PREDICTION);
        assertThat(at[1] - at[0]).isCloseTo(1.5f, within(0.05f));
        assertThat(at[2] - at[0]).isCloseTo(-2f, within(0.05f));
        assertThat(at[3] - at[0]).isCloseTo(0.5f, within(0.08f));
    }

    @Test
    void train_logisticOnTwoClasses_reachesNinetyTwoPercentAccuracyWithBayesRateNinetyFive() throws Exception {
        TabularSplit split = SyntheticTables.read(SyntheticTables.binary(4000, 0.05, 22), Task.CLASSIFICATION)
                .split(0.25, 2);
        long start = System.nanoTime();
        TrainedTabularModel model = trainer.train(split, LinearParameters.defaults());
        double seconds = (System.nanoTime() - start) / 1e9;

        EncodedRows validation = split.validation();
        Map<String, Object> outputs = OnnxOutputs.run(model.onnxModel(), validation.features(), validation.rowCount(),
                validation.width());
        long[] labels = longs(outputs, TabularEncoding.LABEL);
        float[] probabilities = floats(outputs, TabularEncoding.PROBABILITIES);
        int right = 0;
        double loss = 0;
        for (int row = 0; row < validation.rowCount(); row++) {
            int label = (int) validation.target(row);
            right += labels[row] == label ? 1 : 0;
            loss -= Math.log(probabilities[2 * row + label]);
            assertThat(labels[row]).isEqualTo(probabilities[2 * row + 1] > 0.5f ? 1 : 0);
        }
        double accuracy = right / (double) validation.rowCount();
        System.out.printf("logistic: %d rows in %.3f s, validation accuracy %.4f%n", split.train().rowCount(), seconds,
                accuracy);
        assertThat(accuracy).isGreaterThanOrEqualTo(0.92);
        assertThat(model.metric()).isEqualTo("logloss");
        assertThat(model.validationMetric()).isCloseTo(loss / validation.rowCount(), within(1e-4));
    }

    @Test
    void train_softmaxOnThreeClasses_reachesEightyFivePercentAccuracy() throws Exception {
        TabularSplit split = SyntheticTables.read(SyntheticTables.multiclass(4000, 0.05, 23), Task.CLASSIFICATION)
                .split(0.25, 3);
        TrainedTabularModel model = trainer.train(split, LinearParameters.defaults());

        EncodedRows validation = split.validation();
        Map<String, Object> outputs = OnnxOutputs.run(model.onnxModel(), validation.features(), validation.rowCount(),
                validation.width());
        long[] labels = longs(outputs, TabularEncoding.LABEL);
        float[] probabilities = floats(outputs, TabularEncoding.PROBABILITIES);
        int right = 0;
        for (int row = 0; row < validation.rowCount(); row++) {
            right += labels[row] == (long) validation.target(row) ? 1 : 0;
            assertThat(probabilities[3 * row] + probabilities[3 * row + 1] + probabilities[3 * row + 2])
                    .isCloseTo(1f, within(1e-5f));
        }
        double accuracy = right / (double) validation.rowCount();
        System.out.printf("softmax: validation accuracy %.4f%n", accuracy);
        assertThat(accuracy).isGreaterThanOrEqualTo(0.85);
        assertThat(model.metric()).isEqualTo("mlogloss");
    }
}
