package dev.atrium.engine.onnx.image;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import dev.atrium.AtriumException;
import dev.atrium.ErrorCode;
import dev.atrium.engine.DataType;
import dev.atrium.engine.TensorSpec;
import dev.atrium.engine.onnx.image.ClassificationOutput.OutputKind;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/** The classification output is chosen, typed and labelled from the config or the model; top-k ranks its scores. */
class ClassificationOutputTest {
    private static final JsonMapper JSON = JsonMapper.builder().build();
    private static final TensorSpec LOGITS = new TensorSpec("logits", DataType.FP32, List.of(-1L, 3L));
    private static final TensorSpec PROBS = new TensorSpec("probs", DataType.FP32, List.of(-1L, 3L));
    private static final Map<String, String> LABELS = Map.of("labels", "food,report,other");

    private static JsonNode json(String text) {
        return JSON.readTree(text);
    }

    @Test
    void fromConfig_theSharedModel_noConfig_picksProbs_andTheMetadataLabels() {
        ImageFixtures.Model model = ImageFixtures.Model.open();
        assertThat(ClassificationOutput.fromConfig(null, model.outputs(), model.metadata()))
                .isEqualTo(new ClassificationOutput("probs", OutputKind.PROBABILITIES, List.of("food", "report", "other")));
    }

    @Test
    void fromConfig_everyField_isMapped_andTheRestOfTheConfigIsTheCallers() {
        ClassificationOutput output = ClassificationOutput.fromConfig(json("""
                {"output": "logits", "output_kind": "logits", "labels": ["meal", "document", "anything else"],
                 "preprocessing": {"resize": "direct"}, "pooling": "mean"}"""), List.of(LOGITS, PROBS), LABELS);
        assertThat(output).isEqualTo(new ClassificationOutput("logits", OutputKind.LOGITS,
                List.of("meal", "document", "anything else")));
        assertThat(ClassificationOutput.fromConfig(json("{\"output\": \"logits\"}"), List.of(LOGITS, PROBS), LABELS)
                .kind()).as("the kind follows the name").isEqualTo(OutputKind.LOGITS);
        assertThat(ClassificationOutput.fromConfig(json("{\"output\": \"probs\", \"output_kind\": \"logits\"}"),
                List.of(LOGITS, PROBS), LABELS).kind()).as("unless the config says").isEqualTo(OutputKind.LOGITS);
    }

    @Test
    void fromConfig_defaults_preferProbabilities_thenLogits_thenTheOnlyOutput() {
        TensorSpec softmax = new TensorSpec("Softmax_out", DataType.FP32, List.of(1L, 3L));
        TensorSpec features = new TensorSpec("features", DataType.FP32, List.of(1L, 3L));
        TensorSpec output = new TensorSpec("output", DataType.FP32, List.of(1L, 3L));
        assertThat(ClassificationOutput.fromConfig(null, List.of(features, softmax), LABELS))
                .extracting(ClassificationOutput::output, ClassificationOutput::kind)
                .containsExactly("Softmax_out", OutputKind.PROBABILITIES);
        assertThat(ClassificationOutput.fromConfig(null, List.of(features, LOGITS), LABELS))
                .extracting(ClassificationOutput::output, ClassificationOutput::kind)
                .containsExactly("logits", OutputKind.LOGITS);
        assertThat(ClassificationOutput.fromConfig(null, List.of(output), LABELS))
                .extracting(ClassificationOutput::output, ClassificationOutput::kind)
                .containsExactly("output", OutputKind.LOGITS);
        assertThat(ClassificationOutput.fromConfig(null, List.of(PROBS), Map.of("labels", " a , b,c ")).labels())
                .containsExactly("a", "b", "c");
    }

    @Test
    void toConfig_parsesBackToTheSameOutput() {
        ClassificationOutput output = ClassificationOutput.fromConfig(json("{\"output\": \"logits\"}"),
                List.of(LOGITS, PROBS), LABELS);
        assertThat(ClassificationOutput.fromConfig(output.toConfig(), List.of(LOGITS, PROBS), Map.of()))
                .isEqualTo(output);
    }

