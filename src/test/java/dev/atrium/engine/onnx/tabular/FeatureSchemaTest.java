package dev.atrium.engine.onnx.tabular;

import static dev.atrium.engine.onnx.tabular.TabularFixture.json;
import static dev.atrium.engine.onnx.tabular.TabularFixture.schema;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.atrium.AtriumException;
import dev.atrium.ErrorCode;
import dev.atrium.engine.onnx.tabular.FeatureSchema.CategoricalEncoding;
import dev.atrium.engine.onnx.tabular.FeatureSchema.Feature;
import dev.atrium.engine.onnx.tabular.FeatureSchema.FeatureType;
import dev.atrium.engine.onnx.tabular.FeatureSchema.Task;
import java.util.List;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** A version's tabular config: every field's mapping, its defaults, and each invalid config refused naming its field. */
class FeatureSchemaTest {

    @Test
    void parse_everyField_mapsToTheSchema() {
        FeatureSchema schema = schema("\"task\": \"classification\", \"labels\": [\"no\", \"yes\"],"
                + " \"outputs\": {\"label\": \"Y\", \"probabilities\": \"Z\"}");

        assertThat(schema.features()).containsExactly(
                Feature.numeric("age", OptionalDouble.of(40)),
                Feature.categorical("color", List.of("red", "green", "blue"), CategoricalEncoding.ONE_HOT,
                        OptionalDouble.empty()),
                Feature.categorical("size", List.of("S", "M", "L"), CategoricalEncoding.ORDINAL, OptionalDouble.of(1)),
                Feature.bool("member", OptionalDouble.of(0)),
                new Feature("floor", FeatureType.CATEGORICAL, List.of("1", "2", "3"), true, CategoricalEncoding.ONE_HOT,
                        OptionalDouble.empty()));
        assertThat(schema.task()).isEqualTo(Task.CLASSIFICATION);
        assertThat(schema.labels()).containsExactly("no", "yes");
        assertThat(schema.integerLabels()).isFalse();
        assertThat(schema.outputs()).isEqualTo(new FeatureSchema.Outputs(Optional.empty(), Optional.of("Y"),
                Optional.of("Z")));
        assertThat(schema.encodedWidth()).isEqualTo(1 + 3 + 1 + 1 + 3);
    }

    @Test
    void parse_defaults_oneHot_noLabels_noOutputs_noMissingValue() {
        FeatureSchema schema = FeatureSchema.parse(json("""
                {"task": "regression", "features": [{"name": "c", "type": "categorical", "categories": ["a", "b"]},
                 {"name": "x", "type": "numeric"}]}"""));
        assertThat(schema.features().getFirst().encoding()).isEqualTo(CategoricalEncoding.ONE_HOT);
        assertThat(schema.features()).allMatch(feature -> feature.missing().isEmpty());
        assertThat(schema.labels()).isEmpty();
        assertThat(schema.outputs()).isEqualTo(FeatureSchema.Outputs.none());
        assertThat(schema.encodedWidth()).isEqualTo(3);
    }

    @Test
    void parse_categoricalEncoding_setsTheDefault_whichAFeatureOverrides() {
        FeatureSchema schema = FeatureSchema.parse(json("""
                {"task": "regression", "categorical_encoding": "ordinal",
                 "features": [{"name": "c", "type": "categorical", "categories": ["a", "b"]},
                              {"name": "d", "type": "categorical", "categories": ["a", "b"], "encoding": "one_hot"}]}"""));
        assertThat(schema.features()).extracting(Feature::encoding)
                .containsExactly(CategoricalEncoding.ORDINAL, CategoricalEncoding.ONE_HOT);
        assertThat(schema.encodedWidth()).isEqualTo(3);
    }

    @Test
    void parse_integerLabels_areKeptAsText_andMarked() {
        FeatureSchema schema = schema("\"task\": \"classification\", \"labels\": [3, 7, 9]");
        assertThat(schema.labels()).containsExactly("3", "7", "9");
        assertThat(schema.integerLabels()).isTrue();
    }

