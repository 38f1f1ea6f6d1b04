package dev.atrium.training;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.util.List;
import org.junit.jupiter.api.Test;

/** Every expected value below is worked out by hand in the comments, not taken from the code. */
class EvaluationMetricsTest {
    private static final double EPS = 1e-12;

    @Test
    void classification_threeClasses_matchesHandValues() {
        int[] actual = {0, 0, 1, 1, 2, 2};
        double[][] probabilities = {
            {0.7, 0.2, 0.1}, // predicted 0, right
            {0.3, 0.4, 0.3}, // predicted 1, wrong
            {0.2, 0.6, 0.2}, // predicted 1, right
            {0.5, 0.3, 0.2}, // predicted 0, wrong
            {0.1, 0.2, 0.7}, // predicted 2, right
            {0.2, 0.2, 0.6}, // predicted 2, right
        };

        ClassificationMetrics metrics = ClassificationMetrics.of(actual, probabilities);

        assertThat(metrics.examples()).isEqualTo(6);
        assertThat(metrics.accuracy()).isCloseTo(4.0 / 6, within(EPS));
        assertThat(metrics.confusionMatrix()).isEqualTo(List.of(List.of(1L, 1L, 0L), List.of(1L, 1L, 0L),
                List.of(0L, 0L, 2L)));
        // F1 = 2TP / (actual + predicted): class 0: 2/4, class 1: 2/4, class 2: 4/4
        assertThat(metrics.macroF1()).isCloseTo((0.5 + 0.5 + 1.0) / 3, within(EPS));
        // AUC = share of (positive, negative) pairs ranked right:
        // class 0: positives 0.7, 0.3 against 0.2, 0.5, 0.1, 0.2: 4 + 3 of 8
        // class 1: positives 0.6, 0.3 against 0.2, 0.4, 0.2, 0.2: 4 + 3 of 8
        // class 2: positives 0.7, 0.6 against 0.1, 0.3, 0.2, 0.2: 8 of 8
        assertThat(metrics.macroRocAuc()).hasValueCloseTo((7.0 / 8 + 7.0 / 8 + 1.0) / 3, within(EPS));
        double logLoss = -(Math.log(0.7) + Math.log(0.3) + Math.log(0.6) + Math.log(0.3) + Math.log(0.7)
                + Math.log(0.6)) / 6;
        assertThat(metrics.logLoss()).isCloseTo(logLoss, within(EPS));
    }

    @Test
    void classification_tiesInScoresAndArgmax_countHalfAndLowestIndex() {
        int[] actual = {1, 0, 1, 0};
        double[][] probabilities = {{0.5, 0.5}, {0.5, 0.5}, {0.2, 0.8}, {0.8, 0.2}};

        ClassificationMetrics metrics = ClassificationMetrics.of(actual, probabilities);

        // argmax ties go to class 0: predictions 0, 0, 1, 0
        assertThat(metrics.accuracy()).isCloseTo(0.75, within(EPS));
        assertThat(metrics.confusionMatrix()).isEqualTo(List.of(List.of(2L, 0L), List.of(1L, 1L)));
        // class 0: TP 2, actual 2, predicted 3 -> 4/5; class 1: TP 1, actual 2, predicted 1 -> 2/3
        assertThat(metrics.macroF1()).isCloseTo((0.8 + 2.0 / 3) / 2, within(EPS));
        // class 1: positives 0.5, 0.8 against 0.5, 0.2: 0.5 (tie) + 1 + 2 of 4; class 0 is symmetric
        assertThat(metrics.macroRocAuc()).hasValueCloseTo(3.5 / 4, within(EPS));
        assertThat(metrics.logLoss()).isCloseTo(-(Math.log(0.5) * 2 + Math.log(0.8) * 2) / 4, within(EPS));
    }

