package dev.atrium.training;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.atrium.engine.ModelTask;
import java.io.InputStream;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CancellationException;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.JsonNodeFactory;
import tools.jackson.databind.node.ObjectNode;

/**
 * The search itself, over a space whose every trial's score is a known function of its hyperparameters: seeded
 * (the same search twice gives the same trials), the defaults first, ranked by the metric's direction, and a search
 * stopped after some trials (the server stopped under it) goes on from its saved state without training those again,
 * to the result of a search never stopped.
 */
class AutoMlTest {
    private static final JsonMapper JSON = JsonMapper.builder().build();

    /** A space of one family with two hyperparameters; a trial's {@code rmse} is its distance from (0.3, 7). */
    private static class Space implements SearchSpace {
        final List<JsonNode> trained = new ArrayList<>();

        @Override
        public List<String> families() {
            return List.of("toy");
        }

        @Override
        public List<Parameter> parameters(String family) {
            return List.of(new Parameter("rate", 0.01, 1, Scale.LOG), new Parameter("depth", 1, 12, Scale.INTEGER));
        }

        @Override
        public Optional<Budget> budget(String family) {
            return Optional.of(new Budget("n_rounds", 27));
        }

        @Override
        public String defaultMetric() {
            return "rmse";
        }

        @Override
        public Trainer.Trained train(String family, JsonNode hyperparameters, Trainer.Run run) {
            if (run.cancelled()) {
                throw new CancellationException();
            }
            trained.add(hyperparameters);
            double rate = hyperparameters.path("rate").asDouble(0.1);
            int depth = hyperparameters.path("depth").asInt(3);
            int rounds = hyperparameters.path("n_rounds").asInt(27);
            ObjectNode metrics = JsonNodeFactory.instance.objectNode();
            metrics.put("rmse", Math.abs(rate - 0.3) + Math.abs(depth - 7) / 10.0 + 1.0 / rounds);
            metrics.put("r2", 1 - metrics.path("rmse").asDouble());
            ObjectNode used = ((ObjectNode) hyperparameters).deepCopy();
            return new Trainer.Trained(ModelTask.TABULAR, new byte[] {1}, JsonNodeFactory.instance.objectNode(),
                    metrics, used);
        }
    }

    /** A job's run kept in memory: its events, its saved state, and a stop after so many trials' states. */
    private static final class Run implements Trainer.Run {
        final FineTuningJob job;
        final List<String> events = new ArrayList<>();
        byte[] state;
        int saves;
        int stopAfterSaves = Integer.MAX_VALUE;

        Run(ObjectNode hyperparameters, byte[] state) {
            this.job = new FineTuningJob("ftjob-1", "ten_1", "key_1", TrainingMethod.TABULAR_REGRESSION, "auto",
                    "toy", "file-1", null, hyperparameters, 17, JobStatus.RUNNING, null, null, null, Instant.EPOCH,
                    null, null, null, null);
            this.state = state;
        }

        @Override
        public FineTuningJob job() {
            return job;
        }

        @Override
        public Supplier<InputStream> trainingFile() {
            throw new UnsupportedOperationException();
        }

        @Override
        public String trainingFileName() {
            return "rows.csv";
        }

        @Override
        public Optional<String> validationFileName() {
            return Optional.empty();
        }

        @Override
        public Optional<Supplier<InputStream>> validationFile() {
            return Optional.empty();
        }

        @Override
        public void event(String message, JsonNode data) {
            events.add(message);
        }

        @Override
        public void checkpoint(long step, Map<String, Double> metrics) {}

        @Override
        public boolean cancelled() {
            return saves >= stopAfterSaves;
        }

        @Override
        public Optional<byte[]> savedState() {
            return Optional.ofNullable(state);
        }

        @Override
        public void saveState(byte[] bytes) {
            state = bytes.clone();
            saves++;
        }
    }

    private static ObjectNode hyperparameters(String search) {
        return (ObjectNode) JSON.readTree("{\"search\": " + search + "}");
    }

