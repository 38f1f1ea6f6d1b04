package dev.atrium.training;

import static java.util.Objects.requireNonNull;

/**
 * How well a regressor's predictions fit the true values of an evaluation set; usable by every trainer.
 *
 * @param examples how many were evaluated
 * @param rmse the root of the mean squared error
 * @param mae the mean absolute error
 * @param r2 the coefficient of determination, {@code 1 - SS_residual / SS_total}; when the true values are all
 *     equal it is 1 for perfect predictions and 0 otherwise (scikit-learn's convention)
 */
public record RegressionMetrics(int examples, double rmse, double mae, double r2) {
    public RegressionMetrics {
        if (examples < 1) {
            throw new IllegalArgumentException("metrics need an example");
        }
    }

    /** The metrics of one evaluation; both arrays of the same, non-zero length and finite. */
    public static RegressionMetrics of(double[] actual, double[] predicted) {
        requireNonNull(actual, "actual is null");
        requireNonNull(predicted, "predicted is null");
        int n = actual.length;
        if (n == 0 || predicted.length != n) {
            throw new IllegalArgumentException(n + " values and " + predicted.length + " predictions; metrics need"
                    + " the same number, at least 1");
        }
        double mean = 0;
        for (int i = 0; i < n; i++) {
            if (!Double.isFinite(actual[i]) || !Double.isFinite(predicted[i])) {
                throw new IllegalArgumentException("example " + i + " is not finite: " + actual[i] + ", "
                        + predicted[i]);
            }
            mean += actual[i];
        }
        mean /= n;
        double squaredErrors = 0;
        double absoluteErrors = 0;
        double total = 0;
        for (int i = 0; i < n; i++) {
            double error = actual[i] - predicted[i];
            squaredErrors += error * error;
            absoluteErrors += Math.abs(error);
            total += (actual[i] - mean) * (actual[i] - mean);
        }
        double r2 = total == 0 ? (squaredErrors == 0 ? 1 : 0) : 1 - squaredErrors / total;
        return new RegressionMetrics(n, Math.sqrt(squaredErrors / n), absoluteErrors / n, r2);
    }
}