    private static final String X = "{\"name\": \"x\", \"type\": \"numeric\"}";

    static Stream<Arguments> invalidConfigs() {
        return Stream.of(
                Arguments.of("[]", "config"),
                Arguments.of("{\"features\": [" + X + "]}", "task"),
                Arguments.of("{\"task\": \"ranking\", \"features\": [" + X + "]}", "task"),
                Arguments.of("{\"task\": \"regression\", \"features\": [" + X + "], \"extra\": 1}", "extra"),
                Arguments.of("{\"task\": \"regression\"}", "features"),
                Arguments.of("{\"task\": \"regression\", \"features\": []}", "features"),
                Arguments.of("{\"task\": \"regression\", \"features\": [{\"type\": \"numeric\"}]}", "features[0].name"),
                Arguments.of("{\"task\": \"regression\", \"features\": [{\"name\": \" \", \"type\": \"numeric\"}]}",
                        "features[0].name"),
                Arguments.of("{\"task\": \"regression\", \"features\": [" + X + ", " + X + "]}", "features[1].name"),
                Arguments.of("{\"task\": \"regression\", \"features\": [{\"name\": \"x\"}]}", "features[0].type"),
                Arguments.of("{\"task\": \"regression\", \"features\": [{\"name\": \"x\", \"type\": \"text\"}]}",
                        "features[0].type"),
                Arguments.of("{\"task\": \"regression\", \"features\": [{\"name\": \"x\", \"type\": \"numeric\","
                        + " \"unit\": \"cm\"}]}", "features[0].unit"),
                Arguments.of("{\"task\": \"regression\", \"features\": [{\"name\": \"x\", \"type\": \"categorical\"}]}",
                        "features[0].categories"),
                Arguments.of("{\"task\": \"regression\", \"features\": [{\"name\": \"x\", \"type\": \"categorical\","
                        + " \"categories\": []}]}", "features[0].categories"),
                Arguments.of("{\"task\": \"regression\", \"features\": [{\"name\": \"x\", \"type\": \"categorical\","
                        + " \"categories\": [\"a\", \"a\"]}]}", "features[0].categories"),
                Arguments.of("{\"task\": \"regression\", \"features\": [{\"name\": \"x\", \"type\": \"categorical\","
                        + " \"categories\": [\"a\", 2]}]}", "features[0].categories"),
                Arguments.of("{\"task\": \"regression\", \"features\": [{\"name\": \"x\", \"type\": \"categorical\","
                        + " \"categories\": [\"a\"], \"encoding\": \"hash\"}]}", "features[0].encoding"),
                Arguments.of("{\"task\": \"regression\", \"features\": [{\"name\": \"x\", \"type\": \"numeric\","
                        + " \"categories\": [\"a\"]}]}", "features[0].categories"),
                Arguments.of("{\"task\": \"regression\", \"features\": [{\"name\": \"x\", \"type\": \"boolean\","
                        + " \"encoding\": \"ordinal\"}]}", "features[0].encoding"),
                Arguments.of("{\"task\": \"regression\", \"features\": [{\"name\": \"x\", \"type\": \"numeric\","
                        + " \"missing\": \"zero\"}]}", "features[0].missing"),
                Arguments.of("{\"task\": \"regression\", \"features\": [{\"name\": \"x\", \"type\": \"boolean\","
                        + " \"missing\": 0}]}", "features[0].missing"),
                Arguments.of("{\"task\": \"regression\", \"features\": [{\"name\": \"x\", \"type\": \"categorical\","
                        + " \"categories\": [\"a\"], \"missing\": \"b\"}]}", "features[0].missing"),
                Arguments.of("{\"task\": \"regression\", \"features\": [{\"name\": \"x\", \"type\": \"categorical\","
                        + " \"categories\": [1, 2], \"missing\": \"1\"}]}", "features[0].missing"),
                Arguments.of("{\"task\": \"regression\", \"categorical_encoding\": \"dense\", \"features\": [" + X + "]}",
                        "categorical_encoding"),
                Arguments.of("{\"task\": \"regression\", \"labels\": [\"a\"], \"features\": [" + X + "]}", "labels"),
                Arguments.of("{\"task\": \"classification\", \"labels\": [\"a\", \"a\"], \"features\": [" + X + "]}",
                        "labels"),
                Arguments.of("{\"task\": \"classification\", \"labels\": [1.5, 2.5], \"features\": [" + X + "]}",
                        "labels"),
                Arguments.of("{\"task\": \"classification\", \"labels\": \"a,b\", \"features\": [" + X + "]}", "labels"),
                Arguments.of("{\"task\": \"regression\", \"outputs\": \"y\", \"features\": [" + X + "]}", "outputs"),
                Arguments.of("{\"task\": \"regression\", \"outputs\": {\"score\": \"y\"}, \"features\": [" + X + "]}",
                        "outputs.score"),
                Arguments.of("{\"task\": \"regression\", \"outputs\": {\"label\": \"y\"}, \"features\": [" + X + "]}",
                        "outputs.label"),
                Arguments.of("{\"task\": \"classification\", \"outputs\": {\"prediction\": \"y\"}, \"features\": ["
                        + X + "]}", "outputs.prediction"),
                Arguments.of("{\"task\": \"classification\", \"outputs\": {\"label\": \"y\", \"probabilities\": \"y\"},"
                        + " \"features\": [" + X + "]}", "outputs.probabilities"),
                Arguments.of("{\"task\": \"regression\", \"outputs\": {\"prediction\": 3}, \"features\": [" + X + "]}",
                        "outputs.prediction"));
    }

