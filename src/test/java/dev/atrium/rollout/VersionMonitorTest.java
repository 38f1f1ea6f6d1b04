package dev.atrium.rollout;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import dev.atrium.engine.ClassificationResult;
import dev.atrium.engine.PredictionResult;
import dev.atrium.testing.SettableClock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ObjectNode;

class VersionMonitorTest {
    private static final List<String> LABELS = List.of("sports", "cooking", "computers");
    private static final MonitorSettings SMALL = new MonitorSettings(0.2, 60, 30);
    /** Ten deciles need samples this large for chance to stay far below the threshold. */
    private static final MonitorSettings LARGE = new MonitorSettings(0.2, 1_000, 500);

    private final SettableClock clock = new SettableClock(Instant.parse("2026-12-02T10:00:00Z"));

    private static ClassificationResult answered(String... labels) {
        List<List<ClassificationResult.LabelScore>> rows = new ArrayList<>();
        for (String label : labels) {
            rows.add(List.of(new ClassificationResult.LabelScore(label, 0.9)));
        }
        return new ClassificationResult(rows, 0);
    }

    /** Feeds the labels in turn, one per call; returns how many calls began a drift. */
    private static int feed(VersionMonitor monitor, int calls, String... cycle) {
        int drifts = 0;
        for (int i = 0; i < calls; i++) {
            drifts += monitor.classified(answered(cycle[i % cycle.length])).drifted() ? 1 : 0;
        }
        return drifts;
    }

    @Test
    void classes_usualOutputs_stayBelowTheThreshold() {
        VersionMonitor monitor = new VersionMonitor(VersionMonitor.Measure.CLASS, LABELS, SMALL, null, clock);
        assertThat(feed(monitor, 59, "sports", "cooking", "computers")).isZero();
        assertThat(monitor.drift().path("baseline").path("state").asString()).isEqualTo("collecting");

        VersionMonitor.Changes completing = monitor.classified(answered("computers"));
        assertThat(completing.completed()).isNotNull();
        assertThat(completing.completed().counts()).containsExactly(20L, 20L, 20L);
        assertThat(completing.completed().source()).isEqualTo(VersionMonitor.Source.REQUESTS);
        assertThat(Double.isNaN(monitor.psi())).as("no PSI until the window is full").isTrue();

        assertThat(feed(monitor, 300, "cooking", "sports", "computers", "sports", "cooking", "computers")).isZero();
        assertThat(monitor.psi()).isLessThan(0.01);
        ObjectNode drift = monitor.drift();
        assertThat(drift.path("drifting").asBoolean()).isFalse();
        assertThat(drift.path("recent").path("outputs").asInt()).isEqualTo(30);
        assertThat(drift.path("bins").get(1).path("label").asString()).isEqualTo("cooking");
        assertThat(drift.path("bins").get(1).path("baseline").asLong()).isEqualTo(20);
        assertThat(drift.path("bins").get(1).path("recent").asLong()).isEqualTo(10);
    }

    @Test
    void classes_shiftedOutputs_driftOnce_andAgainOnlyAfterComingBack() {
        VersionMonitor monitor = new VersionMonitor(VersionMonitor.Measure.CLASS, LABELS, SMALL, null, clock);
        feed(monitor, 90, "sports", "cooking", "computers");

        assertThat(feed(monitor, 100, "cooking")).as("one drift for a lasting shift").isEqualTo(1);
        assertThat(monitor.psi()).isGreaterThan(1);
        assertThat(monitor.drift().path("drifting").asBoolean()).isTrue();
        assertThat(monitor.drift().path("drift_events").asLong()).isEqualTo(1);

        assertThat(feed(monitor, 60, "sports", "cooking", "computers")).isZero();
        assertThat(monitor.drift().path("drifting").asBoolean()).as("back below: re-armed").isFalse();
        assertThat(feed(monitor, 100, "computers")).isEqualTo(1);
        assertThat(monitor.drift().path("drift_events").asLong()).isEqualTo(2);
    }

