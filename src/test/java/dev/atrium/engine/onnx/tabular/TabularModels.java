package dev.atrium.engine.onnx.tabular;

import static dev.atrium.engine.onnx.tabular.TabularModelWriter.ML;
import static dev.atrium.engine.onnx.tabular.TabularModelWriter.attribute;
import static dev.atrium.engine.onnx.tabular.TabularModelWriter.floats;
import static dev.atrium.engine.onnx.tabular.TabularModelWriter.ints;
import static dev.atrium.engine.onnx.tabular.TabularModelWriter.strings;

import dev.atrium.engine.onnx.tabular.TabularModelWriter.Attribute;
import dev.atrium.engine.onnx.tabular.TabularModelWriter.ElementType;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The models of the tabular tests, each with its weights or trees kept, so that a test computes what the model
 * must predict by its own arithmetic: linear regressions (MatMul + Add), a softmax classifier, and
 * {@code ai.onnx.ml} tree ensembles.
 */
final class TabularModels {
    private TabularModels() {}

    // ---- linear -------------------------------------------------------------------------------------------------

    /** y = x · weights + bias. */
    record Linear(double[] weights, double bias) {
        double predict(double[] x) {
            double sum = bias;
            for (int i = 0; i < x.length; i++) {
                sum += x[i] * weights[i];
            }
            return sum;
        }

        /** Input {@code x} [N, F] of the given type, output {@code variable} [N, 1]. */
        byte[] onnx(ElementType type) {
            return new TabularModelWriter()
                    .input("x", type, -1, weights.length)
                    .output("variable", type, -1, 1)
                    .initializer("w", type, new long[] {weights.length, 1}, weights)
                    .initializer("b", type, new long[] {1}, bias)
                    .node("MatMul", List.of("x", "w"), List.of("xw"))
                    .node("Add", List.of("xw", "b"), List.of("variable"))
                    .toBytes();
        }

        /**
         * One input per feature, as sklearn-onnx writes a pipeline: {@code age} FLOAT [N, 1], {@code color}
         * STRING [N, 1] one-hot encoded in the graph, {@code size} INT64 [N, 1], {@code member} BOOL [N, 1],
         * {@code floor} FLOAT [N, 3]; concatenated in that order into the linear model.
         */
        byte[] onnxPerFeature(List<String> colors) {
            return new TabularModelWriter()
                    .input("age", ElementType.FLOAT, -1, 1)
                    .input("color", ElementType.STRING, -1, 1)
                    .input("size", ElementType.INT64, -1, 1)
                    .input("member", ElementType.BOOL, -1, 1)
                    .input("floor", ElementType.FLOAT, -1, 3)
                    .output("variable", ElementType.FLOAT, -1, 1)
                    .initializer("w", ElementType.FLOAT, new long[] {weights.length, 1}, weights)
                    .initializer("b", ElementType.FLOAT, new long[] {1}, bias)
                    .node(ML, "OneHotEncoder", List.of("color"), List.of("color_hot"),
                            strings("cats_strings", colors.toArray(String[]::new)), attribute("zeros", 0L))
                    .node("Flatten", List.of("color_hot"), List.of("color_flat"), attribute("axis", 1L))
                    .node("Cast", List.of("size"), List.of("size_float"), attribute("to", 1L))
                    .node("Cast", List.of("member"), List.of("member_float"), attribute("to", 1L))
                    .node("Concat", List.of("age", "color_flat", "size_float", "member_float", "floor"), List.of("x"),
                            attribute("axis", 1L))
                    .node("MatMul", List.of("x", "w"), List.of("xw"))
                    .node("Add", List.of("xw", "b"), List.of("variable"))
                    .toBytes();
        }
    }

    /** probabilities = softmax(x · weights + bias), label = argmax (an index). */
    record Softmax(double[][] weights, double[] bias) {
        int classes() {
            return bias.length;
        }

        double[] probabilities(double[] x) {
            double[] logits = bias.clone();
            for (int c = 0; c < classes(); c++) {
                for (int i = 0; i < x.length; i++) {
                    logits[c] += x[i] * weights[i][c];
                }
            }
            return softmax(logits);
        }

