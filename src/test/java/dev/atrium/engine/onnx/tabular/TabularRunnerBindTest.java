package dev.atrium.engine.onnx.tabular;

import static dev.atrium.engine.onnx.tabular.TabularFixture.COLORS;
import static dev.atrium.engine.onnx.tabular.TabularFixture.ENVIRONMENT;
import static dev.atrium.engine.onnx.tabular.TabularFixture.LINEAR;
import static dev.atrium.engine.onnx.tabular.TabularFixture.SOFTMAX;
import static dev.atrium.engine.onnx.tabular.TabularFixture.TREE_CLASSES;
import static dev.atrium.engine.onnx.tabular.TabularFixture.WIDTH;
import static dev.atrium.engine.onnx.tabular.TabularFixture.rows;
import static dev.atrium.engine.onnx.tabular.TabularFixture.schema;
import static dev.atrium.engine.onnx.tabular.TabularFixture.session;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.atrium.AtriumException;
import dev.atrium.ErrorCode;
import dev.atrium.engine.OutputLimit;
import dev.atrium.engine.onnx.tabular.TabularFixture.Body;
import dev.atrium.engine.onnx.tabular.TabularModelWriter.ElementType;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** A schema checked against the ONNX graph at upload: every mismatch is an invalid artifact naming what is wrong. */
class TabularRunnerBindTest {
    private static final String REGRESSION = "\"task\": \"regression\"";
    private static final String CLASSIFICATION = "\"task\": \"classification\", \"labels\": [\"low\", \"mid\", \"high\"]";

    private static TabularRunner bind(byte[] model, String config) {
        try (OrtSession session = session(model)) {
            return TabularRunner.bind(ENVIRONMENT, session, schema(config), OutputLimit.DEFAULT);
        } catch (OrtException e) {
            throw new IllegalStateException(e);
        }
    }

    /** y = x through Identity, for graphs of any input signature. */
    private static byte[] identity(ElementType type, long... shape) {
        return new TabularModelWriter().input("x", type, shape).output("y", type, shape)
                .node("Identity", List.of("x"), List.of("y")).toBytes();
    }

    private static byte[] twoOutputs() {
        return new TabularModelWriter().input("x", ElementType.FLOAT, -1, WIDTH)
                .output("a", ElementType.FLOAT, -1, WIDTH).output("b", ElementType.FLOAT, -1, WIDTH)
                .node("Identity", List.of("x"), List.of("a")).node("Identity", List.of("x"), List.of("b")).toBytes();
    }