    @Test
    void classes_aResetBaseline_isTakenFromTheNextOutputs() {
        VersionMonitor monitor = new VersionMonitor(VersionMonitor.Measure.CLASS, LABELS, SMALL, null, clock);
        feed(monitor, 90, "sports", "cooking", "computers");
        feed(monitor, 30, "cooking");
        assertThat(monitor.drift().path("drifting").asBoolean()).isTrue();

        monitor.resetBaseline();
        assertThat(monitor.drift().path("baseline").path("state").asString()).isEqualTo("collecting");
        assertThat(feed(monitor, 200, "cooking")).as("the new usual").isZero();
        assertThat(monitor.psi()).isCloseTo(0, within(1e-9));
    }

    @Test
    void classes_ofAModelOfManyClasses_areBinnedByTheFrequentOnes_soChanceRaisesNothing() {
        List<String> many = java.util.stream.IntStream.range(0, 200).mapToObj(i -> "class-" + i).toList();
        VersionMonitor monitor = new VersionMonitor(VersionMonitor.Measure.CLASS, many, LARGE, null, clock);
        Random random = new Random(5);
        int drifts = 0;
        for (int i = 0; i < 10_000; i++) {
            // a skewed usual: class i with weight 1 / (i + 1)
            int label = (int) Math.min(many.size() - 1, Math.floor(Math.exp(random.nextDouble() * Math.log(201)) - 1));
            drifts += monitor.classified(answered(many.get(label))).drifted() ? 1 : 0;
        }
        JsonNode drift = monitor.drift();
        assertThat(drift.path("bins").size()).isEqualTo(VersionMonitor.MAX_CLASS_BINS);
        assertThat(drift.path("bins").get(VersionMonitor.MAX_CLASS_BINS - 1).path("label").asString())
                .isEqualTo(OutputDistribution.Classes.OTHER);
        assertThat(drifts).as("max PSI by chance over 9000 windows").isZero();

        for (int i = 0; i < 500; i++) {
            drifts += monitor.classified(answered(many.get(150 + i % 50))).drifted() ? 1 : 0;
        }
        assertThat(drifts).isEqualTo(1);
    }

    @Test
    void predictions_binnedByTheBaselinesDeciles_driftWhenTheyMove() {
        VersionMonitor monitor = new VersionMonitor(null, List.of(), LARGE, null, clock);
        Random random = new Random(7);
        int drifts = 0;
        for (int i = 0; i < 1_000; i++) {
            drifts += monitor.predicted(values(random, 100, 10, 5)).drifted() ? 1 : 0;
        }
        assertThat(drifts).isZero();
        assertThat(monitor.psi()).isLessThan(0.2);
        JsonNode usual = monitor.drift();
        assertThat(usual.path("measure").asString()).isEqualTo("prediction");
        assertThat(usual.path("bins").size()).isEqualTo(10);
        assertThat(usual.path("statistics").path("mean_prediction").path("baseline").asDouble())
                .isCloseTo(100, within(3.0));

        for (int i = 0; i < 200; i++) {
            drifts += monitor.predicted(values(random, 120, 10, 5)).drifted() ? 1 : 0;
        }
        assertThat(drifts).isEqualTo(1);
        assertThat(monitor.drift().path("statistics").path("mean_prediction").path("recent").asDouble())
                .isCloseTo(120, within(5.0));
    }

    @Test
    void predictions_ofAClassifier_areItsClasses() {
        VersionMonitor monitor = new VersionMonitor(null, List.of(), SMALL, null, clock);
        Map<String, Double> probabilities = new java.util.LinkedHashMap<>();
        probabilities.put("no", 0.3);
        probabilities.put("yes", 0.7);
        PredictionResult yes = new PredictionResult(List.of(new PredictionResult.Label("yes", probabilities, false)),
                0);
        monitor.predicted(yes);
        JsonNode drift = monitor.drift();
        assertThat(drift.path("measure").asString()).isEqualTo("class");
        assertThat(drift.path("baseline").path("outputs").asInt()).isEqualTo(1);
    }