    @ParameterizedTest(name = "{1}: {0}")
    @MethodSource("invalidConfigs")
    void parse_invalidConfig_isAnInvalidArtifact_namingTheField(String config, String field) {
        assertThatThrownBy(() -> FeatureSchema.parse(json(config)))
                .isInstanceOfSatisfying(AtriumException.class, e -> {
                    assertThat(e.code()).isEqualTo(ErrorCode.INVALID_ARTIFACT);
                    assertThat(e.param()).contains(field);
                    assertThat(e.getMessage()).doesNotContain("Exception").doesNotContain("tools.jackson");
                });
    }

    @Test
    void parse_tooManyCategories_isRefused() {
        StringBuilder categories = new StringBuilder();
        for (int i = 0; i <= FeatureSchema.MAX_CATEGORIES; i++) {
            categories.append(i == 0 ? "" : ",").append(i);
        }
        assertThatThrownBy(() -> FeatureSchema.parse(json("{\"task\": \"regression\", \"features\": [{\"name\": \"c\","
                + " \"type\": \"categorical\", \"categories\": [" + categories + "]}]}")))
                .isInstanceOfSatisfying(AtriumException.class, e -> {
                    assertThat(e.code()).isEqualTo(ErrorCode.INVALID_ARTIFACT);
                    assertThat(e.param()).contains("features[0].categories");
                });
    }

    @Test
    void records_refuseValuesOutsideTheirType() {
        assertThatThrownBy(() -> Feature.categorical("c", List.of("a"), CategoricalEncoding.ORDINAL, OptionalDouble.of(1)))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> Feature.bool("b", OptionalDouble.of(0.5))).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> Feature.numeric("x", OptionalDouble.of(Double.NaN)))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new Feature("c", FeatureType.CATEGORICAL, List.of("a"), true,
                CategoricalEncoding.ONE_HOT, OptionalDouble.empty())).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new FeatureSchema(List.of(Feature.numeric("x", OptionalDouble.empty())),
                Task.CLASSIFICATION, List.of("a"), true, FeatureSchema.Outputs.none()))
                .isInstanceOf(IllegalArgumentException.class);
    }
}
