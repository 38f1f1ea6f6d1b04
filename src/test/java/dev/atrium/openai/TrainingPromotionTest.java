package dev.atrium.openai;

import static org.assertj.core.api.Assertions.assertThat;

import dev.atrium.testing.Http;
import dev.atrium.testing.Tenants;
import dev.atrium.testing.TestServer;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

/**
 * Comparing versions on the same data: {@code POST /v1/evaluations} scores any version on a file through the
 * serving path (metered as the caller's predictions), and a job's {@code promote: {alias, if_better_on}} moves the
 * alias only when its new version beats the alias's version on the job's validation file.
 */
class TrainingPromotionTest {
    private static TestServer server;
    private static Http admin;
    private static Tenants tenants;
    private static Http member;
    private static String tenant;

    @BeforeAll
    static void start() {
        server = TestServer.start(Map.of("preload", "none"));
        admin = server.http();
        tenants = new Tenants(admin);
        tenant = tenants.tenant("promoters");
        member = admin.withKey(tenants.key(tenant, "member").secret());
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    /** y = 2 x1 - 3 x2 + x3 + N(0, 0.2²). */
    private static String csv(int rows, long seed) {
        Random random = new Random(seed);
        StringBuilder csv = new StringBuilder("x1,x2,x3,y\n");
        for (int i = 0; i < rows; i++) {
            double x1 = random.nextDouble() * 2 - 1;
            double x2 = random.nextDouble() * 2 - 1;
            double x3 = random.nextDouble() * 2 - 1;
            csv.append(x1).append(',').append(x2).append(',').append(x3).append(',')
                    .append(2 * x1 - 3 * x2 + x3 + random.nextGaussian() * 0.2).append('\n');
        }
        return csv.toString();
    }

    private static String upload(Http who, String csv, String name) {
        Http.Reply file = who.uploadTrainingFile(name, csv);
        assertThat(file.status()).as(file.text()).isEqualTo(200);
        return file.json().path("id").asString();
    }

    private static Http.Reply create(String family, String training, String validation, Map<String, Object> hyper,
            Object promote) {
        java.util.Map<String, Object> body = new java.util.LinkedHashMap<>(Map.of("model", family, "training_file",
                training, "suffix", "prices", "method", Map.of("type", "tabular-regression"), "hyperparameters", hyper,
                "seed", 4));
        if (validation != null) {
            body.put("validation_file", validation);
        }
        if (promote != null) {
            body.put("promote", promote);
        }
        return member.postJson("/v1/fine_tuning/jobs", body);
    }

    private static JsonNode run(String family, String training, String validation, Map<String, Object> hyper)
            throws InterruptedException {
        Http.Reply created = create(family, training, validation, hyper, Map.of("alias", "production",
                "if_better_on", "rmse"));
        assertThat(created.status()).as(created.text()).isEqualTo(200);
        String id = created.json().path("id").asString();
        JsonNode job = member.awaitJobEnd(id, Duration.ofMinutes(2));
        assertThat(job.path("status").asString()).as(job.toString()).isEqualTo("succeeded");
        return job;
    }

    private static int production() {
        return member.get("/admin/models/prices").json().path("aliases").path("production").asInt();
    }

    @Test
    void promote_movesTheAliasOnlyToABetterVersion_andEvaluationsScoreAnyVersion() throws Exception {
        String training = upload(member, csv(600, 1), "train.csv");
        String validation = upload(member, csv(200, 2), "valid.csv");
        Map<String, Object> weak = Map.of("target", "y", "n_rounds", 3, "learning_rate", 0.05, "max_depth", 2);

        JsonNode first = run("gradient-boosted-trees", training, validation, weak);
        assertThat(first.path("promote").path("promoted").asBoolean()).as(first.toString()).isTrue();
        assertThat(first.path("promote").path("reason").asString()).contains("no version");
        assertThat(production()).isEqualTo(1);

        JsonNode second = run("linear", training, validation, Map.of("target", "y"));
        JsonNode decision = second.path("promote");
        assertThat(decision.path("promoted").asBoolean()).as(second.toString()).isTrue();
        assertThat(decision.path("incumbent").asString()).isEqualTo("prices:1");
        assertThat(decision.path("candidate_value").asDouble()).isLessThan(decision.path("incumbent_value")
                .asDouble());
        assertThat(production()).isEqualTo(2);

        JsonNode third = run("gradient-boosted-trees", training, validation, weak);
        assertThat(third.path("promote").path("promoted").asBoolean()).as(third.toString()).isFalse();
        assertThat(third.path("promote").path("incumbent").asString()).isEqualTo("prices:2");
        assertThat(production()).isEqualTo(2);
        List<String> events = new java.util.ArrayList<>();
        member.get("/v1/fine_tuning/jobs/" + third.path("id").asString() + "/events").json().path("data")
                .forEach(event -> events.add(event.path("message").asString()));
        assertThat(events).anyMatch(message -> message.startsWith("Not promoted: alias 'production' stays"));

        // any version scores on the same file, through the serving path, with the figures the decision used
        Http.Reply scored = member.postJson("/v1/evaluations", Map.of("model", "prices:production", "file",
                validation, "target", "y"));
        assertThat(scored.status()).as(scored.text()).isEqualTo(200);
        assertThat(scored.json().path("model").asString()).isEqualTo("prices:2");
        assertThat(scored.json().path("metrics").path("rmse").asDouble())
                .isEqualTo(decision.path("candidate_value").asDouble());
        assertThat(scored.json().path("metrics").path("validation_examples").asInt()).isEqualTo(200);
        assertThat(scored.json().path("metrics").path("r2").asDouble()).isGreaterThan(0.95);
        JsonNode usage = admin.get("/admin/usage/records?tenant=" + tenant + "&limit=1000").json().path("data");
        long predictionRows = 0;
        for (JsonNode record : usage) {
            if (record.path("endpoint").asString().equals("/v1/predictions")) {
                predictionRows += record.path("rows").asLong();
            }
        }
        // the third job's two scorings, the second's two, the first's one, and this one: 200 rows each
        assertThat(predictionRows).isEqualTo(6 * 200);
    }

    @Test
    void evaluationsAndPromotions_refuseWhatTheyCannotDo() {
        String file = upload(member, csv(50, 3), "small.csv");
        Http.Reply noTarget = member.postJson("/v1/evaluations", Map.of("model", "prices", "file", file));
        assertThat(noTarget.status()).isIn(400, 404);
        Http other = admin.withKey(tenants.key(tenants.tenant("other-promoters"), "member").secret());
        String theirs = upload(other, csv(50, 4), "theirs.csv");
        Http.Reply foreign = member.postJson("/v1/evaluations", Map.of("model", "prices", "file", theirs,
                "target", "y"));
        assertThat(foreign.status()).isEqualTo(404);
        assertThat(member.postJson("/v1/evaluations", Map.of("model", "no-such-model", "file", file, "target", "y"))
                .status()).isEqualTo(404);
        assertThat(member.postJson("/v1/evaluations", Map.of("file", file)).status()).isEqualTo(400);
        Http.Reply noValidation = create("linear", file, null, Map.of("target", "y"), Map.of("alias", "production",
                "if_better_on", "rmse"));
        assertThat(noValidation.status()).isEqualTo(400);
        assertThat(noValidation.json().path("error").path("message").asString()).contains("validation_file");
        Http.Reply badMetric = create("linear", file, file, Map.of("target", "y"), Map.of("alias", "production",
                "if_better_on", "speed"));
        assertThat(badMetric.status()).isEqualTo(400);
        assertThat(create("linear", file, file, Map.of("target", "y"), "production").status()).isEqualTo(400);
    }
}
