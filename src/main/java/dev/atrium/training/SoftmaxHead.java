package dev.atrium.training;

import static java.util.Objects.requireNonNull;

import java.util.List;

/**
 * A trained classifier head: {@code probabilities = softmax(embedding · W + b)} over embeddings of one dimension,
 * with FP32 weights, exactly what its ONNX form ({@link #toOnnx}) computes. Immutable and thread-safe.
 */
final class SoftmaxHead {
    private final List<String> labels;
    private final int dimension;
    private final float[] weights;
    private final float[] bias;

    /**
     * @param weights {@code dimension × labels} values, row by row (the weight of dimension {@code d} for class
     *     {@code c} at {@code d * labels + c})
     * @param bias one value per label
     */
    SoftmaxHead(List<String> labels, int dimension, float[] weights, float[] bias) {
        this.labels = List.copyOf(labels);
        this.dimension = dimension;
        this.weights = weights.clone();
        this.bias = bias.clone();
        if (this.labels.size() < 2) {
            throw new IllegalArgumentException("a head has at least 2 labels");
        }
        for (String label : this.labels) {
            if (label.isBlank() || label.indexOf(',') >= 0 || !label.strip().equals(label)) {
                // the ONNX model lists them comma-separated, and readers strip them
                throw new IllegalArgumentException("a label is stripped, not blank and has no comma: '" + label + "'");
            }
        }
        if (dimension < 1 || (long) dimension * this.labels.size() != weights.length
                || bias.length != this.labels.size()) {
            throw new IllegalArgumentException(weights.length + " weights and " + bias.length + " biases for dimension "
                    + dimension + " and " + this.labels.size() + " labels");
        }
    }

    List<String> labels() {
        return labels;
    }

    int dimension() {
        return dimension;
    }

    float[] weights() {
        return weights.clone();
    }

    float[] bias() {
        return bias.clone();
    }

    /** One row of probabilities per embedding, in the order of {@link #labels()}. */
    float[][] probabilities(float[][] embeddings) {
        requireNonNull(embeddings, "embeddings is null");
        int classes = labels.size();
        float[][] rows = new float[embeddings.length][];
        double[] logits = new double[classes];
        for (int i = 0; i < embeddings.length; i++) {
            float[] x = embeddings[i];
            if (x.length != dimension) {
                throw new IllegalArgumentException("embedding " + i + " has dimension " + x.length + ", not "
                        + dimension);
            }
            for (int c = 0; c < classes; c++) {
                logits[c] = bias[c];
            }
            for (int d = 0; d < dimension; d++) {
                double value = x[d];
                int offset = d * classes;
                for (int c = 0; c < classes; c++) {
                    logits[c] += value * weights[offset + c];
                }
            }
            rows[i] = softmax(logits);
        }
        return rows;
    }

    private static float[] softmax(double[] logits) {
        double max = Double.NEGATIVE_INFINITY;
        for (double logit : logits) {
            max = Math.max(max, logit);
        }
        double sum = 0;
        double[] exponentials = new double[logits.length];
        for (int c = 0; c < logits.length; c++) {
            exponentials[c] = StrictMath.exp(logits[c] - max);
            sum += exponentials[c];
        }
        float[] row = new float[logits.length];
        for (int c = 0; c < logits.length; c++) {
            row[c] = (float) (exponentials[c] / sum);
        }
        return row;
    }

    /**
     * This head as an ONNX model: input {@code embedding} FP32 {@code [batch, dimension]}, output
     * {@code probabilities} FP32 {@code [batch, labels]}, the labels comma-separated in its {@code labels} metadata.
     */
    byte[] toOnnx() {
        return OnnxHeadWriter.write(this);
    }
}