    @Test
    void embeddings_binnedByTheirCosineToTheBaselinesCentroid_driftWhenTheirDirectionMoves() {
        VersionMonitor monitor = new VersionMonitor(VersionMonitor.Measure.COSINE_TO_CENTROID, List.of(), LARGE, null,
                clock);
        Random random = new Random(11);
        float[] usual = {1, 0, 0, 0};
        float[] other = {0, 1, 0, 0};
        int drifts = 0;
        for (int i = 0; i < 5_000; i++) {
            drifts += monitor.embedded(List.of(around(random, usual, 2))).drifted() ? 1 : 0;
        }
        assertThat(drifts).isZero();
        JsonNode drift = monitor.drift();
        assertThat(drift.path("measure").asString()).isEqualTo("cosine_to_centroid");
        assertThat(drift.path("statistics").path("mean_norm").path("baseline").asDouble()).isCloseTo(2, within(0.1));
        assertThat(drift.path("statistics").path("mean_cosine_to_centroid").path("baseline").asDouble())
                .isGreaterThan(0.8);

        for (int i = 0; i < 500; i++) {
            drifts += monitor.embedded(List.of(around(random, other, 2))).drifted() ? 1 : 0;
        }
        assertThat(drifts).isEqualTo(1);
        assertThat(monitor.drift().path("statistics").path("mean_cosine_to_centroid").path("recent").asDouble())
                .isLessThan(0.5);
    }

    @Test
    void validationBaseline_isTheConfusionMatrixsPredictedClasses() throws Exception {
        JsonNode lineage = JsonMapper.builder().build().readTree("""
                {"metrics": {"confusion_matrix": {"labels": ["sports", "cooking", "computers"],
                 "counts": [[4, 1, 0], [0, 5, 0], [1, 0, 3]]}}}""");
        VersionMonitor.Baseline baseline = VersionMonitors.validationBaseline(lineage, LABELS, clock.instant())
                .orElseThrow();
        assertThat(baseline.source()).isEqualTo(VersionMonitor.Source.VALIDATION);
        assertThat(baseline.counts()).containsExactly(5L, 6L, 3L);
        assertThat(VersionMonitors.validationBaseline(lineage, List.of("a", "b", "c"), clock.instant())).isEmpty();
        assertThat(VersionMonitors.validationBaseline(JsonMapper.builder().build().readTree("{}"), LABELS,
                clock.instant())).isEmpty();

        VersionMonitor monitor = new VersionMonitor(VersionMonitor.Measure.CLASS, LABELS, SMALL, baseline, clock);
        assertThat(monitor.drift().path("baseline").path("source").asString()).isEqualTo("validation");
        assertThat(feed(monitor, 30, "sports", "cooking", "computers")).isZero();
        assertThat(monitor.psi()).isLessThan(0.2);
    }

    @Test
    void baseline_asStored_roundTrips() {
        VersionMonitor monitor = new VersionMonitor(VersionMonitor.Measure.COSINE_TO_CENTROID, List.of(), SMALL, null,
                clock);
        Random random = new Random(3);
        VersionMonitor.Baseline completed = null;
        for (int i = 0; i < 60; i++) {
            VersionMonitor.Changes changes = monitor.embedded(List.of(around(random, new float[] {1, 1, 0}, 1)));
            completed = changes.completed() != null ? changes.completed() : completed;
        }
        VersionMonitor.Baseline stored = MonitorStore.fromJson(MonitorStore.toJson(completed));
        assertThat(stored.counts()).isEqualTo(completed.counts());
        assertThat(stored.means()).isEqualTo(completed.means());
        assertThat(stored.centroid()).containsExactly(completed.centroid());
        assertThat(((OutputDistribution.Deciles) stored.distribution()).cuts())
                .isEqualTo(((OutputDistribution.Deciles) completed.distribution()).cuts());
        assertThat(stored.completedAt()).isEqualTo(clock.instant());
    }

    private static PredictionResult values(Random random, double mean, double spread, int rows) {
        List<PredictionResult.Prediction> predictions = new ArrayList<>();
        for (int i = 0; i < rows; i++) {
            predictions.add(new PredictionResult.Value(mean + spread * random.nextGaussian()));
        }
        return new PredictionResult(predictions, 0);
    }

    /** A vector of the given length near a direction. */
    private static float[] around(Random random, float[] direction, double length) {
        float[] vector = new float[direction.length];
        double norm = 0;
        for (int d = 0; d < vector.length; d++) {
            vector[d] = (float) (direction[d] + 0.3 * random.nextGaussian());
            norm += vector[d] * vector[d];
        }
        for (int d = 0; d < vector.length; d++) {
            vector[d] = (float) (vector[d] * length / Math.sqrt(norm));
        }
        return vector;
    }
}
