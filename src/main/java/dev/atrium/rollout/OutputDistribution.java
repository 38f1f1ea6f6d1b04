package dev.atrium.rollout;

import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;

/**
 * The bins a version's outputs are counted in for its drift: a classifier's by the class it answered, over the
 * model's labels; a number (a regression's prediction, an embedding's cosine to its baseline's centroid) by the
 * deciles of the baseline's values. The bins are fixed with the baseline, and its outputs and the recent ones are
 * counted in the same bins, so that the two histograms compare ({@link PopulationStability}).
 */
sealed interface OutputDistribution permits OutputDistribution.Classes, OutputDistribution.Deciles {
    /** How many bins there are. */
    int bins();

    /**
     * A classifier's bins: one per label, in the model's order; or, for a model of many classes, one per class
     * frequent in its baseline and one ({@link #OTHER}) for all the others, since a PSI over many sparse bins is
     * mostly chance.
     */
    final class Classes implements OutputDistribution {
        /** The name of the bin of the classes grouped together. */
        static final String OTHER = "(other)";

        private final List<String> labels;
        private final boolean other;
        private final Map<String, Integer> index = new HashMap<>();

        /** One bin per label. */
        Classes(List<String> labels) {
            this(labels, false);
        }

        /** @param other whether a last bin, {@link #OTHER}, holds every label not in {@code labels} */
        Classes(List<String> labels, boolean other) {
            this.labels = List.copyOf(labels);
            this.other = other;
            if (this.labels.isEmpty()) {
                throw new IllegalArgumentException("a classifier's distribution needs its labels");
            }
            for (int i = 0; i < this.labels.size(); i++) {
                index.putIfAbsent(this.labels.get(i), i);
            }
        }

        /**
         * The bins of a baseline counted over {@code classes}: the same, when they are at most {@code maxBins};
         * else its {@code maxBins - 1} most frequent classes (the model's first on a tie), in the model's order,
         * and {@link #OTHER}.
         */
        static Classes grouped(Classes classes, long[] counts, int maxBins) {
            if (classes.bins() <= maxBins) {
                return classes;
            }
            Integer[] order = new Integer[classes.labels.size()];
            for (int i = 0; i < order.length; i++) {
                order[i] = i;
            }
            Arrays.sort(order, (a, b) -> counts[a] != counts[b] ? Long.compare(counts[b], counts[a])
                    : Integer.compare(a, b));
            Integer[] kept = Arrays.copyOf(order, maxBins - 1);
            Arrays.sort(kept);
            return new Classes(Arrays.stream(kept).map(classes.labels::get).toList(), true);
        }

        /** Counts over {@code from}'s bins, counted again in these bins. */
        long[] regroup(Classes from, long[] counts) {
            long[] regrouped = new long[bins()];
            for (int i = 0; i < from.labels.size(); i++) {
                OptionalInt bin = bin(from.labels.get(i));
                if (bin.isPresent()) {
                    regrouped[bin.getAsInt()] += counts[i];
                }
            }
            return regrouped;
        }

        /** The bins' names: the labels, and {@link #OTHER} last when there is one. */
        List<String> labels() {
            if (!other) {
                return labels;
            }
            List<String> names = new java.util.ArrayList<>(labels);
            names.add(OTHER);
            return names;
        }

        /** The labels with a bin of their own. */
        List<String> kept() {
            return labels;
        }

        boolean hasOther() {
            return other;
        }

        /** The label's bin; empty for a label the model does not have (and no other bin takes). */
        OptionalInt bin(String label) {
            Integer bin = index.get(label);
            if (bin != null) {
                return OptionalInt.of(bin);
            }
            return other ? OptionalInt.of(labels.size()) : OptionalInt.empty();
        }

        @Override
        public int bins() {
            return labels.size() + (other ? 1 : 0);
        }
    }

    /**
     * A number's bins, cut at the deciles of the baseline's values: bin i holds the values from cut i − 1 (included)
     * up to cut i (excluded), the first everything below the first cut, the last everything from the last cut. Equal
     * deciles (a value that repeats) are one cut.
     */
    final class Deciles implements OutputDistribution {
        private final double[] cuts;

        private Deciles(double[] cuts) {
            this.cuts = cuts;
        }

        /** The deciles of the values. */
        static Deciles of(double[] values) {
            if (values.length == 0) {
                throw new IllegalArgumentException("deciles need values");
            }
            double[] sorted = values.clone();
            Arrays.sort(sorted);
            double[] cuts = new double[9];
            int distinct = 0;
            for (int i = 1; i <= 9; i++) {
                double cut = sorted[Math.min(sorted.length - 1, i * sorted.length / 10)];
                if (!Double.isFinite(cut)) {
                    throw new IllegalArgumentException("deciles of numbers, not " + cut);
                }
                if (distinct == 0 || cut > cuts[distinct - 1]) {
                    cuts[distinct++] = cut;
                }
            }
            return new Deciles(Arrays.copyOf(cuts, distinct));
        }

        /** Deciles as stored: the cuts, ascending. */
        static Deciles at(List<Double> cuts) {
            double[] values = cuts.stream().mapToDouble(Double::doubleValue).toArray();
            for (int i = 1; i < values.length; i++) {
                if (!(values[i] > values[i - 1])) {
                    throw new IllegalArgumentException("the cuts must ascend: " + cuts);
                }
            }
            return new Deciles(values);
        }

        List<Double> cuts() {
            return Arrays.stream(cuts).boxed().toList();
        }

        int bin(double value) {
            int found = Arrays.binarySearch(cuts, value);
            // an exact cut starts its bin; otherwise the insertion point is the number of cuts below the value
            return found >= 0 ? found + 1 : -found - 1;
        }

        @Override
        public int bins() {
            return cuts.length + 1;
        }
    }
}
