package dev.atrium.rollout;

import static java.util.Objects.requireNonNull;

import dev.atrium.engine.ClassificationResult;
import dev.atrium.engine.PredictionResult;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalInt;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.ReentrantLock;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.JsonNodeFactory;
import tools.jackson.databind.node.ObjectNode;

/**
 * One version's outputs against its baseline: the baseline's histogram (its validation data's, or its first
 * {@code baseline_size} outputs'), the histogram of its latest {@code window_size} outputs in the same bins, the
 * PSI between the two once the window is full, and whether the version drifts.
 *
 * <p>Design: a version drifts when its PSI rises above the threshold, which is noted once ({@link Changes#drifted});
 * it stops drifting when the PSI falls below {@link #REARM} times the threshold, so a PSI that hovers at the
 * threshold is one event, not one per request. The recent window is a ring of the latest outputs' bins (and their
 * statistics), so observing allocates nothing; a baseline being taken from requests keeps its values (an
 * embedding's vectors) until it is complete, then only its histogram.
 *
 * <p>Thread-safe: every method takes the version's lock, each for one request's outputs.
 */
final class VersionMonitor {
    /** The share of the threshold the PSI must fall below before a drifting version may drift again. */
    static final double REARM = 0.75;
    /** A classifier of more classes is binned by its most frequent ones and the rest together. */
    static final int MAX_CLASS_BINS = 20;

    /** What of each output is binned. */
    enum Measure {
        /** The class a classifier answered. */
        CLASS("class"),
        /** A regression's prediction; its mean is kept beside. */
        PREDICTION("prediction"),
        /** An embedding's cosine to the baseline's centroid; its mean and the mean L2 norm are kept beside. */
        COSINE_TO_CENTROID("cosine_to_centroid");

        private final String wireName;

        Measure(String wireName) {
            this.wireName = wireName;
        }

        String wireName() {
            return wireName;
        }

        static Measure fromWireName(String name) {
            for (Measure measure : values()) {
                if (measure.wireName.equals(name)) {
                    return measure;
                }
            }
            throw new IllegalArgumentException("unknown measure: " + name);
        }

        /** How many statistics each output has beside its bin. */
        int statistics() {
            return switch (this) {
                case CLASS -> 0;
                case PREDICTION -> 1;
                case COSINE_TO_CENTROID -> 2;
            };
        }
    }

    /** Where a baseline came from. */
    enum Source {
        /** The evaluation of the training job that made the version, on its validation rows. */
        VALIDATION("validation"),
        /** The version's first outputs. */
        REQUESTS("requests");

        private final String wireName;

        Source(String wireName) {
            this.wireName = wireName;
        }

        String wireName() {
            return wireName;
        }

        static Source fromWireName(String name) {
            return name.equals("validation") ? VALIDATION : REQUESTS;
        }
    }

    /**
     * A complete baseline: its bins and its count in each, and its statistics' means.
     *
     * @param centroid the mean of its embeddings, normalized (for {@link Measure#COSINE_TO_CENTROID}); else null
     */
    record Baseline(Measure measure, Source source, OutputDistribution distribution, List<Long> counts,
            float[] centroid, List<Double> means, Instant completedAt) {
        Baseline {
            requireNonNull(measure, "measure is null");
            requireNonNull(source, "source is null");
            requireNonNull(distribution, "distribution is null");
            counts = List.copyOf(counts);
            means = List.copyOf(means);
            requireNonNull(completedAt, "completedAt is null");
            if (counts.size() != distribution.bins()) {
                throw new IllegalArgumentException("a baseline has a count per bin");
            }
            if (counts.stream().mapToLong(Long::longValue).sum() == 0) {
                throw new IllegalArgumentException("a baseline counts something");
            }
            if ((measure == Measure.COSINE_TO_CENTROID) != (centroid != null)) {
                throw new IllegalArgumentException("an embeddings' baseline has a centroid, and only it");
            }
        }

        long size() {
            return counts.stream().mapToLong(Long::longValue).sum();
        }
    }

    /** What a request's outputs changed: a baseline completed (to be stored), the version began to drift. */
    record Changes(Baseline completed, boolean drifted, double psi) {
        static final Changes NONE = new Changes(null, false, Double.NaN);
    }

