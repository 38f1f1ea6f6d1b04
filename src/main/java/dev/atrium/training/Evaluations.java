package dev.atrium.training;

import java.util.List;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.JsonNodeFactory;
import tools.jackson.databind.node.ObjectNode;

/**
 * A model's evaluation as a job and its version show it: classification {@code accuracy}, {@code macro_f1},
 * {@code roc_auc} (when defined), {@code log_loss} and the {@code confusion_matrix} with its labels; regression
 * {@code rmse}, {@code mae} and {@code r2}; each with the rows it was made on. Names and their direction are the
 * ones a search ranks trials by and {@code promote.if_better_on} compares versions on.
 */
public final class Evaluations {
    /** The metrics the larger value of is the better. */
    private static final List<String> HIGHER_IS_BETTER = List.of("accuracy", "macro_f1", "roc_auc", "r2");
    /** The metrics the smaller value of is the better. */
    private static final List<String> LOWER_IS_BETTER = List.of("log_loss", "rmse", "mae");

    private Evaluations() {}

    /** Whether a metric is one an evaluation has and a comparison may rank on. */
    public static boolean isRankable(String metric) {
        return HIGHER_IS_BETTER.contains(metric) || LOWER_IS_BETTER.contains(metric);
    }

    /** The rankable metrics, for messages. */
    public static List<String> rankable() {
        return java.util.stream.Stream.concat(HIGHER_IS_BETTER.stream(), LOWER_IS_BETTER.stream()).toList();
    }

    /** Whether {@code candidate} is strictly better than {@code incumbent} on the metric. */
    public static boolean better(String metric, double candidate, double incumbent) {
        return HIGHER_IS_BETTER.contains(metric) ? candidate > incumbent : candidate < incumbent;
    }

    /** How much worse {@code candidate} is than {@code incumbent} on the metric: negative when it is better. */
    public static double shortfall(String metric, double candidate, double incumbent) {
        return HIGHER_IS_BETTER.contains(metric) ? incumbent - candidate : candidate - incumbent;
    }

    /** A value to sort by, smallest best, for any rankable metric. */
    static double sortKey(String metric, double value) {
        return HIGHER_IS_BETTER.contains(metric) ? -value : value;
    }

    static ObjectNode classification(ClassificationMetrics metrics, List<String> labels) {
        ObjectNode node = JsonNodeFactory.instance.objectNode();
        node.put("accuracy", metrics.accuracy());
        node.put("macro_f1", metrics.macroF1());
        metrics.macroRocAuc().ifPresent(auc -> node.put("roc_auc", auc));
        node.put("log_loss", metrics.logLoss());
        node.put("validation_examples", metrics.examples());
        ObjectNode confusion = node.putObject("confusion_matrix");
        ArrayNode names = confusion.putArray("labels");
        labels.forEach(names::add);
        ArrayNode counts = confusion.putArray("counts");
        for (List<Long> row : metrics.confusionMatrix()) {
            ArrayNode line = counts.addArray();
            row.forEach(line::add);
        }
        return node;
    }

    /** A classification's evaluation from its probabilities (float rows, as a model gives them). */
    public static ObjectNode classification(int[] actual, float[][] probabilities, List<String> labels) {
        double[][] scores = new double[probabilities.length][];
        for (int i = 0; i < probabilities.length; i++) {
            scores[i] = new double[probabilities[i].length];
            for (int c = 0; c < probabilities[i].length; c++) {
                scores[i][c] = probabilities[i][c];
            }
        }
        return classification(ClassificationMetrics.of(actual, scores), labels);
    }

    public static ObjectNode regression(double[] actual, double[] predicted) {
        RegressionMetrics metrics = RegressionMetrics.of(actual, predicted);
        ObjectNode node = JsonNodeFactory.instance.objectNode();
        node.put("rmse", metrics.rmse());
        node.put("mae", metrics.mae());
        node.put("r2", metrics.r2());
        node.put("validation_examples", metrics.examples());
        return node;
    }
}