    static Stream<Arguments> mismatches() {
        return Stream.of(
                Arguments.of("a ZipMap output", TREE_CLASSES.classifier(WIDTH, List.of("low", "mid", "high"), false, true),
                        CLASSIFICATION + ", \"outputs\": {\"label\": \"Y\"}", null,
                        List.of("'output_probability'", "ZipMap", "export the model without ZipMap")),
                Arguments.of("a ZipMap of integer labels", TREE_CLASSES.classifier(WIDTH, List.of("1", "2", "3"), true,
                        true), "\"task\": \"classification\"", null, List.of("ZipMap")),
                Arguments.of("the input narrower than the encoded features", identity(ElementType.FLOAT, -1, WIDTH - 1),
                        REGRESSION, null, List.of("'x'", "[N, 9]", "encode to 9 columns")),
                Arguments.of("an INT32 input", identity(ElementType.INT32, -1, WIDTH), REGRESSION, null,
                        List.of("INT32", "FLOAT or DOUBLE")),
                Arguments.of("a fixed batch", identity(ElementType.FLOAT, 1, WIDTH), REGRESSION, null,
                        List.of("[1, 9]", "N dynamic")),
                Arguments.of("a rank-3 input", identity(ElementType.FLOAT, -1, WIDTH, 1), REGRESSION, null,
                        List.of("[N, 9, 1]")),
                Arguments.of("inputs not named as the features", new TabularModelWriter()
                        .input("a", ElementType.FLOAT, -1, 1).input("b", ElementType.FLOAT, -1, 1)
                        .output("y", ElementType.FLOAT, -1, 1).node("Add", List.of("a", "b"), List.of("y")).toBytes(),
                        REGRESSION, null, List.of("2 inputs", "one input per feature", "age")),
                Arguments.of("a regression output of two columns", twoOutputs(), REGRESSION
                        + ", \"outputs\": {\"prediction\": \"a\"}", "outputs.prediction", List.of("'a'", "[N, 1]")),
                Arguments.of("a regression with two outputs and none named", twoOutputs(), REGRESSION,
                        "outputs.prediction", List.of("[a, b]")),
                Arguments.of("an output that is not in the model", LINEAR.onnx(ElementType.FLOAT), REGRESSION
                        + ", \"outputs\": {\"prediction\": \"score\"}", "outputs.prediction",
                        List.of("'score'", "[variable]")),
                Arguments.of("a label output that is not in the model", SOFTMAX.onnx(false), CLASSIFICATION
                        + ", \"outputs\": {\"label\": \"label\"}", "outputs.label", List.of("'label'")),
                Arguments.of("a float label output", SOFTMAX.onnx(false), CLASSIFICATION
                        + ", \"outputs\": {\"label\": \"probabilities\"}", "outputs.label",
                        List.of("'probabilities'", "INT64, INT32 or STRING")),
                Arguments.of("fewer labels than classes", SOFTMAX.onnx(true),
                        "\"task\": \"classification\", \"labels\": [\"low\", \"high\"]", "labels",
                        List.of("2 labels", "3 classes")),
                Arguments.of("a classifier without recognisable outputs", twoOutputs(), CLASSIFICATION, "outputs",
                        List.of("outputs.label", "[a, b]")),
                Arguments.of("a per-feature input of the wrong type", new TabularModelWriter()
                        .input("age", ElementType.BOOL, -1, 1).input("color", ElementType.FLOAT, -1, 3)
                        .input("size", ElementType.FLOAT, -1, 1).input("member", ElementType.FLOAT, -1, 1)
                        .input("floor", ElementType.FLOAT, -1, 3).output("y", ElementType.FLOAT, -1, 3)
                        .node("Identity", List.of("color"), List.of("y")).toBytes(), REGRESSION, null,
                        List.of("'age'", "BOOL", "numeric feature 'age'")),
                Arguments.of("a per-feature one-hot input of one column", new TabularModelWriter()
                        .input("age", ElementType.FLOAT, -1, 1).input("color", ElementType.FLOAT, -1, 1)
                        .input("size", ElementType.FLOAT, -1, 1).input("member", ElementType.FLOAT, -1, 1)
                        .input("floor", ElementType.FLOAT, -1, 3).output("y", ElementType.FLOAT, -1, 1)
                        .node("Identity", List.of("color"), List.of("y")).toBytes(), REGRESSION, null,
                        List.of("'color'", "[N, 3]")));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("mismatches")
    void bind_aModelThatDoesNotFitTheSchema_isAnInvalidArtifact(String what, byte[] model, String config, String param,
            List<String> message) {
        assertThatThrownBy(() -> bind(model, config)).isInstanceOfSatisfying(AtriumException.class, e -> {
            assertThat(e.code()).isEqualTo(ErrorCode.INVALID_ARTIFACT);
            assertThat(e.param().orElse(null)).isEqualTo(param);
            assertThat(e.getMessage()).contains(message);
        });
    }

    @Test
    void bind_theSameGraphsWithoutTheMismatch_bind() {
        assertThat(bind(identity(ElementType.FLOAT, -1, -1), REGRESSION + ", \"outputs\": {\"prediction\": \"y\"}"))
                .as("a dynamic width is taken on trust").isNotNull();
        assertThat(bind(LINEAR.onnxPerFeature(COLORS), REGRESSION)).isNotNull();
        assertThat(bind(TREE_CLASSES.classifier(WIDTH, List.of("low", "mid", "high"), false, false),
                CLASSIFICATION + ", \"outputs\": {\"label\": \"Y\", \"probabilities\": \"Z\"}")).isNotNull();
    }

    @Test
    void predict_outputsPastTheLimit_areRefused() {
        FeatureSchema schema = schema(CLASSIFICATION);
        try (OrtSession session = session(SOFTMAX.onnx(true))) {
            TabularRunner runner = TabularRunner.bind(ENVIRONMENT, session, schema, new OutputLimit(64));
            TabularRows rows = MlflowInput.parse(Body.DATAFRAME_RECORDS.of(rows()), schema, 100).rows();
            assertThatThrownBy(() -> runner.predict(rows)).isInstanceOfSatisfying(AtriumException.class,
                    e -> assertThat(e.code()).isEqualTo(ErrorCode.OUTPUT_TOO_LARGE));
            TabularRows two = MlflowInput.parse(Body.DATAFRAME_RECORDS.of(rows().subList(0, 2)), schema, 100).rows();
            assertThat(runner.predict(two).rowCount()).as("2 rows x 3 classes x 8 bytes fit in 64").isEqualTo(2);
        } catch (OrtException e) {
            throw new IllegalStateException(e);
        }
    }

    @Test
    void predict_rowsReadForAnotherSchema_areRefused() {
        FeatureSchema schema = schema(REGRESSION);
        FeatureSchema other = schema(REGRESSION + ", \"outputs\": {\"prediction\": \"variable\"}");
        try (OrtSession session = session(LINEAR.onnx(ElementType.FLOAT))) {
            TabularRunner runner = TabularRunner.bind(ENVIRONMENT, session, schema, OutputLimit.DEFAULT);
            TabularRows rows = MlflowInput.parse(Body.DATAFRAME_RECORDS.of(rows()), other, 100).rows();
            assertThatThrownBy(() -> runner.predict(rows)).isInstanceOf(IllegalArgumentException.class);
        } catch (OrtException e) {
            throw new IllegalStateException(e);
        }
    }
}