    private static final double[] NO_STATISTICS = new double[0];

    private final ReentrantLock lock = new ReentrantLock();
    private final java.time.Clock clock;
    private final Instant since;
    private final LongAdder requests = new LongAdder();
    private final LongAdder outputs = new LongAdder();
    private final LongAdder inputTokens = new LongAdder();
    private final LongAdder images = new LongAdder();
    private final LongAdder rows = new LongAdder();
    /** The measure, once known: a tabular model's shows with its first prediction. */
    private Measure measure;
    /** A classifier's classes, one bin per label, as the model has them; null until known. */
    private OutputDistribution.Classes classes;
    /** A classifier's bins once its baseline is complete (its frequent classes, when it has many). */
    private OutputDistribution.Classes binned;
    private MonitorSettings settings;
    private Baseline baseline;
    private long[] baselineCounts;
    /** One output's statistics, reused. */
    private final double[] scratch = new double[2];
    // a baseline being taken from requests
    private long[] collectingCounts;
    private double[] collectingValues;
    private float[][] collectingVectors;
    private int collected;
    // the recent window
    private int[] recentBins;
    private double[][] recentStatistics;
    private long[] recentCounts;
    private double[] recentSums;
    private int recentSize;
    private int recentNext;
    private double psi = Double.NaN;
    private boolean drifting;
    private long driftEvents;

    /**
     * @param measure what is binned; null for a tabular model until its first prediction
     * @param labels a classifier's labels; null when not known yet
     * @param baseline the stored or validation baseline; null to take one from requests
     */
    VersionMonitor(Measure measure, List<String> labels, MonitorSettings settings, Baseline baseline,
            java.time.Clock clock) {
        this.measure = measure;
        this.settings = requireNonNull(settings, "settings is null");
        this.clock = requireNonNull(clock, "clock is null");
        this.since = clock.instant();
        if (labels != null && !labels.isEmpty()) {
            labels(labels);
        }
        if (baseline != null) {
            baseline(baseline);
        } else {
            clearRecent();
        }
    }

    private void labels(List<String> known) {
        classes = new OutputDistribution.Classes(known);
    }

    /** Takes a complete baseline, its bins for the recent window too. */
    private void baseline(Baseline complete) {
        baseline = complete;
        baselineCounts = complete.counts().stream().mapToLong(Long::longValue).toArray();
        measure = complete.measure();
        binned = complete.distribution() instanceof OutputDistribution.Classes baselineClasses ? baselineClasses
                : null;
        clearCollecting();
        clearRecent();
    }

    // ---- observing ----------------------------------------------------------------------------------------------

    /** Counts a call's units (inputs, tokens, images, rows), whatever its outputs. */
    void served(int outputCount, long tokens, long imageCount, long rowCount) {
        requests.increment();
        outputs.add(outputCount);
        inputTokens.add(tokens);
        images.add(imageCount);
        rows.add(rowCount);
    }

    Changes classified(ClassificationResult result) {
        lock.lock();
        try {
            if (measure != Measure.CLASS || (classes == null && binned == null)) {
                return Changes.NONE;
            }
            Baseline before = baseline;
            for (List<ClassificationResult.LabelScore> scores : result.labels()) {
                if (!scores.isEmpty()) {
                    addClass(scores.getFirst().label());
                }
            }
            return settle(before);
        } finally {
            lock.unlock();
        }
    }

    Changes predicted(PredictionResult result) {
        lock.lock();
        try {
            Baseline before = baseline;
            for (PredictionResult.Prediction prediction : result.predictions()) {
                switch (prediction) {
                    case PredictionResult.Value value -> {
                        if (measure == null) {
                            measure = Measure.PREDICTION;
                            clearRecent();
                        }
                        if (measure == Measure.PREDICTION && Double.isFinite(value.value())) {
                            addNumber(value.value(), null);
                        }
                    }
                    case PredictionResult.Label label -> {
                        if (classes == null) {
                            labels(List.copyOf(label.probabilities().keySet()));
                        }
                        if (measure == null) {
                            measure = Measure.CLASS;
                            clearRecent();
                        }
                        if (measure == Measure.CLASS) {
                            addClass(label.label());
                        }
                    }
                }
            }
            return settle(before);
        } finally {
            lock.unlock();
        }
    }

