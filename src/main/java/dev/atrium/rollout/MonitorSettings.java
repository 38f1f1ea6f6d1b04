package dev.atrium.rollout;

import dev.atrium.AtriumException;
import java.util.List;
import tools.jackson.databind.JsonNode;

/**
 * How one version is watched for drift. The sizes decide how much of a PSI is chance: two samples of one
 * distribution differ by about (bins − 1) · (1 / baseline + 1 / window), so the defaults keep ten deciles' chance
 * PSI near 0.03, far below the usual 0.2 alarm, and small sizes suit classifiers of few classes only.
 *
 * @param threshold the PSI above which the version drifts
 * @param baselineSize how many outputs a baseline taken from requests counts
 * @param windowSize how many of the latest outputs the recent distribution counts
 */
record MonitorSettings(double threshold, int baselineSize, int windowSize) {
    static final MonitorSettings DEFAULTS = new MonitorSettings(0.2, 1_000, 500);
    static final double MAX_THRESHOLD = 10;
    static final int MIN_SIZE = 20;
    /** A baseline taken from an embedding model's outputs keeps its vectors until complete: this bounds them. */
    static final int MAX_BASELINE = 5_000;
    static final int MAX_WINDOW = 10_000;
    private static final List<String> FIELDS = List.of("threshold", "baseline_size", "window_size",
            "reset_baseline");

    MonitorSettings {
        if (!(threshold > 0 && threshold <= MAX_THRESHOLD)) {
            throw new IllegalArgumentException("threshold must be above 0 and at most " + MAX_THRESHOLD);
        }
        if (baselineSize < MIN_SIZE || baselineSize > MAX_BASELINE) {
            throw new IllegalArgumentException("baseline_size must be " + MIN_SIZE + " to " + MAX_BASELINE);
        }
        if (windowSize < MIN_SIZE || windowSize > MAX_WINDOW) {
            throw new IllegalArgumentException("window_size must be " + MIN_SIZE + " to " + MAX_WINDOW);
        }
    }

    /**
     * These settings with a PUT body's fields applied (each optional); every refusal names its field.
     *
     * @throws AtriumException 400 for an unknown field or a value out of range
     */
    MonitorSettings with(JsonNode body) {
        dev.atrium.server.Json.rejectUnknownFields(body, FIELDS, "a version's monitoring");
        JsonNode reset = body.get("reset_baseline");
        if (reset != null && !reset.isBoolean()) {
            throw AtriumException.invalidParam("reset_baseline", "'reset_baseline' must be true or false");
        }
        double newThreshold = threshold;
        JsonNode threshold = body.get("threshold");
        if (threshold != null) {
            if (!threshold.isNumber() || !(threshold.doubleValue() > 0 && threshold.doubleValue() <= MAX_THRESHOLD)) {
                throw AtriumException.invalidParam("threshold", "'threshold' must be a number above 0 and at most "
                        + (int) MAX_THRESHOLD + " (a PSI; 0.2 is the usual alarm)");
            }
            newThreshold = threshold.doubleValue();
        }
        return new MonitorSettings(newThreshold, size(body, "baseline_size", baselineSize, MAX_BASELINE),
                size(body, "window_size", windowSize, MAX_WINDOW));
    }

    private static int size(JsonNode body, String field, int current, int max) {
        JsonNode node = body.get(field);
        if (node == null) {
            return current;
        }
        if (!node.isIntegralNumber() || !node.canConvertToInt() || node.intValue() < MIN_SIZE
                || node.intValue() > max) {
            throw AtriumException.invalidParam(field, "'" + field + "' must be an integer from " + MIN_SIZE + " to "
                    + max);
        }
        return node.intValue();
    }
}
