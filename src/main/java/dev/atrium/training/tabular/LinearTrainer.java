package dev.atrium.training.tabular;

import static dev.atrium.training.tabular.OnnxGraphWriter.BATCH;
import static dev.atrium.training.tabular.OnnxGraphWriter.FLOAT;
import static java.util.Objects.requireNonNull;

import dev.atrium.AtriumException;
import dev.atrium.engine.onnx.tabular.FeatureSchema.Task;
import java.util.List;

/**
 * Trains a linear model on a {@link TabularSplit} and exports it to ONNX like the boosted trees, so that AutoML
 * can compare the two families: ridge regression for a regression, L2-regularized logistic regression (softmax
 * over the classes for more than two) for a classification.
 *
 * <p>Features are standardized on the training rows (mean 0, variance 1; a constant column is left as is), which
 * the exported weights fold back in, so the ONNX model takes the raw encoded input. Ridge solves its normal
 * equations by Cholesky; logistic regression runs Nesterov-accelerated gradient descent with the step 1 / L of the
 * loss's Lipschitz bound (largest eigenvalue of the standardized Gram matrix, by power iteration) until the
 * gradient is below the tolerance. Work is O(width²) memory beside the rows and O(rows × width × classes) a step; the width is
 * bounded by {@link #MAX_WIDTH}. Stateless and thread-safe.
 */
public final class LinearTrainer {
    /** Encoded columns at most: the normal equations hold width² doubles. */
    static final int MAX_WIDTH = 4096;

    /**
     * @param l2 the L2 penalty on standardized weights (not on the intercept), per row: λ of ‖w‖² λ / 2
     * @param maxIterations gradient steps at most (logistic regression)
     * @param tolerance stop once no gradient component exceeds this
     */
    public record LinearParameters(double l2, int maxIterations, double tolerance) {
        public LinearParameters {
            if (!(l2 >= 0 && Double.isFinite(l2)) || maxIterations < 1 || !(tolerance > 0)) {
                throw new IllegalArgumentException("l2 " + l2 + ", maxIterations " + maxIterations + " and tolerance "
                        + tolerance + " must be >= 0, >= 1 and > 0");
            }
        }

        public static LinearParameters defaults() {
            return new LinearParameters(1e-3, 2000, 1e-6);
        }
    }

    public TrainedTabularModel train(TabularSplit data, LinearParameters parameters) {
        requireNonNull(data, "data is null");
        requireNonNull(parameters, "parameters is null");
        TabularEncoding encoding = data.encoding();
        int width = encoding.width();
        if (width > MAX_WIDTH) {
            throw AtriumException.invalidParam("model", "a linear model takes at most " + MAX_WIDTH + " encoded"
                    + " columns; these features encode to " + width + " (one a category)");
        }
        Standardized train = Standardized.of(data.train());
        int classes = encoding.labels().size();
        // one weight row per output: one for a regression or two classes, one per class for more
        int outputs = encoding.task() == Task.REGRESSION || classes == 2 ? 1 : classes;
        double[][] weights = encoding.task() == Task.REGRESSION ? ridge(train, parameters.l2())
                : logistic(train, outputs, parameters);

        // fold the standardization in: w' = w / σ, b' = b - Σ μ w / σ
        float[] matrix = new float[width * outputs];
        float[] bias = new float[outputs];
        double[][] raw = new double[outputs][width + 1];
        for (int k = 0; k < outputs; k++) {
            double intercept = weights[k][width];
            for (int j = 0; j < width; j++) {
                double w = weights[k][j] / train.scale[j];
                raw[k][j] = w;
                intercept -= train.mean[j] * w;
                matrix[j * outputs + k] = (float) w;
            }
            raw[k][width] = intercept;
            bias[k] = (float) intercept;
        }
        OnnxGraphWriter graph = new OnnxGraphWriter("linear");
        graph.input(TabularEncoding.INPUT, FLOAT, BATCH, width);
        graph.initializer("weights", matrix, width, outputs);
        graph.initializer("bias", bias, outputs);
        graph.node("MatMul", "", List.of(TabularEncoding.INPUT, "weights"), List.of("product")).done();
        String metric;
        if (encoding.task() == Task.REGRESSION) {
            graph.node("Add", "", List.of("product", "bias"), List.of(TabularEncoding.PREDICTION)).done();
            TabularOnnxOutputs.regression(graph);
            metric = "rmse";
        } else {
            graph.node("Add", "", List.of("product", "bias"), List.of("margin")).done();
            if (outputs == 1) {
                TabularOnnxOutputs.binary(graph, "margin");
                metric = "logloss";
            } else {
                TabularOnnxOutputs.multiclass(graph, "margin", classes);
                metric = "mlogloss";
            }
        }
        double validationMetric = metric(data.validation(), raw, encoding.task(), outputs);
        return new TrainedTabularModel(ModelFamily.LINEAR, graph.toModel("atrium-linear"), encoding.config(), metric,
                validationMetric);
    }