    Changes embedded(List<float[]> vectors) {
        lock.lock();
        try {
            if (measure != Measure.COSINE_TO_CENTROID) {
                return Changes.NONE;
            }
            Baseline before = baseline;
            for (float[] vector : vectors) {
                addNumber(Double.NaN, vector);
            }
            return settle(before);
        } finally {
            lock.unlock();
        }
    }

    private void addClass(String label) {
        if (baseline == null) {
            if (classes == null) {
                return; // a baseline reset on a model whose labels show with its answers: until they do
            }
            if (collectingCounts == null) {
                collectingCounts = new long[classes.bins()];
            }
            OptionalInt bin = classes.bin(label);
            if (bin.isPresent()) {
                collectingCounts[bin.getAsInt()]++;
                collected++;
            }
            if (collected >= settings.baselineSize()) {
                OutputDistribution.Classes bins = OutputDistribution.Classes.grouped(classes, collectingCounts,
                        MAX_CLASS_BINS);
                baseline(new Baseline(Measure.CLASS, Source.REQUESTS, bins, boxed(bins.regroup(classes,
                        collectingCounts)), null, List.of(), clock.instant()));
            }
            return;
        }
        OptionalInt bin = binned.bin(label);
        if (bin.isPresent()) {
            addRecent(bin.getAsInt(), NO_STATISTICS);
        }
    }

    /** A number or, for embeddings, a vector (the number then unused). */
    private void addNumber(double value, float[] vector) {
        if (baseline == null) {
            int size = settings.baselineSize();
            if (vector != null) {
                if (collectingVectors == null) {
                    collectingVectors = new float[size][];
                }
                if (collected > 0 && collectingVectors[0].length != vector.length) {
                    return; // a vector of another dimension than the first (a truncated one): not comparable
                }
                collectingVectors[collected++] = vector.clone();
            } else {
                if (collectingValues == null) {
                    collectingValues = new double[size];
                }
                collectingValues[collected++] = value;
            }
            if (collected >= size) {
                Instant now = clock.instant();
                baseline(vector != null ? embeddingsBaseline(collectingVectors, collected, now)
                        : predictionsBaseline(collectingValues, collected, now));
            }
            return;
        }
        OutputDistribution.Deciles deciles = (OutputDistribution.Deciles) baseline.distribution();
        if (vector != null) {
            if (vector.length != baseline.centroid().length) {
                return;
            }
            double norm = norm(vector);
            double cosine = cosine(vector, norm, baseline.centroid());
            scratch[0] = norm;
            scratch[1] = cosine;
            addRecent(deciles.bin(cosine), scratch);
        } else {
            scratch[0] = value;
            addRecent(deciles.bin(value), scratch);
        }
    }

    private static Baseline predictionsBaseline(double[] collected, int n, Instant now) {
        double[] values = java.util.Arrays.copyOf(collected, n);
        OutputDistribution.Deciles deciles = OutputDistribution.Deciles.of(values);
        long[] counts = new long[deciles.bins()];
        double sum = 0;
        for (double value : values) {
            counts[deciles.bin(value)]++;
            sum += value;
        }
        return new Baseline(Measure.PREDICTION, Source.REQUESTS, deciles, boxed(counts), null, List.of(sum / n), now);
    }

    private static Baseline embeddingsBaseline(float[][] vectors, int n, Instant now) {
        int dimension = vectors[0].length;
        double[] mean = new double[dimension];
        double normSum = 0;
        for (int i = 0; i < n; i++) {
            float[] vector = vectors[i];
            double norm = norm(vector);
            normSum += norm;
            for (int d = 0; d < dimension; d++) {
                mean[d] += norm == 0 ? 0 : vector[d] / norm;
            }
        }
        double meanNorm = 0;
        for (double component : mean) {
            meanNorm += component * component;
        }
        meanNorm = Math.sqrt(meanNorm);
        float[] centroid = new float[dimension];
        for (int d = 0; d < dimension; d++) {
            centroid[d] = meanNorm == 0 ? 0 : (float) (mean[d] / meanNorm);
        }
        double[] cosines = new double[n];
        double cosineSum = 0;
        for (int i = 0; i < n; i++) {
            cosines[i] = cosine(vectors[i], norm(vectors[i]), centroid);
            cosineSum += cosines[i];
        }
        OutputDistribution.Deciles deciles = OutputDistribution.Deciles.of(cosines);
        long[] counts = new long[deciles.bins()];
        for (double cosine : cosines) {
            counts[deciles.bin(cosine)]++;
        }
        return new Baseline(Measure.COSINE_TO_CENTROID, Source.REQUESTS, deciles, boxed(counts), centroid,
                List.of(normSum / n, cosineSum / n), now);
    }

