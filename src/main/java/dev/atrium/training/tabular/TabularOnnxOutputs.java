package dev.atrium.training.tabular;

import static dev.atrium.training.tabular.OnnxGraphWriter.BATCH;
import static dev.atrium.training.tabular.OnnxGraphWriter.FLOAT;
import static dev.atrium.training.tabular.OnnxGraphWriter.INT64;

import java.util.List;

/**
 * The output nodes every model of this package ends with, so that the ONNX engine reads them the same way: a
 * regression's {@code variable} FLOAT [N, 1]; a classification's {@code label} INT64 [N] (the class index) and
 * {@code probabilities} FLOAT [N, C], from margins by a sigmoid (binary) or a softmax.
 */
final class TabularOnnxOutputs {
    private TabularOnnxOutputs() {}

    /** Declares {@code margin} [N, 1] as the regression output (it must already be named {@link TabularEncoding#PREDICTION}). */
    static void regression(OnnxGraphWriter graph) {
        graph.output(TabularEncoding.PREDICTION, FLOAT, BATCH, 1);
    }

    /** From one margin a row [N, 1]: probabilities [1 - σ(m), σ(m)] and the label of the larger. */
    static void binary(OnnxGraphWriter graph, String margin) {
        graph.node("Sigmoid", "", List.of(margin), List.of("positive")).done();
        graph.initializer("one", new float[] {1f}, 1);
        graph.node("Sub", "", List.of("one", "positive"), List.of("negative")).done();
        graph.node("Concat", "", List.of("negative", "positive"), List.of(TabularEncoding.PROBABILITIES))
                .integer("axis", 1).done();
        label(graph);
        graph.output(TabularEncoding.PROBABILITIES, FLOAT, BATCH, 2);
    }

    /** From one margin a class [N, C]: their softmax, and the label of the largest. */
    static void multiclass(OnnxGraphWriter graph, String margins, int classes) {
        graph.node("Softmax", "", List.of(margins), List.of(TabularEncoding.PROBABILITIES)).integer("axis", 1).done();
        label(graph);
        graph.output(TabularEncoding.PROBABILITIES, FLOAT, BATCH, classes);
    }

    private static void label(OnnxGraphWriter graph) {
        // the first of equal probabilities wins, as a threshold of p > 0.5 decides the binary case
        graph.node("ArgMax", "", List.of(TabularEncoding.PROBABILITIES), List.of(TabularEncoding.LABEL))
                .integer("axis", 1).integer("keepdims", 0).done();
        graph.output(TabularEncoding.LABEL, INT64, BATCH);
    }
}
