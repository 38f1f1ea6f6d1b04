package dev.atrium.training.tabular;

import static dev.atrium.training.tabular.OnnxGraphWriter.BATCH;
import static dev.atrium.training.tabular.OnnxGraphWriter.FLOAT;
import static dev.atrium.training.tabular.OnnxGraphWriter.ML_DOMAIN;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Deque;
import java.util.List;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * Turns an XGBoost model, as its JSON model format saves it ({@code Booster.toByteArray("json")}), into an ONNX
 * model of one FLOAT input [N, F] and the outputs of {@link TabularOnnxOutputs}.
 *
 * <p>How XGBoost's trees map to {@code ai.onnx.ml} tree ensembles: a node splits on {@code split_indices} at
 * {@code split_conditions}, going to its left child when {@code x < threshold} ({@code BRANCH_LT}, the left child
 * the true branch) and, when x is missing, to the left child where {@code default_left} (so
 * {@code nodes_missing_value_tracks_true}); a leaf's value is its {@code split_conditions}; {@code tree_info} gives
 * each tree's class. The intercept {@code base_score} is saved in the objective's output space, so the base margin
 * is its logit for {@code binary:logistic} and the value itself otherwise. Nodes are renumbered in breadth-first
 * order from each root, so that pruned (deleted) nodes are left out and ids run from 0.
 *
 * <p>Regression: {@code TreeEnsembleRegressor}. Binary: a {@code TreeEnsembleRegressor} of the margin and a
 * sigmoid, not a {@code TreeEnsembleClassifier} with a LOGISTIC post-transform, whose single-class "binary case"
 * ONNX Runtime reads as probabilities when every leaf weight is positive. Multiclass: a
 * {@code TreeEnsembleClassifier} with a SOFTMAX post-transform. Stateless and thread-safe.
 */
final class XgboostOnnxConverter {
    private static final JsonMapper JSON = JsonMapper.builder().build();

    private XgboostOnnxConverter() {}

    /** What the model's objective makes of the margins. */
    enum Head { REGRESSION, BINARY, MULTICLASS }

    /**
     * @param model the JSON model; only numeric splits (no categorical splits, one tree a round per class)
     * @param width the input columns F
     * @param treeLimit the number of trees to keep, from the first (all when larger)
     */
    static byte[] convert(byte[] model, int width, int treeLimit) {
        JsonNode learner = JSON.readTree(model).required("learner");
        String objective = learner.required("objective").required("name").asString();
        JsonNode parameters = learner.required("learner_model_param");
        int classes = Integer.parseInt(parameters.required("num_class").asString());
        Head head = switch (objective) {
            case "reg:squarederror", "reg:absoluteerror", "reg:pseudohubererror" -> Head.REGRESSION;
            case "binary:logistic" -> Head.BINARY;
            case "multi:softprob", "multi:softmax" -> Head.MULTICLASS;
            default -> throw new IllegalArgumentException("objective " + objective + " is not supported");
        };
        int targets = head == Head.MULTICLASS ? classes : 1;
        float[] baseMargins = baseMargins(parameters.required("base_score").asString(), targets, head);

        JsonNode booster = learner.required("gradient_booster");
        if (!booster.required("name").asString().equals("gbtree")) {
            throw new IllegalArgumentException("booster " + booster.required("name").asString() + " is not supported");
        }
        JsonNode trees = booster.required("model").required("trees");
        JsonNode treeInfo = booster.required("model").required("tree_info");
        Ensemble ensemble = new Ensemble();
        int count = Math.min(treeLimit, trees.size());
        for (int tree = 0; tree < count; tree++) {
            ensemble.add(tree, trees.get(tree), treeInfo.get(tree).asInt(), width);
        }

        OnnxGraphWriter graph = new OnnxGraphWriter("xgboost");
        graph.input(TabularEncoding.INPUT, FLOAT, BATCH, width);
        switch (head) {
            case REGRESSION -> {
                regressor(graph, ensemble, baseMargins, 1, TabularEncoding.PREDICTION);
                TabularOnnxOutputs.regression(graph);
            }
            case BINARY -> {
                regressor(graph, ensemble, baseMargins, 1, "margin");
                TabularOnnxOutputs.binary(graph, "margin");
            }
            case MULTICLASS -> {
                long[] labels = new long[classes];
                Arrays.setAll(labels, i -> i);
                nodes(graph.node("TreeEnsembleClassifier", ML_DOMAIN, List.of(TabularEncoding.INPUT),
                        List.of(TabularEncoding.LABEL, TabularEncoding.PROBABILITIES)), ensemble)
                        .ints("class_treeids", ensemble.leafTrees.toArray())
                        .ints("class_nodeids", ensemble.leafNodes.toArray())
                        .ints("class_ids", ensemble.leafTargets.toArray())
                        .floats("class_weights", ensemble.leafWeights.toArray())
                        .ints("classlabels_int64s", labels)
                        .floats("base_values", baseMargins)
                        .string("post_transform", "SOFTMAX")
                        .done();
                graph.output(TabularEncoding.LABEL, OnnxGraphWriter.INT64, BATCH);
                graph.output(TabularEncoding.PROBABILITIES, FLOAT, BATCH, classes);
            }
        }
        return graph.toModel("atrium-xgboost");
    }

    /** The number of trees in each boosting round: one, or one a class. */
    static int treesPerRound(byte[] model) {
        JsonNode parameters = JSON.readTree(model).required("learner").required("learner_model_param");
        return Math.max(1, Integer.parseInt(parameters.required("num_class").asString()));
    }