        /** Input {@code x} FLOAT [N, F]; outputs {@code probabilities} [N, C] and, if asked, {@code label} INT64 [N]. */
        byte[] onnx(boolean withLabel) {
            double[] flat = Arrays.stream(weights).flatMapToDouble(Arrays::stream).toArray();
            TabularModelWriter writer = new TabularModelWriter()
                    .input("x", ElementType.FLOAT, -1, weights.length)
                    .output("probabilities", ElementType.FLOAT, -1, classes())
                    .initializer("w", ElementType.FLOAT, new long[] {weights.length, classes()}, flat)
                    .initializer("b", ElementType.FLOAT, new long[] {classes()}, bias)
                    .node("MatMul", List.of("x", "w"), List.of("xw"))
                    .node("Add", List.of("xw", "b"), List.of("logits"))
                    .node("Softmax", List.of("logits"), List.of("probabilities"), attribute("axis", 1L));
            if (withLabel) {
                writer.output("label", ElementType.INT64, -1)
                        .node("ArgMax", List.of("probabilities"), List.of("label"), attribute("axis", 1L),
                                attribute("keepdims", 0L));
            }
            return writer.toBytes();
        }
    }

    // ---- trees --------------------------------------------------------------------------------------------------

    /** A tree node: a branch {@code x[feature] <= threshold ? yes : no}, or a leaf with one weight per target or class. */
    record Node(int feature, double threshold, int yes, int no, double[] weights) {
        static Node branch(int feature, double threshold, int yes, int no) {
            return new Node(feature, threshold, yes, no, null);
        }

        static Node leaf(double... weights) {
            return new Node(-1, 0, -1, -1, weights);
        }

        boolean isLeaf() {
            return weights != null;
        }
    }

    /** Trees whose node ids are their indices, root first; leaves sum over the trees. */
    record Trees(List<List<Node>> trees, int width) {
        /** Per target (class): the sum of the leaf weights the row reaches, comparing as float, as ONNX Runtime does. */
        double[] scores(double[] x) {
            double[] scores = new double[width];
            for (List<Node> tree : trees) {
                Node node = tree.getFirst();
                while (!node.isLeaf()) {
                    node = tree.get((float) x[node.feature()] <= (float) node.threshold() ? node.yes() : node.no());
                }
                for (int i = 0; i < width; i++) {
                    scores[i] += node.weights()[i];
                }
            }
            return scores;
        }

        /** {@code TreeEnsembleRegressor}: input {@code x} FLOAT [N, F], output {@code variable} FLOAT [N, 1]. */
        byte[] regressor(int features) {
            List<Attribute> attributes = new ArrayList<>(nodeAttributes());
            attributes.addAll(leafAttributes("target"));
            attributes.add(attribute("n_targets", (long) width));
            attributes.add(attribute("aggregate_function", "SUM"));
            attributes.add(attribute("post_transform", "NONE"));
            return new TabularModelWriter()
                    .input("x", ElementType.FLOAT, -1, features)
                    .output("variable", ElementType.FLOAT, -1, width)
                    .node(ML, "TreeEnsembleRegressor", List.of("x"), List.of("variable"),
                            attributes.toArray(Attribute[]::new))
                    .toBytes();
        }