    private void addRecent(int bin, double[] statistics) {
        int slot = recentNext;
        if (recentSize == recentBins.length) {
            recentCounts[recentBins[slot]]--;
            for (int s = 0; s < recentSums.length; s++) {
                recentSums[s] -= recentStatistics[s][slot];
            }
        } else {
            recentSize++;
        }
        recentBins[slot] = bin;
        recentCounts[bin]++;
        for (int s = 0; s < recentSums.length; s++) {
            recentStatistics[s][slot] = statistics[s];
            recentSums[s] += statistics[s];
        }
        recentNext = (slot + 1) % recentBins.length;
    }

    /** Recomputes the PSI once the window is full, and notes a version that begins or stops drifting. */
    private Changes settle(Baseline before) {
        Baseline completed = before == null ? baseline : null;
        if (baseline == null || recentSize < recentBins.length) {
            psi = Double.NaN;
            return completed == null ? Changes.NONE : new Changes(completed, false, psi);
        }
        psi = PopulationStability.index(baselineCounts, recentCounts);
        boolean drifted = false;
        if (!drifting && psi > settings.threshold()) {
            drifting = true;
            drifted = true;
            driftEvents++;
        } else if (drifting && psi < settings.threshold() * REARM) {
            drifting = false;
        }
        return new Changes(completed, drifted, psi);
    }

    // ---- settings -----------------------------------------------------------------------------------------------

    MonitorSettings settings() {
        lock.lock();
        try {
            return settings;
        } finally {
            lock.unlock();
        }
    }

    /** New settings: a new window size starts the recent window again; a new baseline size applies to one taken. */
    void settings(MonitorSettings updated) {
        lock.lock();
        try {
            boolean resize = updated.windowSize() != settings.windowSize();
            if (baseline == null && updated.baselineSize() != settings.baselineSize()) {
                clearCollecting(); // values collected for the old size are dropped, not stretched
            }
            settings = updated;
            if (resize) {
                clearRecent();
            }
        } finally {
            lock.unlock();
        }
    }

    /** Drops the baseline: the next {@code baseline_size} outputs are the new one. */
    void resetBaseline() {
        lock.lock();
        try {
            baseline = null;
            baselineCounts = null;
            clearCollecting();
            clearRecent();
        } finally {
            lock.unlock();
        }
    }

    /** The PSI now; NaN until the baseline is complete and the window full. */
    double psi() {
        lock.lock();
        try {
            return psi;
        } finally {
            lock.unlock();
        }
    }

    private void clearCollecting() {
        collectingCounts = null;
        collectingValues = null;
        collectingVectors = null;
        collected = 0;
    }

    private void clearRecent() {
        int bins = baseline != null ? baseline.distribution().bins() : classes != null ? classes.bins() : 10;
        int statistics = measure == null ? 0 : measure.statistics();
        recentBins = new int[settings.windowSize()];
        recentStatistics = new double[statistics][settings.windowSize()];
        recentCounts = new long[bins];
        recentSums = new double[statistics];
        recentSize = 0;
        recentNext = 0;
        psi = Double.NaN;
        drifting = false;
    }

    // ---- the view -----------------------------------------------------------------------------------------------

    /** The units this version served since {@code since}: its calls' inputs, tokens, images and rows. */
    ObjectNode units() {
        ObjectNode node = JsonNodeFactory.instance.objectNode();
        node.put("since", since.toString());
        node.put("requests", requests.sum());
        node.put("outputs", outputs.sum());
        node.put("input_tokens", inputTokens.sum());
        node.put("images", images.sum());
        node.put("rows", rows.sum());
        return node;
    }

