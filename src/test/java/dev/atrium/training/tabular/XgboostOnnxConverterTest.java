package dev.atrium.training.tabular;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.HashMap;
import java.util.Map;
import java.util.Random;
import ml.dmlc.xgboost4j.java.Booster;
import ml.dmlc.xgboost4j.java.DMatrix;
import ml.dmlc.xgboost4j.java.XGBoost;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

/**
 * Boosters trained by XGBoost directly, on rows where a fifth of the cells are missing (NaN), so that XGBoost learns
 * default directions: the converted ONNX model must send missing values the same way and give the same outputs.
 */
class XgboostOnnxConverterTest {
    private static final int ROWS = 3000;
    private static final int WIDTH = 5;

    @ParameterizedTest
    @ValueSource(strings = {"reg:squarederror", "binary:logistic", "multi:softprob"})
    void convert_boosterTrainedWithMissingValues_predictsAsXgboostDoesOnMissingValues(String objective)
            throws Exception {
        Random random = new Random(objective.hashCode());
        float[] matrix = new float[ROWS * WIDTH];
        float[] labels = new float[ROWS];
        for (int row = 0; row < ROWS; row++) {
            double signal = 0;
            for (int column = 0; column < WIDTH; column++) {
                float value = (float) random.nextGaussian();
                signal += (column + 1) * value * (column % 2 == 0 ? 1 : -1);
                // missing more often where the signal is high, so that the default direction matters
                matrix[row * WIDTH + column] = random.nextDouble() < (signal > 0 ? 0.3 : 0.1) ? Float.NaN : value;
            }
            labels[row] = switch (objective) {
                case "reg:squarederror" -> (float) (signal + 10);
                case "binary:logistic" -> signal > 1 ? 1 : 0;
                default -> signal < -2 ? 0 : signal < 2 ? 1 : 2;
            };
        }
        Map<String, Object> params = new HashMap<>();
        params.put("objective", objective);
        params.put("max_depth", 5);
        params.put("eta", 0.3);
        params.put("nthread", 1);
        params.put("verbosity", 0);
        if (objective.startsWith("multi")) {
            params.put("num_class", 3);
        }
        DMatrix train = new DMatrix(matrix, ROWS, WIDTH, Float.NaN);
        train.setLabel(labels);
        Booster booster = XGBoost.train(train, params, 30, Map.of(), null, null);
        try {
            byte[] onnx = XgboostOnnxConverter.convert(booster.toByteArray("json"), WIDTH, Integer.MAX_VALUE);

            float[][] expected = booster.predict(train);
            GradientBoostingTrainerTest.assertOutputsMatch(expected, OnnxOutputs.run(onnx, matrix, ROWS, WIDTH));
            // missing values go left at some splits and right at others, so both mappings were exercised
            java.util.Set<Integer> directions = new java.util.HashSet<>();
            tools.jackson.databind.JsonNode model = tools.jackson.databind.json.JsonMapper.builder().build()
                    .readTree(booster.toByteArray("json"));
            for (tools.jackson.databind.JsonNode tree : model.at("/learner/gradient_booster/model/trees")) {
                tools.jackson.databind.JsonNode left = tree.get("left_children");
                for (int node = 0; node < left.size(); node++) {
                    if (left.get(node).asInt() >= 0) {
                        directions.add(tree.get("default_left").get(node).asInt());
                    }
                }
            }
            assertThat(directions).containsExactlyInAnyOrder(0, 1);
        } finally {
            booster.dispose();
            train.dispose();
        }
    }

    @Test
    void convert_treeLimit_keepsOnlyTheFirstTrees() throws Exception {
        float[] matrix = new float[200];
        float[] labels = new float[100];
        Random random = new Random(3);
        for (int row = 0; row < 100; row++) {
            matrix[2 * row] = (float) random.nextGaussian();
            matrix[2 * row + 1] = (float) random.nextGaussian();
            labels[row] = matrix[2 * row] * 3 + matrix[2 * row + 1];
        }
        DMatrix train = new DMatrix(matrix, 100, 2, Float.NaN);
        train.setLabel(labels);
        Booster booster = XGBoost.train(train, Map.of("objective", "reg:squarederror", "nthread", 1, "verbosity", 0),
                10, Map.of(), null, null);
        try {
            byte[] three = XgboostOnnxConverter.convert(booster.toByteArray("json"), 2, 3);
            float[][] expected = booster.predict(train, false, 3);
            GradientBoostingTrainerTest.assertOutputsMatch(expected, OnnxOutputs.run(three, matrix, 100, 2));
            float[][] all = booster.predict(train);
            assertThat(all[0][0]).isNotEqualTo(expected[0][0]);
        } finally {
            booster.dispose();
            train.dispose();
        }
    }

    @Test
    void convert_unsupportedObjective_isRefused() throws Exception {
        float[] matrix = {1, 2, 3, 4};
        DMatrix train = new DMatrix(matrix, 2, 2, Float.NaN);
        train.setLabel(new float[] {1, 2});
        Booster booster = XGBoost.train(train, Map.of("objective", "count:poisson", "verbosity", 0), 2, Map.of(),
                null, null);
        try {
            byte[] json = booster.toByteArray("json");
            assertThatThrownBy(() -> XgboostOnnxConverter.convert(json, 2, 10))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("count:poisson");
        } finally {
            booster.dispose();
            train.dispose();
        }
    }
}
