package dev.atrium.engine.onnx.tabular;

import static java.util.Objects.requireNonNull;

import dev.atrium.engine.onnx.tabular.FeatureSchema.Task;
import java.util.List;

/**
 * What a tabular model predicted for a batch of rows, in row order: one number per row for a regression; a label
 * and, where the model has a probabilities output, one probability per class label for a classification.
 * Immutable.
 */
public final class TabularPredictions {
    private final Task task;
    private final int rowCount;
    private final double[] values;
    private final List<String> labels;
    private final List<String> classLabels;
    private final double[] probabilities;

    private TabularPredictions(Task task, int rowCount, double[] values, List<String> labels, List<String> classLabels,
            double[] probabilities) {
        this.task = task;
        this.rowCount = rowCount;
        this.values = values;
        this.labels = labels;
        this.classLabels = classLabels;
        this.probabilities = probabilities;
    }

    static TabularPredictions regression(double[] values) {
        return new TabularPredictions(Task.REGRESSION, values.length, values, List.of(), List.of(), null);
    }

    /** @param probabilities row-major, rows × class labels; null where the model gives none */
    static TabularPredictions classification(List<String> labels, List<String> classLabels, double[] probabilities) {
        requireNonNull(labels, "labels is null");
        requireNonNull(classLabels, "classLabels is null");
        if (probabilities != null && probabilities.length != (long) labels.size() * classLabels.size()) {
            throw new IllegalArgumentException("probabilities do not fill " + labels.size() + " rows");
        }
        return new TabularPredictions(Task.CLASSIFICATION, labels.size(), null, List.copyOf(labels),
                List.copyOf(classLabels), probabilities);
    }

    /** The predictions of rows {@code [from, from + count)}: one request's share of a batch. */
    public TabularPredictions slice(int from, int count) {
        if (from < 0 || count < 0 || from + count > rowCount) {
            throw new IndexOutOfBoundsException(count + " rows from " + from + " of " + rowCount);
        }
        if (task == Task.REGRESSION) {
            return regression(java.util.Arrays.copyOfRange(values, from, from + count));
        }
        int classes = classLabels.size();
        return classification(labels.subList(from, from + count), classLabels, probabilities == null ? null
                : java.util.Arrays.copyOfRange(probabilities, from * classes, (from + count) * classes));
    }

    public Task task() {
        return task;
    }

    public int rowCount() {
        return rowCount;
    }

    /** A regression's prediction for a row. */
    public double value(int row) {
        if (task != Task.REGRESSION) {
            throw new IllegalStateException("a classification predicts labels, not values");
        }
        return values[row];
    }

    /** A classification's predicted label for a row. */
    public String label(int row) {
        if (task != Task.CLASSIFICATION) {
            throw new IllegalStateException("a regression predicts values, not labels");
        }
        return labels.get(row);
    }

    /** The class labels the probabilities are of, in order; empty for a regression. */
    public List<String> classLabels() {
        return classLabels;
    }

    public boolean hasProbabilities() {
        return probabilities != null;
    }

    /** The probability (or score, as the model gives it) of class label {@code label} for a row. */
    public double probability(int row, int label) {
        if (probabilities == null) {
            throw new IllegalStateException("the model gives no probabilities");
        }
        if (label < 0 || label >= classLabels.size()) {
            throw new IndexOutOfBoundsException("label " + label + " of " + classLabels.size());
        }
        return probabilities[row * classLabels.size() + label];
    }
}