    /** The drift as the API shows it: settings, baseline, both histograms, statistics, PSI. */
    ObjectNode drift() {
        lock.lock();
        try {
            ObjectNode node = JsonNodeFactory.instance.objectNode();
            node.put("measure", measure == null ? null : measure.wireName());
            node.put("threshold", settings.threshold());
            node.put("baseline_size", settings.baselineSize());
            node.put("window_size", settings.windowSize());
            ObjectNode base = node.putObject("baseline");
            if (baseline == null) {
                base.put("state", "collecting");
                base.put("source", Source.REQUESTS.wireName());
                base.put("outputs", collected);
            } else {
                base.put("state", "complete");
                base.put("source", baseline.source().wireName());
                base.put("outputs", baseline.size());
                base.put("completed_at", baseline.completedAt().toString());
            }
            ObjectNode recent = node.putObject("recent");
            recent.put("outputs", recentSize);
            if (Double.isNaN(psi)) {
                node.putNull("psi");
            } else {
                node.put("psi", psi);
            }
            if (baseline != null) {
                // what two samples of one distribution this size differ by, by chance alone
                node.put("chance_psi", (baseline.distribution().bins() - 1)
                        * (1.0 / baseline.size() + 1.0 / settings.windowSize()));
            }
            node.put("drifting", drifting);
            node.put("drift_events", driftEvents);
            if (baseline != null) {
                node.set("bins", bins());
                node.set("statistics", statistics());
            }
            return node;
        } finally {
            lock.unlock();
        }
    }

    private ArrayNode bins() {
        ArrayNode bins = JsonNodeFactory.instance.arrayNode();
        List<Long> counts = baseline.counts();
        long baselineTotal = baseline.size();
        for (int bin = 0; bin < counts.size(); bin++) {
            ObjectNode node = bins.addObject();
            switch (baseline.distribution()) {
                case OutputDistribution.Classes classes -> node.put("label", classes.labels().get(bin));
                case OutputDistribution.Deciles deciles -> {
                    List<Double> cuts = deciles.cuts();
                    if (bin > 0) {
                        node.put("from", cuts.get(bin - 1));
                    }
                    if (bin < cuts.size()) {
                        node.put("to", cuts.get(bin));
                    }
                }
            }
            node.put("baseline", counts.get(bin));
            node.put("baseline_share", (double) counts.get(bin) / baselineTotal);
            long recent = bin < recentCounts.length ? recentCounts[bin] : 0;
            node.put("recent", recent);
            node.put("recent_share", recentSize == 0 ? 0 : (double) recent / recentSize);
        }
        return bins;
    }

    private ObjectNode statistics() {
        ObjectNode node = JsonNodeFactory.instance.objectNode();
        List<String> names = switch (baseline.measure()) {
            case CLASS -> List.of();
            case PREDICTION -> List.of("mean_prediction");
            case COSINE_TO_CENTROID -> List.of("mean_norm", "mean_cosine_to_centroid");
        };
        for (int s = 0; s < names.size(); s++) {
            ObjectNode statistic = node.putObject(names.get(s));
            statistic.put("baseline", baseline.means().get(s));
            if (recentSize > 0 && s < recentSums.length) {
                statistic.put("recent", recentSums[s] / recentSize);
            }
        }
        return node;
    }

    // ---- numbers ------------------------------------------------------------------------------------------------

    static double norm(float[] vector) {
        double sum = 0;
        for (float component : vector) {
            sum += (double) component * component;
        }
        return Math.sqrt(sum);
    }

    /** The cosine of a vector (of the given norm) to a unit vector. */
    static double cosine(float[] vector, double norm, float[] unit) {
        if (norm == 0) {
            return 0;
        }
        double dot = 0;
        for (int d = 0; d < vector.length; d++) {
            dot += (double) vector[d] * unit[d];
        }
        return dot / norm;
    }

    private static List<Long> boxed(long[] counts) {
        List<Long> boxed = new ArrayList<>(counts.length);
        for (long count : counts) {
            boxed.add(count);
        }
        return boxed;
    }
}