    /**
     * The training rows standardized, with a last column of ones for the intercept: computed a row at a time from
     * the float rows, never held as a second matrix.
     */
    private record Standardized(int rows, int width, EncodedRows source, float[] targets, double[] mean,
            double[] scale) {
        static Standardized of(EncodedRows rows) {
            int n = rows.rowCount();
            int width = rows.width();
            double[] mean = new double[width];
            double[] scale = new double[width];
            for (int i = 0; i < n; i++) {
                for (int j = 0; j < width; j++) {
                    mean[j] += rows.feature(i, j);
                }
            }
            for (int j = 0; j < width; j++) {
                mean[j] /= n;
            }
            for (int i = 0; i < n; i++) {
                for (int j = 0; j < width; j++) {
                    double d = rows.feature(i, j) - mean[j];
                    scale[j] += d * d;
                }
            }
            for (int j = 0; j < width; j++) {
                double deviation = Math.sqrt(scale[j] / n);
                scale[j] = deviation > 1e-12 ? deviation : 1;
            }
            return new Standardized(n, width, rows, rows.targets(), mean, scale);
        }

        /** Row i standardized, and 1, into {@code z} (width + 1 long). */
        void row(int i, double[] z) {
            for (int j = 0; j < width; j++) {
                z[j] = (source.feature(i, j) - mean[j]) / scale[j];
            }
            z[width] = 1;
        }
    }

    /** Ridge: (ZᵀZ + nλI) w = Zᵀy over the standardized columns and the unpenalized intercept column. */
    private static double[][] ridge(Standardized data, double l2) {
        int d = data.width + 1;
        double[] gram = new double[d * d];
        double[] right = new double[d];
        double[] z = new double[d];
        for (int i = 0; i < data.rows; i++) {
            data.row(i, z);
            for (int a = 0; a < d; a++) {
                double za = z[a];
                if (za == 0) {
                    continue;
                }
                right[a] += za * data.targets[i];
                for (int b = 0; b <= a; b++) {
                    gram[a * d + b] += za * z[b];
                }
            }
        }
        for (int a = 0; a < d; a++) {
            for (int b = 0; b < a; b++) {
                gram[b * d + a] = gram[a * d + b];
            }
        }
        // a tiny ridge on the intercept too keeps a column of constants solvable; λ ≥ 1e-9 keeps it positive definite
        for (int a = 0; a < d; a++) {
            gram[a * d + a] += data.rows * (a < data.width ? Math.max(l2, 1e-9) : 1e-12);
        }
        return new double[][] {choleskySolve(gram, right, d)};
    }

    private static double[] choleskySolve(double[] matrix, double[] right, int d) {
        double[] lower = new double[d * d];
        for (int i = 0; i < d; i++) {
            for (int j = 0; j <= i; j++) {
                double sum = matrix[i * d + j];
                for (int k = 0; k < j; k++) {
                    sum -= lower[i * d + k] * lower[j * d + k];
                }
                if (i == j) {
                    if (sum <= 0) {
                        throw new IllegalStateException("the normal equations are not positive definite");
                    }
                    lower[i * d + i] = Math.sqrt(sum);
                } else {
                    lower[i * d + j] = sum / lower[j * d + j];
                }
            }
        }
        double[] y = new double[d];
        for (int i = 0; i < d; i++) {
            double sum = right[i];
            for (int k = 0; k < i; k++) {
                sum -= lower[i * d + k] * y[k];
            }
            y[i] = sum / lower[i * d + i];
        }
        double[] x = new double[d];
        for (int i = d - 1; i >= 0; i--) {
            double sum = y[i];
            for (int k = i + 1; k < d; k++) {
                sum -= lower[k * d + i] * x[k];
            }
            x[i] = sum / lower[i * d + i];
        }
        return x;
    }

    /** Logistic (one output) or softmax (one per class) regression by accelerated gradient descent. */
    private static double[][] logistic(Standardized data, int outputs, LinearParameters parameters) {
        int d = data.width + 1;
        // Hessian ≤ c ZᵀZ / n with c = 1/4 (sigmoid) or 1/2 (softmax), so L = c λmax + l2
        double lipschitz = (outputs == 1 ? 0.25 : 0.5) * largestEigenvalue(data) + parameters.l2();
        double step = 1 / lipschitz;
        double[][] weights = new double[outputs][d];
        double[][] previous = new double[outputs][d];
        double[][] point = new double[outputs][d];
        double[][] gradient = new double[outputs][d];
        double momentum = 1;
        for (int iteration = 0; iteration < parameters.maxIterations(); iteration++) {
            gradient(data, point, outputs, parameters.l2(), gradient);
            double largest = 0;
            for (int k = 0; k < outputs; k++) {
                for (int j = 0; j < d; j++) {
                    largest = Math.max(largest, Math.abs(gradient[k][j]));
                }
            }
            if (largest < parameters.tolerance()) {
                return point;
            }
            double nextMomentum = (1 + Math.sqrt(1 + 4 * momentum * momentum)) / 2;
            double factor = (momentum - 1) / nextMomentum;
            for (int k = 0; k < outputs; k++) {
                for (int j = 0; j < d; j++) {
                    previous[k][j] = weights[k][j];
                    weights[k][j] = point[k][j] - step * gradient[k][j];
                    point[k][j] = weights[k][j] + factor * (weights[k][j] - previous[k][j]);
                }
            }
            momentum = nextMomentum;
        }
        return weights;
    }

