package dev.atrium.training;

import static java.util.Objects.requireNonNull;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.OptionalDouble;

/**
 * How well a classifier's probabilities fit the true classes of an evaluation set; usable by every trainer.
 *
 * @param examples how many were evaluated
 * @param accuracy the share whose most probable class (the lowest index on a tie) is the true one
 * @param macroF1 the mean F1 over the classes that occur as a true or a predicted class (a class never predicted
 *     correctly scores 0), as scikit-learn's {@code f1_score(average="macro")}
 * @param macroRocAuc the mean one-vs-rest ROC-AUC over the classes that have both positive and negative examples
 *     (ties counted half), empty when none has
 * @param logLoss the mean of {@code -ln p(true class)}, each probability held to at least 1e-15
 * @param confusionMatrix counts by true class (row) and predicted class (column)
 */
public record ClassificationMetrics(int examples, double accuracy, double macroF1, OptionalDouble macroRocAuc,
        double logLoss, List<List<Long>> confusionMatrix) {
    private static final double MIN_PROBABILITY = 1e-15;

    public ClassificationMetrics {
        requireNonNull(macroRocAuc, "macroRocAuc is null");
        confusionMatrix = confusionMatrix.stream().map(List::copyOf).toList();
        if (examples < 1) {
            throw new IllegalArgumentException("metrics need an example");
        }
    }

    /**
     * The metrics of one evaluation.
     *
     * @param actual each example's true class, from 0
     * @param probabilities each example's probabilities, one per class, all rows of the same width (at least 2)
     */
    public static ClassificationMetrics of(int[] actual, double[][] probabilities) {
        requireNonNull(actual, "actual is null");
        requireNonNull(probabilities, "probabilities is null");
        int n = actual.length;
        if (n == 0 || probabilities.length != n) {
            throw new IllegalArgumentException(n + " classes and " + probabilities.length + " rows of probabilities;"
                    + " metrics need the same number, at least 1");
        }
        int classes = probabilities[0].length;
        if (classes < 2) {
            throw new IllegalArgumentException("a classifier has at least 2 classes, not " + classes);
        }
        long[][] confusion = new long[classes][classes];
        int[] predicted = new int[n];
        double logLoss = 0;
        for (int i = 0; i < n; i++) {
            double[] row = probabilities[i];
            if (row.length != classes) {
                throw new IllegalArgumentException("row " + i + " has " + row.length + " probabilities, not " + classes);
            }
            if (actual[i] < 0 || actual[i] >= classes) {
                throw new IllegalArgumentException("class " + actual[i] + " of example " + i + " is not one of "
                        + classes);
            }
            int best = 0;
            for (int c = 0; c < classes; c++) {
                if (!(row[c] >= 0 && row[c] <= 1)) {
                    throw new IllegalArgumentException("row " + i + " holds " + row[c] + ", not a probability");
                }
                if (row[c] > row[best]) {
                    best = c;
                }
            }
            predicted[i] = best;
            confusion[actual[i]][best]++;
            logLoss -= Math.log(Math.max(row[actual[i]], MIN_PROBABILITY));
        }

        long correct = 0;
        double f1Sum = 0;
        int f1Classes = 0;
        for (int c = 0; c < classes; c++) {
            long truePositives = confusion[c][c];
            correct += truePositives;
            long actualCount = Arrays.stream(confusion[c]).sum();
            long predictedCount = 0;
            for (int a = 0; a < classes; a++) {
                predictedCount += confusion[a][c];
            }
            if (actualCount == 0 && predictedCount == 0) {
                continue;
            }
            f1Classes++;
            // F1 = 2TP / (2TP + FP + FN), the harmonic mean of precision and recall
            f1Sum += truePositives == 0 ? 0 : 2.0 * truePositives / (actualCount + predictedCount);
        }

        double aucSum = 0;
        int aucClasses = 0;
        double[] scores = new double[n];
        for (int c = 0; c < classes; c++) {
            for (int i = 0; i < n; i++) {
                scores[i] = probabilities[i][c];
            }
            OptionalDouble auc = rocAuc(scores, actual, c);
            if (auc.isPresent()) {
                aucSum += auc.getAsDouble();
                aucClasses++;
            }
        }

        List<List<Long>> matrix = new ArrayList<>(classes);
        for (long[] row : confusion) {
            matrix.add(Arrays.stream(row).boxed().toList());
        }
        return new ClassificationMetrics(n, (double) correct / n, f1Sum / f1Classes,
                aucClasses == 0 ? OptionalDouble.empty() : OptionalDouble.of(aucSum / aucClasses), logLoss / n,
                matrix);
    }

    /**
     * The ROC-AUC of the scores for "class is {@code positive}": the Mann-Whitney U statistic over the ranks, ties
     * given their mean rank, divided by positives × negatives.
     */
    private static OptionalDouble rocAuc(double[] scores, int[] actual, int positive) {
        int n = scores.length;
        Integer[] order = new Integer[n];
        for (int i = 0; i < n; i++) {
            order[i] = i;
        }
        Arrays.sort(order, (a, b) -> Double.compare(scores[a], scores[b]));
        double positiveRankSum = 0;
        long positives = 0;
        for (int start = 0; start < n; ) {
            int end = start;
            while (end + 1 < n && scores[order[end + 1]] == scores[order[start]]) {
                end++;
            }
            double meanRank = (start + end) / 2.0 + 1; // ranks from 1
            for (int k = start; k <= end; k++) {
                if (actual[order[k]] == positive) {
                    positiveRankSum += meanRank;
                    positives++;
                }
            }
            start = end + 1;
        }
        long negatives = n - positives;
        if (positives == 0 || negatives == 0) {
            return OptionalDouble.empty();
        }
        return OptionalDouble.of((positiveRankSum - positives * (positives + 1) / 2.0) / ((double) positives * negatives));
    }
}