    private static void regressor(OnnxGraphWriter graph, Ensemble ensemble, float[] baseMargins, int targets,
            String output) {
        nodes(graph.node("TreeEnsembleRegressor", ML_DOMAIN, List.of(TabularEncoding.INPUT), List.of(output)), ensemble)
                .ints("target_treeids", ensemble.leafTrees.toArray())
                .ints("target_nodeids", ensemble.leafNodes.toArray())
                .ints("target_ids", ensemble.leafTargets.toArray())
                .floats("target_weights", ensemble.leafWeights.toArray())
                .integer("n_targets", targets)
                .floats("base_values", baseMargins)
                .string("aggregate_function", "SUM")
                .string("post_transform", "NONE")
                .done();
    }

    private static OnnxGraphWriter.Node nodes(OnnxGraphWriter.Node node, Ensemble ensemble) {
        return node.ints("nodes_treeids", ensemble.treeIds.toArray())
                .ints("nodes_nodeids", ensemble.nodeIds.toArray())
                .ints("nodes_featureids", ensemble.featureIds.toArray())
                .floats("nodes_values", ensemble.values.toArray())
                .strings("nodes_modes", ensemble.modes)
                .ints("nodes_truenodeids", ensemble.trueIds.toArray())
                .ints("nodes_falsenodeids", ensemble.falseIds.toArray())
                .ints("nodes_missing_value_tracks_true", ensemble.missingTrue.toArray());
    }

    /** {@code "[5E-1]"} or {@code "[a,b,c]"} (one a class, or one for all), as margins. */
    private static float[] baseMargins(String text, int targets, Head head) {
        String[] parts = text.replace("[", "").replace("]", "").split(",");
        float[] margins = new float[targets];
        for (int i = 0; i < targets; i++) {
            double value = Double.parseDouble(parts[parts.length == 1 ? 0 : i].strip());
            margins[i] = (float) (head == Head.BINARY ? Math.log(value / (1 - value)) : value);
        }
        return margins;
    }

    /** The node and leaf tuples of all trees, as the tree ensemble operators take them. */
    private static final class Ensemble {
        final Longs treeIds = new Longs();
        final Longs nodeIds = new Longs();
        final Longs featureIds = new Longs();
        final Floats values = new Floats();
        final List<String> modes = new ArrayList<>();
        final Longs trueIds = new Longs();
        final Longs falseIds = new Longs();
        final Longs missingTrue = new Longs();
        final Longs leafTrees = new Longs();
        final Longs leafNodes = new Longs();
        final Longs leafTargets = new Longs();
        final Floats leafWeights = new Floats();

        void add(int tree, JsonNode json, int target, int width) {
            int[] left = ints(json.required("left_children"));
            int[] right = ints(json.required("right_children"));
            int[] features = ints(json.required("split_indices"));
            JsonNode conditions = json.required("split_conditions");
            int[] defaultLeft = ints(json.required("default_left"));
            JsonNode splitTypes = json.get("split_type");
            // breadth-first from the root: new ids 0, 1, 2, ... in the order nodes are reached
            int[] newId = new int[left.length];
            Arrays.fill(newId, -1);
            Deque<Integer> queue = new ArrayDeque<>();
            queue.add(0);
            newId[0] = 0;
            int next = 1;
            List<Integer> order = new ArrayList<>();
            while (!queue.isEmpty()) {
                int node = queue.poll();
                order.add(node);
                if (left[node] >= 0) {
                    newId[left[node]] = next++;
                    newId[right[node]] = next++;
                    queue.add(left[node]);
                    queue.add(right[node]);
                }
            }
            for (int node : order) {
                treeIds.add(tree);
                nodeIds.add(newId[node]);
                float value = (float) conditions.get(node).asDouble();
                if (left[node] < 0) {
                    featureIds.add(0);
                    values.add(0);
                    modes.add("LEAF");
                    trueIds.add(0);
                    falseIds.add(0);
                    missingTrue.add(0);
                    leafTrees.add(tree);
                    leafNodes.add(newId[node]);
                    leafTargets.add(target);
                    leafWeights.add(value);
                } else {
                    if (splitTypes != null && splitTypes.size() > node && splitTypes.get(node).asInt() != 0) {
                        throw new IllegalArgumentException("tree " + tree + " has a categorical split");
                    }
                    if (features[node] >= width) {
                        throw new IllegalArgumentException("tree " + tree + " splits on feature " + features[node]
                                + " of " + width);
                    }
                    featureIds.add(features[node]);
                    values.add(value);
                    modes.add("BRANCH_LT");
                    trueIds.add(newId[left[node]]);
                    falseIds.add(newId[right[node]]);
                    missingTrue.add(defaultLeft[node]);
                }
            }
        }

        private static int[] ints(JsonNode array) {
            int[] values = new int[array.size()];
            for (int i = 0; i < values.length; i++) {
                values[i] = array.get(i).asInt();
            }
            return values;
        }
    }

    /** A growable long array. */
    private static final class Longs {
        private long[] values = new long[256];
        private int size;

        void add(long value) {
            if (size == values.length) {
                values = Arrays.copyOf(values, size * 2);
            }
            values[size++] = value;
        }

        long[] toArray() {
            return Arrays.copyOf(values, size);
        }
    }

    /** A growable float array. */
    private static final class Floats {
        private float[] values = new float[256];
        private int size;

        void add(float value) {
            if (size == values.length) {
                values = Arrays.copyOf(values, size * 2);
            }
            values[size++] = value;
        }

        float[] toArray() {
            return Arrays.copyOf(values, size);
        }
    }
}
