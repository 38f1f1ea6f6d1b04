package dev.atrium.engine.onnx.tabular;

import static dev.atrium.engine.onnx.tabular.TabularFixture.COLORS;
import static dev.atrium.engine.onnx.tabular.TabularFixture.ENVIRONMENT;
import static dev.atrium.engine.onnx.tabular.TabularFixture.LINEAR;
import static dev.atrium.engine.onnx.tabular.TabularFixture.SOFTMAX;
import static dev.atrium.engine.onnx.tabular.TabularFixture.TREE_CLASSES;
import static dev.atrium.engine.onnx.tabular.TabularFixture.TREE_REGRESSION;
import static dev.atrium.engine.onnx.tabular.TabularFixture.WIDTH;
import static dev.atrium.engine.onnx.tabular.TabularFixture.encode;
import static dev.atrium.engine.onnx.tabular.TabularFixture.row;
import static dev.atrium.engine.onnx.tabular.TabularFixture.rows;
import static dev.atrium.engine.onnx.tabular.TabularFixture.schema;
import static dev.atrium.engine.onnx.tabular.TabularFixture.session;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import ai.onnxruntime.OrtSession;
import dev.atrium.engine.OutputLimit;
import dev.atrium.engine.onnx.tabular.FeatureSchema.Task;
import dev.atrium.engine.onnx.tabular.TabularFixture.Body;
import dev.atrium.engine.onnx.tabular.TabularModelWriter.ElementType;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.api.Test;

/**
 * Real ONNX models of known weights and trees predict what the test computes from those weights, for the same
 * rows sent in every MLflow format; categorical (one-hot and ordinal), boolean and missing cells reach the model
 * as the schema says.
 */
class TabularPredictionTest {
    private static final List<String> LABELS = List.of("low", "mid", "high");

    /** What the model must predict for a row's encoded input: a value, or class probabilities. */
    private record Expected(double value, double[] probabilities, String label) {}

    /** A model, its config, and the test's own arithmetic for it. */
    private record Model(String name, byte[] onnx, String config, double tolerance, Function<double[], Expected> expected) {
        @Override
        public String toString() {
            return name;
        }
    }

    private static Expected value(double value) {
        return new Expected(value, null, null);
    }

    private static Expected classes(double[] probabilities, List<String> labels) {
        return new Expected(Double.NaN, probabilities, labels.get(TabularModels.argmax(probabilities)));
    }

    static List<Model> models() {
        String regression = "\"task\": \"regression\"";
        String labels = "\"task\": \"classification\", \"labels\": [\"low\", \"mid\", \"high\"]";
        return List.of(
                new Model("linear regression, FLOAT", LINEAR.onnx(ElementType.FLOAT), regression, 1e-4,
                        x -> value(LINEAR.predict(x))),
                new Model("linear regression, DOUBLE", LINEAR.onnx(ElementType.DOUBLE), regression, 1e-12,
                        x -> value(LINEAR.predict(x))),
                new Model("linear regression, one input per feature", LINEAR.onnxPerFeature(COLORS), regression, 1e-4,
                        x -> value(LINEAR.predict(x))),
                new Model("tree ensemble regressor", TREE_REGRESSION.regressor(WIDTH), regression, 1e-5,
                        x -> value(TREE_REGRESSION.scores(x)[0])),
                new Model("softmax classifier with an ArgMax label", SOFTMAX.onnx(true), labels, 1e-5,
                        x -> classes(SOFTMAX.probabilities(x), LABELS)),
                new Model("softmax classifier, probabilities only", SOFTMAX.onnx(false), labels, 1e-5,
                        x -> classes(SOFTMAX.probabilities(x), LABELS)),
                new Model("tree ensemble classifier, string labels", TREE_CLASSES.classifier(WIDTH, LABELS, false, false),
                        labels + ", \"outputs\": {\"label\": \"Y\", \"probabilities\": \"Z\"}", 1e-5,
                        x -> classes(TabularModels.softmax(TREE_CLASSES.scores(x)), LABELS)),
                new Model("tree ensemble classifier, integer labels",
                        TREE_CLASSES.classifier(WIDTH, List.of("10", "20", "30"), true, false),
                        "\"task\": \"classification\", \"labels\": [10, 20, 30], \"outputs\": {\"label\": \"Y\","
                                + " \"probabilities\": \"Z\"}", 1e-5,
                        x -> classes(TabularModels.softmax(TREE_CLASSES.scores(x)), List.of("10", "20", "30"))));
    }