    /** The gradient of the mean log loss plus λ‖w‖²/2 (the intercept unpenalized) at {@code weights}. */
    private static void gradient(Standardized data, double[][] weights, int outputs, double l2, double[][] into) {
        int d = data.width + 1;
        for (double[] row : into) {
            java.util.Arrays.fill(row, 0);
        }
        double[] margins = new double[outputs];
        double[] z = new double[d];
        for (int i = 0; i < data.rows; i++) {
            data.row(i, z);
            for (int k = 0; k < outputs; k++) {
                double margin = 0;
                for (int j = 0; j < d; j++) {
                    margin += weights[k][j] * z[j];
                }
                margins[k] = margin;
            }
            int label = (int) data.targets[i];
            if (outputs == 1) {
                double residual = sigmoid(margins[0]) - label;
                for (int j = 0; j < d; j++) {
                    into[0][j] += residual * z[j];
                }
            } else {
                double[] probabilities = softmax(margins);
                for (int k = 0; k < outputs; k++) {
                    double residual = probabilities[k] - (k == label ? 1 : 0);
                    for (int j = 0; j < d; j++) {
                        into[k][j] += residual * z[j];
                    }
                }
            }
        }
        for (int k = 0; k < outputs; k++) {
            for (int j = 0; j < d; j++) {
                into[k][j] = into[k][j] / data.rows + (j < data.width ? l2 * weights[k][j] : 0);
            }
        }
    }

    /** λmax of ZᵀZ / n by power iteration (an over-estimate by 5% for safety). */
    private static double largestEigenvalue(Standardized data) {
        int d = data.width + 1;
        double[] vector = new double[d];
        java.util.Arrays.fill(vector, 1 / Math.sqrt(d));
        double eigenvalue = 1;
        for (int iteration = 0; iteration < 50; iteration++) {
            double[] next = new double[d];
            double[] z = new double[d];
            for (int i = 0; i < data.rows; i++) {
                data.row(i, z);
                double dot = 0;
                for (int j = 0; j < d; j++) {
                    dot += z[j] * vector[j];
                }
                for (int j = 0; j < d; j++) {
                    next[j] += dot * z[j];
                }
            }
            double norm = 0;
            for (double value : next) {
                norm += value * value;
            }
            norm = Math.sqrt(norm);
            eigenvalue = norm / data.rows;
            for (int j = 0; j < d; j++) {
                vector[j] = next[j] / norm;
            }
        }
        return eigenvalue * 1.05;
    }

    /** The validation metric of the raw (unstandardized) weights: RMSE or mean log loss. */
    private static double metric(EncodedRows rows, double[][] raw, Task task, int outputs) {
        int width = rows.width();
        double total = 0;
        double[] margins = new double[outputs];
        for (int i = 0; i < rows.rowCount(); i++) {
            for (int k = 0; k < outputs; k++) {
                double margin = raw[k][width];
                for (int j = 0; j < width; j++) {
                    margin += raw[k][j] * rows.feature(i, j);
                }
                margins[k] = margin;
            }
            int label = (int) rows.target(i);
            if (task == Task.REGRESSION) {
                total += Math.pow(margins[0] - rows.target(i), 2);
            } else if (outputs == 1) {
                double p = sigmoid(margins[0]);
                total -= Math.log(Math.max(1e-15, label == 1 ? p : 1 - p));
            } else {
                total -= Math.log(Math.max(1e-15, softmax(margins)[label]));
            }
        }
        double mean = total / rows.rowCount();
        return task == Task.REGRESSION ? Math.sqrt(mean) : mean;
    }

    private static double sigmoid(double x) {
        return 1 / (1 + Math.exp(-x));
    }

    private static double[] softmax(double[] margins) {
        double max = Double.NEGATIVE_INFINITY;
        for (double margin : margins) {
            max = Math.max(max, margin);
        }
        double sum = 0;
        double[] probabilities = new double[margins.length];
        for (int k = 0; k < margins.length; k++) {
            probabilities[k] = Math.exp(margins[k] - max);
            sum += probabilities[k];
        }
        for (int k = 0; k < margins.length; k++) {
            probabilities[k] /= sum;
        }
        return probabilities;
    }
}
