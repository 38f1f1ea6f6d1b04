package dev.atrium.openai;

import static org.assertj.core.api.Assertions.assertThat;

import dev.atrium.testing.Http;
import dev.atrium.testing.Tenants;
import dev.atrium.testing.TestServer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

/**
 * AutoML jobs ({@code hyperparameters.search}): on a dataset built so that the default configuration is the wrong
 * one (a target linear in 24 features, where the default gradient-boosted trees need far more rows than there are)
 * a search over both tabular families ({@code model: "auto"}) finds a model that predicts fresh rows better than the
 * default job's, and shows its trials as a leaderboard and as events; successive halving gives its first rung fewer
 * rounds; {@code max_seconds} stops a search; a search it cannot run is refused.
 */
class AutoMlFineTuningTest {
    private static final int FEATURES = 24;
    private static final double SIGMA = 0.3;
    private static TestServer server;
    private static Http member;

    @BeforeAll
    static void start() {
        server = TestServer.start(Map.of("preload", "none"));
        Http admin = server.http();
        Tenants tenants = new Tenants(admin);
        member = admin.withKey(tenants.key(tenants.tenant("automl"), "member").secret());
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    /** Rows of {@code y = Σ w_i x_i + N(0, σ²)} with fixed weights; without noise when {@code noisy} is false. */
    private static List<double[]> rows(int count, long seed, boolean noisy) {
        Random weights = new Random(77);
        double[] w = new double[FEATURES];
        for (int i = 0; i < FEATURES; i++) {
            w[i] = weights.nextGaussian() * 2;
        }
        Random random = new Random(seed);
        List<double[]> rows = new ArrayList<>();
        for (int r = 0; r < count; r++) {
            double[] row = new double[FEATURES + 1];
            double y = 0;
            for (int i = 0; i < FEATURES; i++) {
                row[i] = random.nextDouble() * 4 - 2;
                y += w[i] * row[i];
            }
            row[FEATURES] = y + (noisy ? random.nextGaussian() * SIGMA : 0);
            rows.add(row);
        }
        return rows;
    }

    private static String upload(List<double[]> rows) {
        StringBuilder csv = new StringBuilder();
        for (int i = 0; i < FEATURES; i++) {
            csv.append('x').append(i).append(',');
        }
        csv.append("y\n");
        for (double[] row : rows) {
            for (int i = 0; i <= FEATURES; i++) {
                csv.append(row[i]).append(i == FEATURES ? '\n' : ',');
            }
        }
        Http.Reply file = member.uploadTrainingFile("linear.csv", csv.toString());
        assertThat(file.status()).as(file.text()).isEqualTo(200);
        return file.json().path("id").asString();
    }

    private static Http.Reply create(String model, String file, String suffix, String method,
            Map<String, Object> hyperparameters) {
        return member.postJson("/v1/fine_tuning/jobs", Map.of("model", model, "training_file", file,
                "suffix", suffix, "method", Map.of("type", method), "hyperparameters", hyperparameters, "seed", 3));
    }

    private static JsonNode run(String model, String file, String suffix, String method,
            Map<String, Object> hyperparameters) throws InterruptedException {
        Http.Reply created = create(model, file, suffix, method, hyperparameters);
        assertThat(created.status()).as(created.text()).isEqualTo(200);
        String id = created.json().path("id").asString();
        JsonNode job = member.awaitJobEnd(id, Duration.ofMinutes(3));
        return job;
    }

    private static double rmseOnFreshRows(String model) {
        List<double[]> fresh = rows(300, 1234, false);
        List<Map<String, Object>> records = new ArrayList<>();
        for (double[] row : fresh) {
            Map<String, Object> record = new LinkedHashMap<>();
            for (int i = 0; i < FEATURES; i++) {
                record.put("x" + i, row[i]);
            }
            records.add(record);
        }
        Http.Reply predicted = member.postJson("/v1/predictions", Map.of("model", model, "dataframe_records",
                records));
        assertThat(predicted.status()).as(predicted.text()).isEqualTo(200);
        double squared = 0;
        for (int i = 0; i < fresh.size(); i++) {
            double error = predicted.json().path("predictions").get(i).asDouble() - fresh.get(i)[FEATURES];
            squared += error * error;
        }
        return Math.sqrt(squared / fresh.size());
    }

    private static List<String> events(String id) {
        List<String> messages = new ArrayList<>();
        member.get("/v1/fine_tuning/jobs/" + id + "/events?limit=1000").json().path("data")
                .forEach(event -> messages.add(event.path("message").asString()));
        return messages;
    }

    @Test
    void search_beatsTheDefaultConfiguration_onADatasetBuiltSoThatItShould() throws Exception {
        String file = upload(rows(500, 8, true));
        JsonNode plain = run("gradient-boosted-trees", file, "linear-default", "tabular-regression",
                Map.of("target", "y"));
        assertThat(plain.path("status").asString()).as(plain.toString()).isEqualTo("succeeded");
        assertThat(plain.path("leaderboard").isNull()).isTrue();
        JsonNode searched = run("auto", file, "linear-auto", "tabular-regression", Map.of("target", "y",
                "search", Map.of("max_trials", 6)));
        assertThat(searched.path("status").asString()).as(searched.toString()).isEqualTo("succeeded");

        double plainRmse = rmseOnFreshRows(plain.path("fine_tuned_model").asString());
        double searchedRmse = rmseOnFreshRows(searched.path("fine_tuned_model").asString());
        System.out.printf("y linear in %d features + N(0, %.1f^2), 500 rows: default trees RMSE %.3f, AutoML %.3f on"
                + " fresh rows%n", FEATURES, SIGMA, plainRmse, searchedRmse);
        assertThat(searchedRmse).isLessThan(plainRmse / 2);

        JsonNode board = searched.path("leaderboard");
        assertThat(board).hasSize(6);
        List<String> families = new ArrayList<>();
        double previous = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < board.size(); i++) {
            JsonNode row = board.get(i);
            assertThat(row.path("rank").asInt()).isEqualTo(i + 1);
            assertThat(row.path("metric").asString()).isEqualTo("rmse");
            assertThat(row.path("value").asDouble()).isGreaterThanOrEqualTo(previous);
            previous = row.path("value").asDouble();
            families.add(row.path("family").asString());
        }
        assertThat(families).contains("gradient-boosted-trees", "linear");
        assertThat(board.get(0).path("family").asString()).isEqualTo("linear");
        // the job's metrics are the best trial's, and so are the version's lineage and hyperparameters
        assertThat(searched.path("metrics").path("rmse").asDouble()).isEqualTo(board.get(0).path("value")
                .asDouble());
        assertThat(searched.path("metrics").path("trials").asInt()).isEqualTo(6);
        List<String> events = events(searched.path("id").asString());
        assertThat(events.stream().filter(message -> message.startsWith("Trial "))).hasSize(6);
        assertThat(events).anyMatch(message -> message.startsWith("AutoML: 6 trials"));
        JsonNode version = member.get("/admin/models/linear-auto/versions/1").json();
        JsonNode lineage = version.path("lineage");
        assertThat(lineage.path("job").asString()).isEqualTo(searched.path("id").asString());
        assertThat(lineage.path("hyperparameters").path("model").asString()).isEqualTo("linear");
        assertThat(lineage.path("search_trials").asInt()).isEqualTo(6);
        assertThat(lineage.path("training_file").path("sha256").asString()).hasSize(64);
        assertThat(lineage.path("split").path("seed").asLong()).isEqualTo(3);
        assertThat(lineage.path("trainer").path("libraries").path("xgboost").asString()).isEqualTo("3.4.0");
        assertThat(lineage.path("metrics").path("r2").asDouble()).isGreaterThan(0.9);
    }