    static Stream<Arguments> modelsAndBodies() {
        return models().stream().flatMap(model -> Stream.of(Body.values()).map(body -> Arguments.of(model, body)));
    }

    private static TabularPredictions predict(Model model, Body body, List<Map<String, Object>> rows) {
        FeatureSchema schema = schema(model.config());
        try (OrtSession session = session(model.onnx())) {
            TabularRunner runner = TabularRunner.bind(ENVIRONMENT, session, schema, OutputLimit.DEFAULT);
            return runner.predict(MlflowInput.parse(body.of(rows), schema, 100).rows());
        } catch (ai.onnxruntime.OrtException e) {
            throw new IllegalStateException(e);
        }
    }

    @ParameterizedTest(name = "{0}, {1}")
    @MethodSource("modelsAndBodies")
    void predict_everyModelAndFormat_givesWhatTheWeightsCompute(Model model, Body body) {
        List<Map<String, Object>> rows = rows();
        TabularPredictions predictions = predict(model, body, rows);

        assertThat(predictions.rowCount()).isEqualTo(rows.size());
        for (int row = 0; row < rows.size(); row++) {
            Expected expected = model.expected().apply(encode(rows.get(row)));
            if (predictions.task() == Task.REGRESSION) {
                assertThat(predictions.value(row)).as("row %d", row)
                        .isCloseTo(expected.value(), within(model.tolerance() * Math.max(1, Math.abs(expected.value()))));
                continue;
            }
            assertThat(predictions.label(row)).as("label of row %d", row).isEqualTo(expected.label());
            assertThat(predictions.hasProbabilities()).isTrue();
            for (int label = 0; label < expected.probabilities().length; label++) {
                assertThat(predictions.probability(row, label)).as("row %d, class %d", row, label)
                        .isCloseTo(expected.probabilities()[label], within(model.tolerance()));
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("models")
    void predict_theSameRowsInEveryFormat_giveIdenticalPredictions(Model model) {
        List<Map<String, Object>> rows = rows();
        TabularPredictions first = predict(model, Body.DATAFRAME_SPLIT, rows);
        for (Body body : Body.values()) {
            TabularPredictions other = predict(model, body, rows);
            for (int row = 0; row < rows.size(); row++) {
                if (first.task() == Task.REGRESSION) {
                    assertThat(other.value(row)).as("%s, row %d", body, row).isEqualTo(first.value(row));
                } else {
                    assertThat(other.label(row)).as("%s, row %d", body, row).isEqualTo(first.label(row));
                    for (int label = 0; label < first.classLabels().size(); label++) {
                        assertThat(other.probability(row, label)).isEqualTo(first.probability(row, label));
                    }
                }
            }
        }
    }

    @Test
    void predict_classLabels_areTheConfiguredOnes_orTheIndices() {
        Model configured = models().get(4);
        assertThat(predict(configured, Body.DATAFRAME_RECORDS, rows()).classLabels()).containsExactly("low", "mid", "high");

        Model unlabelled = new Model("softmax without labels", SOFTMAX.onnx(false), "\"task\": \"classification\"", 1e-5,
                x -> classes(SOFTMAX.probabilities(x), List.of("0", "1", "2")));
        TabularPredictions predictions = predict(unlabelled, Body.DATAFRAME_RECORDS, rows());
        assertThat(predictions.classLabels()).containsExactly("0", "1", "2");
        for (int row = 0; row < rows().size(); row++) {
            assertThat(predictions.label(row)).isEqualTo(unlabelled.expected().apply(encode(rows().get(row))).label());
        }
    }

    // ---- encodings, one column at a time, on the linear model: a change moves the prediction by its weight ---------

    private static double[] linear(List<Map<String, Object>> rows) {
        Model model = models().getFirst();
        TabularPredictions predictions = predict(model, Body.DATAFRAME_RECORDS, rows);
        double[] values = new double[rows.size()];
        for (int row = 0; row < values.length; row++) {
            values[row] = predictions.value(row);
        }
        return values;
    }

    private static Map<String, Object> base() {
        return row("age", 30, "color", "red", "size", "S", "member", false, "floor", 1);
    }

    private static Map<String, Object> with(String column, Object value) {
        Map<String, Object> row = base();
        row.put(column, value);
        return row;
    }

    private static Map<String, Object> without(String column) {
        Map<String, Object> row = base();
        row.remove(column);
        return row;
    }

    @Test
    void predict_oneHotCategories_eachTakeTheirOwnColumn() {
        double[] values = linear(List.of(base(), with("color", "green"), with("color", "blue"), with("floor", 2),
                with("floor", 3)));
        double[] w = LINEAR.weights();
        assertThat(values[1] - values[0]).isCloseTo(w[2] - w[1], within(1e-4));
        assertThat(values[2] - values[0]).isCloseTo(w[3] - w[1], within(1e-4));
        assertThat(values[3] - values[0]).isCloseTo(w[7] - w[6], within(1e-4));
        assertThat(values[4] - values[0]).isCloseTo(w[8] - w[6], within(1e-4));
    }

    @Test
    void predict_ordinalCategory_isItsIndex() {
        double[] values = linear(List.of(base(), with("size", "M"), with("size", "L")));
        assertThat(values[1] - values[0]).isCloseTo(LINEAR.weights()[4], within(1e-4));
        assertThat(values[2] - values[0]).isCloseTo(2 * LINEAR.weights()[4], within(1e-4));
    }

    @Test
    void predict_boolean_trueIsOne_andZeroAndOneMeanFalseAndTrue() {
        double[] values = linear(List.of(base(), with("member", true), with("member", 0), with("member", 1)));
        assertThat(values[1] - values[0]).isCloseTo(LINEAR.weights()[5], within(1e-4));
        assertThat(values[2]).isEqualTo(values[0]);
        assertThat(values[3]).isEqualTo(values[1]);
    }

    @Test
    void predict_missingCells_takeTheirDefaults_absentOrNull() {
        double[] values = linear(List.of(with("age", 40), without("age"), with("age", null),
                with("size", "M"), without("size"), with("size", null), without("member"), with("member", null)));
        assertThat(values[1]).isEqualTo(values[0]);
        assertThat(values[2]).isEqualTo(values[0]);
        assertThat(values[4]).isEqualTo(values[3]);
        assertThat(values[5]).isEqualTo(values[3]);
        assertThat(values[6]).isEqualTo(linear(List.of(base()))[0]);
        assertThat(values[7]).isEqualTo(values[6]);
        assertThat(values[0]).isNotEqualTo(linear(List.of(base()))[0]);
    }

    @Test
    void predict_aLoneStringInputNamedAsTheLoneFeature_takesTheCategoryAsText() throws Exception {
        double[] weights = {0.5, -2.0, 7.0};
        byte[] onnx = new TabularModelWriter()
                .input("color", ElementType.STRING, -1, 1)
                .output("variable", ElementType.FLOAT, -1, 1)
                .initializer("w", ElementType.FLOAT, new long[] {3, 1}, weights)
                .initializer("b", ElementType.FLOAT, new long[] {1}, 1.0)
                .node(TabularModelWriter.ML, "OneHotEncoder", List.of("color"), List.of("hot"),
                        TabularModelWriter.strings("cats_strings", COLORS.toArray(String[]::new)),
                        TabularModelWriter.attribute("zeros", 0L))
                .node("Flatten", List.of("hot"), List.of("flat"), TabularModelWriter.attribute("axis", 1L))
                .node("MatMul", List.of("flat", "w"), List.of("xw"))
                .node("Add", List.of("xw", "b"), List.of("variable"))
                .toBytes();
        FeatureSchema schema = FeatureSchema.parse(TabularFixture.json("{\"task\": \"regression\", \"features\":"
                + " [{\"name\": \"color\", \"type\": \"categorical\", \"categories\": [\"red\", \"green\", \"blue\"]}]}"));
        try (OrtSession session = session(onnx)) {
            TabularPredictions predictions = TabularRunner.bind(ENVIRONMENT, session, schema, OutputLimit.DEFAULT)
                    .predict(MlflowInput.parse(TabularFixture.json("{\"instances\": [\"blue\", \"red\", \"green\"]}"),
                            schema, 10).rows());
            assertThat(new double[] {predictions.value(0), predictions.value(1), predictions.value(2)})
                    .containsExactly(new double[] {1 + weights[2], 1 + weights[0], 1 + weights[1]}, within(1e-6));
        }
    }

    @ParameterizedTest
    @EnumSource(Body.class)
    void predict_noRows_givesNoPredictions(Body body) {
        for (Model model : List.of(models().getFirst(), models().get(4))) {
            TabularPredictions predictions = predict(model, body, new ArrayList<>());
            assertThat(predictions.rowCount()).isZero();
        }
    }
}