    static Stream<Arguments> badConfigs() {
        TensorSpec features = new TensorSpec("features", DataType.FP32, List.of(1L, 3L));
        TensorSpec other = new TensorSpec("other", DataType.FP32, List.of(1L, 3L));
        return Stream.of(
                Arguments.of("{\"output\": \"scores\"}", List.of(PROBS), LABELS, "output"),
                Arguments.of("{}", List.of(features, other), LABELS, "output"),
                Arguments.of("{}", List.of(new TensorSpec("probs", DataType.INT64, List.of(1L, 3L))), LABELS, "output"),
                Arguments.of("{}", List.of(new TensorSpec("probs", DataType.FP32, List.of(1L, 3L, 7L))), LABELS, "output"),
                Arguments.of("{\"output_kind\": \"scores\"}", List.of(PROBS), LABELS, "output_kind"),
                Arguments.of("{}", List.of(PROBS), Map.of(), "labels"),
                Arguments.of("{}", List.of(PROBS), Map.of("labels", "food,,other"), "labels"),
                Arguments.of("{}", List.of(PROBS), Map.of("labels", "food,report"), "labels"),
                Arguments.of("{\"labels\": [\"a\", \"b\", \"a\"]}", List.of(PROBS), LABELS, "labels"),
                Arguments.of("{\"labels\": [\"a\", \"b\", 3]}", List.of(PROBS), LABELS, "labels"),
                Arguments.of("{\"labels\": \"a,b,c\"}", List.of(PROBS), LABELS, "labels"),
                Arguments.of("{\"labels\": []}", List.of(PROBS), LABELS, "labels"));
    }

    @ParameterizedTest
    @MethodSource("badConfigs")
    void fromConfig_whatDoesNotFit_isAnInvalidArtifact_namingTheField(String config, List<TensorSpec> outputs,
            Map<String, String> metadata, String field) {
        assertThatThrownBy(() -> ClassificationOutput.fromConfig(json(config), outputs, metadata))
                .isInstanceOfSatisfying(AtriumException.class, e -> {
                    assertThat(e.code()).isEqualTo(ErrorCode.INVALID_ARTIFACT);
                    assertThat(e.param()).contains(field);
                });
    }

    @Test
    void topK_sortsByProbability_tiesInOutputOrder_andStopsAtTheClasses() {
        ClassificationOutput output = new ClassificationOutput("probs", OutputKind.PROBABILITIES,
                List.of("a", "b", "c", "d"));
        float[] row = {0.1f, 0.4f, 0.1f, 0.4f};
        assertThat(output.topK(row, 3)).containsExactly(new ScoredLabel(1, "b", 0.4f), new ScoredLabel(3, "d", 0.4f),
                new ScoredLabel(0, "a", 0.1f));
        assertThat(output.topK(row, 10)).hasSize(4);
        assertThat(output.topK(new float[] {9, 9, 0.2f, 0.7f, 0.1f, 0, 9}, 2, 1))
                .as("a row of a batch, from its offset").containsExactly(new ScoredLabel(1, "b", 0.7f));
        assertThatThrownBy(() -> output.topK(row, 0)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> output.topK(row, 1, 1)).isInstanceOf(IndexOutOfBoundsException.class);
    }

    @Test
    void topK_ofLogits_appliesASoftmax() {
        ClassificationOutput output = new ClassificationOutput("logits", OutputKind.LOGITS, List.of("a", "b", "c"));
        // softmax(ln 1, ln 2, ln 5) = 1/8, 2/8, 5/8, and adding 1000 to each changes nothing
        float[] logits = {1000 + (float) Math.log(1), 1000 + (float) Math.log(2), 1000 + (float) Math.log(5)};
        List<ScoredLabel> top = output.topK(logits, 3);
        assertThat(top).extracting(ScoredLabel::label).containsExactly("c", "b", "a");
        assertThat(top.get(0).score()).isCloseTo(0.625f, within(1e-4f));
        assertThat(top.get(1).score()).isCloseTo(0.25f, within(1e-4f));
        assertThat(top.get(2).score()).isCloseTo(0.125f, within(1e-4f));
    }
}