    @Test
    void successiveHalving_givesItsFirstRungFewerRounds_andItsResultTheFullBudget() throws Exception {
        String file = upload(rows(400, 9, true));
        JsonNode job = run("gradient-boosted-trees", file, "halved", "tabular-regression", Map.of("target", "y",
                "n_rounds", 90, "search", Map.of("strategy", "successive_halving", "max_trials", 9, "eta", 3)));
        assertThat(job.path("status").asString()).as(job.toString()).isEqualTo("succeeded");
        // 9 configurations at 10 rounds, the best 3 at 30, the best 1 at 90
        List<Integer> rounds = new ArrayList<>();
        job.path("leaderboard").forEach(row -> rounds.add(row.path("hyperparameters").path("n_rounds").asInt()));
        assertThat(rounds).hasSize(13);
        assertThat(rounds.stream().filter(r -> r == 10)).hasSize(9);
        assertThat(rounds.stream().filter(r -> r == 30)).hasSize(3);
        assertThat(rounds.stream().filter(r -> r == 90)).hasSize(1);
        // the result is the best trial at whatever budget it had
        JsonNode lineage = member.get("/admin/models/halved/versions/1").json().path("lineage");
        assertThat(lineage.path("hyperparameters").path("n_rounds").asInt())
                .isEqualTo(job.path("leaderboard").get(0).path("hyperparameters").path("n_rounds").asInt());
        assertThat(job.path("metrics").path("rmse").asDouble())
                .isEqualTo(job.path("leaderboard").get(0).path("value").asDouble());
    }

    @Test
    void maxSeconds_stopsTheSearch() throws Exception {
        String file = upload(rows(3000, 10, true));
        JsonNode job = run("gradient-boosted-trees", file, "hurried", "tabular-regression", Map.of("target", "y",
                "search", Map.of("max_trials", 200, "max_seconds", 2)));
        List<String> events = events(job.path("id").asString());
        assertThat(events).anyMatch(message -> message.contains("seconds are spent"));
        if (job.path("status").asString().equals("succeeded")) {
            assertThat(job.path("leaderboard").size()).isBetween(1, 199);
        } else {
            assertThat(job.path("error").path("message").asString()).contains("no trial of the search finished");
        }
    }

    @Test
    void aSearchItCannotRun_isRefused() throws Exception {
        String file = upload(rows(100, 11, true));
        Http.Reply strategy = create("auto", file, "refused", "tabular-regression", Map.of("target", "y",
                "search", Map.of("strategy", "grid")));
        assertThat(strategy.status()).isEqualTo(400);
        assertThat(strategy.json().path("error").path("param").asString()).isEqualTo("hyperparameters");
        assertThat(strategy.json().path("error").path("message").asString()).contains("random or successive_halving");
        assertThat(create("auto", file, "refused", "tabular-regression", Map.of("target", "y", "search",
                Map.of("max_trials", 0))).status()).isEqualTo(400);
        assertThat(create("auto", file, "refused", "tabular-regression", Map.of("target", "y", "search",
                Map.of("metric", "speed"))).status()).isEqualTo(400);
        JsonNode unknown = run("auto", file, "refused", "tabular-regression", Map.of("target", "y", "search",
                Map.of("space", Map.of("n_leaves", List.of(1, 2)))));
        assertThat(unknown.path("status").asString()).isEqualTo("failed");
        assertThat(unknown.path("error").path("message").asString()).contains("n_leaves").contains("max_depth");
        JsonNode outside = run("auto", file, "refused", "tabular-regression", Map.of("target", "y", "search",
                Map.of("space", Map.of("max_depth", List.of(1, 40)))));
        assertThat(outside.path("error").path("message").asString()).contains("max_depth").contains("within");
    }
}
