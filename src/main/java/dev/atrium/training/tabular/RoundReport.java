package dev.atrium.training.tabular;

import static java.util.Objects.requireNonNull;

import java.time.Instant;

/**
 * One boosting round done: the metric on the training and validation rows after it.
 *
 * @param round rounds done so far, from 1
 * @param at when the round ended, by the trainer's clock
 */
public record RoundReport(int round, String metric, double trainMetric, double validationMetric, Instant at) {
    public RoundReport {
        requireNonNull(metric, "metric is null");
        requireNonNull(at, "at is null");
        if (round < 1) {
            throw new IllegalArgumentException("round must be at least 1: " + round);
        }
    }
}
