package dev.atrium.rollout;

/**
 * The population stability index of one histogram against another over the same bins: Σ (a − e) · ln(a / e), with
 * a and e each bin's share of the actual (recent) and the expected (baseline) outputs. 0 for the same shares; under
 * 0.1 is read as no shift, 0.1 to 0.2 as a small one, above 0.2 as a shift worth looking at. A bin empty on one side
 * would make the logarithm infinite, so shares are floored at {@link #EPSILON}: a class the baseline never saw
 * taking half the recent outputs counts about 4, not infinity.
 */
final class PopulationStability {
    /** The least share a bin counts with. */
    static final double EPSILON = 1e-4;

    private PopulationStability() {}

    /**
     * @param expected the baseline's count in each bin
     * @param actual the recent count in each bin, over the same bins
     * @throws IllegalArgumentException for histograms of different bins, or one with nothing in it
     */
    static double index(long[] expected, long[] actual) {
        if (expected.length != actual.length || expected.length == 0) {
            throw new IllegalArgumentException("the histograms must have the same bins: " + expected.length + " and "
                    + actual.length);
        }
        double expectedTotal = total(expected);
        double actualTotal = total(actual);
        double index = 0;
        for (int bin = 0; bin < expected.length; bin++) {
            double e = Math.max(expected[bin] / expectedTotal, EPSILON);
            double a = Math.max(actual[bin] / actualTotal, EPSILON);
            index += (a - e) * Math.log(a / e);
        }
        return index;
    }

    private static long total(long[] counts) {
        long total = 0;
        for (long count : counts) {
            if (count < 0) {
                throw new IllegalArgumentException("a count cannot be negative: " + count);
            }
            total += count;
        }
        if (total == 0) {
            throw new IllegalArgumentException("a histogram needs something in it");
        }
        return total;
    }
}