        /**
         * {@code TreeEnsembleClassifier} with SOFTMAX post-transform: input {@code x} FLOAT [N, F], outputs {@code Y}
         * (the label: STRING [N] for string labels, INT64 [N] for integer ones) and {@code Z} FLOAT [N, C], or with
         * {@code zipMap} a ZipMap of Z as {@code output_probability}.
         */
        byte[] classifier(int features, List<String> labels, boolean integerLabels, boolean zipMap) {
            List<Attribute> attributes = new ArrayList<>(nodeAttributes());
            attributes.addAll(leafAttributes("class"));
            attributes.add(attribute("post_transform", "SOFTMAX"));
            attributes.add(integerLabels ? ints("classlabels_int64s", labels.stream().mapToLong(Long::parseLong).toArray())
                    : strings("classlabels_strings", labels.toArray(String[]::new)));
            ElementType labelType = integerLabels ? ElementType.INT64 : ElementType.STRING;
            TabularModelWriter writer = new TabularModelWriter()
                    .input("x", ElementType.FLOAT, -1, features)
                    .output("Y", labelType, -1)
                    .node(ML, "TreeEnsembleClassifier", List.of("x"), List.of("Y", "Z"),
                            attributes.toArray(Attribute[]::new));
            if (zipMap) {
                writer.sequenceOfMapsOutput("output_probability", labelType, ElementType.FLOAT)
                        .node(ML, "ZipMap", List.of("Z"), List.of("output_probability"),
                                integerLabels ? ints("classlabels_int64s", labels.stream().mapToLong(Long::parseLong)
                                        .toArray()) : strings("classlabels_strings", labels.toArray(String[]::new)));
            } else {
                writer.output("Z", ElementType.FLOAT, -1, width);
            }
            return writer.toBytes();
        }

        private List<Attribute> nodeAttributes() {
            List<Long> treeIds = new ArrayList<>();
            List<Long> nodeIds = new ArrayList<>();
            List<Long> featureIds = new ArrayList<>();
            List<Double> values = new ArrayList<>();
            List<String> modes = new ArrayList<>();
            List<Long> yes = new ArrayList<>();
            List<Long> no = new ArrayList<>();
            for (int t = 0; t < trees.size(); t++) {
                List<Node> tree = trees.get(t);
                for (int n = 0; n < tree.size(); n++) {
                    Node node = tree.get(n);
                    treeIds.add((long) t);
                    nodeIds.add((long) n);
                    featureIds.add((long) Math.max(0, node.feature()));
                    values.add(node.threshold());
                    modes.add(node.isLeaf() ? "LEAF" : "BRANCH_LEQ");
                    yes.add((long) Math.max(0, node.yes()));
                    no.add((long) Math.max(0, node.no()));
                }
            }
            return List.of(ints("nodes_treeids", longs(treeIds)), ints("nodes_nodeids", longs(nodeIds)),
                    ints("nodes_featureids", longs(featureIds)),
                    floats("nodes_values", values.stream().mapToDouble(Double::doubleValue).toArray()),
                    strings("nodes_modes", modes.toArray(String[]::new)), ints("nodes_truenodeids", longs(yes)),
                    ints("nodes_falsenodeids", longs(no)));
        }

        /** {@code target_*} or {@code class_*}: one entry per leaf and target (class). */
        private List<Attribute> leafAttributes(String prefix) {
            List<Long> treeIds = new ArrayList<>();
            List<Long> nodeIds = new ArrayList<>();
            List<Long> ids = new ArrayList<>();
            List<Double> weights = new ArrayList<>();
            for (int t = 0; t < trees.size(); t++) {
                List<Node> tree = trees.get(t);
                for (int n = 0; n < tree.size(); n++) {
                    if (!tree.get(n).isLeaf()) {
                        continue;
                    }
                    for (int i = 0; i < width; i++) {
                        treeIds.add((long) t);
                        nodeIds.add((long) n);
                        ids.add((long) i);
                        weights.add(tree.get(n).weights()[i]);
                    }
                }
            }
            return List.of(ints(prefix + "_treeids", longs(treeIds)), ints(prefix + "_nodeids", longs(nodeIds)),
                    ints(prefix + "_ids", longs(ids)),
                    floats(prefix + "_weights", weights.stream().mapToDouble(Double::doubleValue).toArray()));
        }

        private static long[] longs(List<Long> values) {
            return values.stream().mapToLong(Long::longValue).toArray();
        }
    }

    static double[] softmax(double[] logits) {
        double max = Arrays.stream(logits).max().orElseThrow();
        double[] exp = Arrays.stream(logits).map(logit -> Math.exp(logit - max)).toArray();
        double sum = Arrays.stream(exp).sum();
        return Arrays.stream(exp).map(value -> value / sum).toArray();
    }

    static int argmax(double[] values) {
        int best = 0;
        for (int i = 1; i < values.length; i++) {
            if (values[i] > values[best]) {
                best = i;
            }
        }
        return best;
    }
}
