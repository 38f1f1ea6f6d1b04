package dev.atrium.training.tabular;

import static dev.atrium.training.tabular.OnnxOutputs.floats;
import static dev.atrium.training.tabular.OnnxOutputs.longs;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import dev.atrium.engine.OutputLimit;
import dev.atrium.engine.onnx.tabular.FeatureSchema;
import dev.atrium.engine.onnx.tabular.FeatureSchema.Task;
import dev.atrium.engine.onnx.tabular.MlflowInput;
import dev.atrium.engine.onnx.tabular.TabularPredictions;
import dev.atrium.engine.onnx.tabular.TabularRunner;
import dev.atrium.training.tabular.LinearTrainer.LinearParameters;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.ObjectNode;

/**
 * From CSV to served predictions: both families trained on a CSV table, their ONNX model and config loaded by the
 * ONNX engine's tabular runner, and new rows sent as an MLflow request of raw cells (categories as text, missing
 * cells as null). The engine's answers must equal the ONNX model run on the rows as this test encodes them by hand.
 */
class TabularTrainingEndToEndTest {
    private static final JsonMapper JSON = JsonMapper.builder().build();
    private static final String[] CLASSES = {"high", "low", "mid"};

    @Test
    void trainedModels_servedByTheTabularRunner_predictAsTheirOnnxModelOnHandEncodedRows() throws Exception {
        TabularSplit regression = SyntheticTables.read(SyntheticTables.regression(2000, 0.3, 31), Task.REGRESSION)
                .split(0.2, 1);
        TabularSplit classification = SyntheticTables.read(SyntheticTables.multiclass(2000, 0.05, 32),
                Task.CLASSIFICATION).split(0.2, 1);
        GradientBoostingTrainer boosting = new GradientBoostingTrainer(Clock.systemUTC());
        BoostingParameters parameters = BoostingParameters.defaults().withMaxRounds(60);
        List<TrainedTabularModel> models = List.of(
                boosting.train(regression, parameters, TrainingListener.ignoring(), () -> false).model().orElseThrow(),
                boosting.train(classification, parameters, TrainingListener.ignoring(), () -> false).model()
                        .orElseThrow(),
                new LinearTrainer().train(regression, LinearParameters.defaults()),
                new LinearTrainer().train(classification, LinearParameters.defaults()));

        for (TrainedTabularModel model : models) {
            assertServedAsOnnx(model);
        }
    }

    private static void assertServedAsOnnx(TrainedTabularModel model) throws Exception {
        FeatureSchema schema = FeatureSchema.parse(model.config());
        Random random = new Random(99);
        int rows = 50;
        ArrayNode records = JSON.createArrayNode();
        float[] matrix = new float[rows * 7];
        double noiseFill = schema.features().get(4).missing().getAsDouble();
        for (int row = 0; row < rows; row++) {
            SyntheticTables.Cells cells = new SyntheticTables.Cells(random);
            ObjectNode record = records.addObject();
            record.put("x1", cells.x1);
            record.put("x2", cells.x2);
            record.put("color", SyntheticTables.COLORS[cells.color]);
            record.put("member", cells.member);
            if (Double.isNaN(cells.noise)) {
                record.putNull("noise");
            }  else {
                record.put("noise", cells.noise);
            }
            // by hand: x1, x2, one-hot of [blue, green, red], member, noise (its fill where missing)
            int at = row * 7;
            matrix[at] = (float) cells.x1;
            matrix[at + 1] = (float) cells.x2;
            matrix[at + 2 + (2 - cells.color)] = 1;
            matrix[at + 5] = cells.member ? 1 : 0;
            matrix[at + 6] = (float) (Double.isNaN(cells.noise) ? noiseFill : cells.noise);
        }
        ObjectNode body = JSON.createObjectNode();
        body.set("dataframe_records", records);

        OrtEnvironment environment = OrtEnvironment.getEnvironment();
        Map<String, Object> expected = OnnxOutputs.run(model.onnxModel(), matrix, rows, 7);
        try (OrtSession session = environment.createSession(model.onnxModel(), new OrtSession.SessionOptions())) {
            TabularRunner runner = TabularRunner.bind(environment, session, schema, OutputLimit.DEFAULT);
            TabularPredictions predictions = runner.predict(MlflowInput.parse(body, schema, 1000).rows());

            assertThat(predictions.rowCount()).isEqualTo(rows);
            if (schema.task() == Task.REGRESSION) {
                float[] values = floats(expected, TabularEncoding.PREDICTION);
                for (int row = 0; row < rows; row++) {
                    assertThat(predictions.value(row)).isCloseTo(values[row], within(1e-6));
                }
            } else {
                assertThat(predictions.classLabels()).containsExactly(CLASSES);
                long[] labels = longs(expected, TabularEncoding.LABEL);
                float[] probabilities = floats(expected, TabularEncoding.PROBABILITIES);
                List<String> served = new ArrayList<>();
                for (int row = 0; row < rows; row++) {
                    served.add(predictions.label(row));
                    assertThat(predictions.label(row)).isEqualTo(CLASSES[(int) labels[row]]);
                    for (int k = 0; k < 3; k++) {
                        assertThat(predictions.probability(row, k)).isCloseTo(probabilities[row * 3 + k], within(1e-6));
                    }
                }
                // a model that learned something names more than one class
                assertThat(served).containsAnyOf("low", "high").contains("mid");
            }
        }
    }

    @Test
    void read_aHundredThousandRows_measuresRowsPerSecond() {
        String csv = SyntheticTables.regression(100_000, 0.5, 41);
        byte[] bytes = csv.getBytes(StandardCharsets.UTF_8);
        long start = System.nanoTime();
        TabularDataset dataset = TabularCsvReader.read(new ByteArrayInputStream(bytes),
                TabularDatasetSpec.of("y", Task.REGRESSION), TabularCsvLimits.DEFAULT);
        double readSeconds = (System.nanoTime() - start) / 1e9;
        start = System.nanoTime();
        TabularSplit split = dataset.split(0.2, 1);
        double splitSeconds = (System.nanoTime() - start) / 1e9;
        System.out.printf("csv: %d rows (%.1f MB) read in %.3f s (%.0f rows/s), split and encoded in %.3f s%n",
                dataset.rowCount(), bytes.length / 1e6, readSeconds, dataset.rowCount() / readSeconds, splitSeconds);
        assertThat(dataset.rowCount()).isEqualTo(100_000);
        assertThat(dataset.features().get(4).missingCount()).isBetween(9_000, 11_000);
        assertThat(split.train().rowCount()).isEqualTo(80_000);
    }
}