    @Test
    void classification_classNeverSeen_leftOutOfMacroAverages() {
        int[] actual = {0, 1, 0, 1};
        double[][] probabilities = {{0.6, 0.3, 0.1}, {0.2, 0.7, 0.1}, {0.1, 0.8, 0.1}, {0.3, 0.6, 0.1}};

        ClassificationMetrics metrics = ClassificationMetrics.of(actual, probabilities);

        // predictions 0, 1, 1, 1: class 0: TP 1, actual 2, predicted 1 -> 2/3; class 1: TP 2, actual 2,
        // predicted 3 -> 4/5; class 2 never occurs and is not averaged
        assertThat(metrics.macroF1()).isCloseTo((2.0 / 3 + 0.8) / 2, within(EPS));
        // class 0: positives 0.6, 0.1 against 0.2, 0.3: 2 + 0 of 4; class 1: positives 0.7, 0.6 against
        // 0.3, 0.8: 1 + 1 of 4; class 2 has no positives
        assertThat(metrics.macroRocAuc()).hasValueCloseTo((0.5 + 0.5) / 2, within(EPS));
        assertThat(metrics.confusionMatrix().get(2)).containsExactly(0L, 0L, 0L);
    }

    @Test
    void classification_zeroProbabilityOfTrueClass_clippedLogLoss() {
        ClassificationMetrics metrics = ClassificationMetrics.of(new int[] {0, 1}, new double[][] {{0, 1}, {0, 1}});

        assertThat(metrics.logLoss()).isCloseTo(-Math.log(1e-15) / 2, within(1e-9));
    }

    @Test
    void classification_oneClassOnly_hasNoAuc() {
        ClassificationMetrics metrics = ClassificationMetrics.of(new int[] {0, 0},
                new double[][] {{0.9, 0.1}, {0.4, 0.6}});

        assertThat(metrics.macroRocAuc()).isEmpty();
        assertThat(metrics.accuracy()).isCloseTo(0.5, within(EPS));
    }

    @Test
    void classification_badInput_refused() {
        assertThatThrownBy(() -> ClassificationMetrics.of(new int[] {}, new double[][] {}))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> ClassificationMetrics.of(new int[] {2}, new double[][] {{0.5, 0.5}}))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> ClassificationMetrics.of(new int[] {0}, new double[][] {{Double.NaN, 0.5}}))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> ClassificationMetrics.of(new int[] {0, 1}, new double[][] {{0.5, 0.5}, {1}}))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void regression_matchesHandValues() {
        double[] actual = {3, -0.5, 2, 7};
        double[] predicted = {2.5, 0.0, 2, 8};

        RegressionMetrics metrics = RegressionMetrics.of(actual, predicted);

        // errors 0.5, -0.5, 0, -1: squared 0.25, 0.25, 0, 1
        assertThat(metrics.rmse()).isCloseTo(Math.sqrt(1.5 / 4), within(EPS));
        assertThat(metrics.mae()).isCloseTo(2.0 / 4, within(EPS));
        // mean 2.875; SS_total = 0.125² + 3.375² + 0.875² + 4.125² = 29.1875
        assertThat(metrics.r2()).isCloseTo(1 - 1.5 / 29.1875, within(EPS));
        assertThat(metrics.examples()).isEqualTo(4);
    }

    @Test
    void regression_constantTruth_r2IsOneWhenPerfectElseZero() {
        assertThat(RegressionMetrics.of(new double[] {2, 2, 2}, new double[] {2, 2, 2}).r2()).isEqualTo(1.0);
        RegressionMetrics off = RegressionMetrics.of(new double[] {2, 2, 2}, new double[] {1, 2, 3});
        assertThat(off.r2()).isEqualTo(0.0);
        assertThat(off.rmse()).isCloseTo(Math.sqrt(2.0 / 3), within(EPS));
    }

    @Test
    void regression_badInput_refused() {
        assertThatThrownBy(() -> RegressionMetrics.of(new double[] {1}, new double[] {}))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> RegressionMetrics.of(new double[] {1}, new double[] {Double.POSITIVE_INFINITY}))
                .isInstanceOf(IllegalArgumentException.class);
    }
}