    @Test
    void aSearch_isSeeded_startsFromTheDefaults_andRanksByTheMetric() {
        ObjectNode settings = hyperparameters("{\"max_trials\": 8}");
        Space space = new Space();
        Trainer.Trained first = AutoMl.search(new Run(settings, null), space, SearchSettings.of(settings).orElseThrow());
        assertThat(space.trained).hasSize(8);
        assertThat(space.trained.getFirst().has("rate")).as("the first trial is the defaults").isFalse();
        Space again = new Space();
        Trainer.Trained second = AutoMl.search(new Run(settings, null), again, SearchSettings.of(settings)
                .orElseThrow());
        assertThat(again.trained).isEqualTo(space.trained);
        for (int i = 0; i < first.leaderboard().size(); i++) {
            assertThat(second.leaderboard().get(i).path("hyperparameters"))
                    .isEqualTo(first.leaderboard().get(i).path("hyperparameters"));
            assertThat(second.leaderboard().get(i).path("value")).isEqualTo(first.leaderboard().get(i).path("value"));
        }
        double previous = Double.NEGATIVE_INFINITY;
        for (JsonNode row : first.leaderboard()) {
            assertThat(row.path("value").asDouble()).isGreaterThanOrEqualTo(previous);
            previous = row.path("value").asDouble();
        }
        assertThat(first.metrics().path("rmse").asDouble()).isEqualTo(first.leaderboard().get(0).path("value")
                .asDouble());
        // ranked the other way round by a metric where more is better
        ObjectNode byR2 = hyperparameters("{\"max_trials\": 8, \"metric\": \"r2\"}");
        Trainer.Trained r2 = AutoMl.search(new Run(byR2, null), new Space(), SearchSettings.of(byR2).orElseThrow());
        assertThat(r2.leaderboard().get(0).path("value").asDouble())
                .isGreaterThanOrEqualTo(r2.leaderboard().get(7).path("value").asDouble());
        assertThat(r2.hyperparameters()).isEqualTo(first.hyperparameters());
    }

    @Test
    void aStoppedSearch_goesOnFromItsSavedTrials_toTheResultOfOneNeverStopped() {
        for (String search : List.of("{\"max_trials\": 9}", "{\"max_trials\": 9, \"strategy\":"
                + " \"successive_halving\"}")) {
            ObjectNode settings = hyperparameters(search);
            SearchSettings parsed = SearchSettings.of(settings).orElseThrow();
            Space straightSpace = new Space();
            Trainer.Trained straight = AutoMl.search(new Run(settings, null), straightSpace, parsed);

            Run stopped = new Run(settings, null);
            stopped.stopAfterSaves = 4;
            Space firstSpace = new Space();
            assertThatThrownBy(() -> AutoMl.search(stopped, firstSpace, parsed))
                    .isInstanceOf(CancellationException.class);
            assertThat(firstSpace.trained).hasSize(4);

            Run resumed = new Run(settings, stopped.state);
            Space secondSpace = new Space();
            Trainer.Trained result = AutoMl.search(resumed, secondSpace, parsed);
            assertThat(result.leaderboard()).as(search).hasSize(straight.leaderboard().size());
            for (int i = 0; i < straight.leaderboard().size(); i++) {
                assertThat(result.leaderboard().get(i).path("value")).as(search)
                        .isEqualTo(straight.leaderboard().get(i).path("value"));
                assertThat(result.leaderboard().get(i).path("hyperparameters")).as(search)
                        .isEqualTo(straight.leaderboard().get(i).path("hyperparameters"));
            }
            assertThat(result.hyperparameters()).isEqualTo(straight.hyperparameters());
            // the 4 trials done before were not trained again (the best of them, at most, once more)
            assertThat(secondSpace.trained.size()).as(search).isBetween(straightSpace.trained.size() - 4,
                    straightSpace.trained.size() - 3);
            assertThat(resumed.events).anyMatch(message -> message.contains("going on after the 4 trials"));
        }
    }

    @Test
    void noTrialWithinMaxSeconds_failsClearly() {
        ObjectNode settings = hyperparameters("{\"max_trials\": 3, \"max_seconds\": 1}");
        SearchSpace slow = new Space() {
            @Override
            public Trainer.Trained train(String family, JsonNode hyperparameters, Trainer.Run run) {
                while (!run.cancelled()) {
                    Thread.onSpinWait();
                }
                throw new CancellationException();
            }
        };
        assertThatThrownBy(() -> AutoMl.search(new Run(settings, null), slow, SearchSettings.of(settings)
                .orElseThrow())).hasMessageContaining("no trial of the search finished within its max_seconds of 1");
    }
}
