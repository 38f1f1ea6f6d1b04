package dev.atrium.rollout;

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
 * A rollout whose plan has an evaluation: two tabular versions trained by a tenant on y = 2x + noise, one fitted
 * (l2 0.001), one all but flat (l2 10), are scored on a held-out file before the canary gets past its first step.
 * The flat one, worse on rmse, is rolled back with no traffic at all; the fitted one goes on.
 */
class RolloutEvaluationTest {
    private static TestServer server;
    private static Http owner;
    private static String heldOut;

    @BeforeAll
    static void start() throws Exception {
        server = TestServer.start(Map.of("preload", "none"));
        Tenants tenants = new Tenants(server.http());
        String tenant = tenants.tenant("evaluated-rollouts");
        owner = server.http().withKey(tenants.key(tenant, "owner").secret());
        Http member = server.http().withKey(tenants.key(tenant, "member").secret());
        String file = member.uploadTrainingFile("rows.csv", rows(new Random(4), 300)).json().path("id").asString();
        heldOut = owner.uploadTrainingFile("held-out.csv", rows(new Random(5), 200)).json().path("id").asString();
        for (double l2 : List.of(0.001, 10.0, 0.002)) {
            Http.Reply job = member.postJson("/v1/fine_tuning/jobs", Map.of("model", "linear", "training_file", file,
                    "suffix", "scored", "method", Map.of("type", "tabular-regression"),
                    "hyperparameters", Map.of("target", "y", "l2", l2)));
            assertThat(job.status()).as(job.text()).isEqualTo(200);
            assertThat(member.awaitJobEnd(job.json().path("id").asString(), Duration.ofMinutes(1)).path("status")
                    .asString()).isEqualTo("succeeded");
        }
        assertThat(owner.putJson("/admin/models/scored/aliases/production", Map.of("version", 1)).status())
                .isEqualTo(200);
    }

    private static String rows(Random random, int n) {
        StringBuilder csv = new StringBuilder("x,y\n");
        for (int i = 0; i < n; i++) {
            double x = random.nextDouble() * 4;
            csv.append(x).append(',').append(2 * x + random.nextGaussian() * 0.1).append('\n');
        }
        return csv.toString();
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    private static JsonNode awaitEvaluated(Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        JsonNode rollout;
        do {
            Thread.sleep(100);
            rollout = owner.get("/admin/models/scored/aliases/production/rollout").json();
        } while (System.nanoTime() < deadline && (rollout.path("steps").findValues("action").stream()
                .noneMatch(action -> action.asString().equals("evaluated")) || decisionPending(rollout)));
        return rollout;
    }

    /** The evaluation is noted a moment before the rollback it calls for: the step is seen, the state not yet. */
    private static boolean decisionPending(JsonNode rollout) {
        for (JsonNode step : rollout.path("steps")) {
            if (step.path("action").asString().equals("evaluated")
                    && step.path("detail").path("shortfall").asDouble() > step.path("detail").path("max_drop").asDouble()
                    && rollout.path("state").asString().equals("running")) {
                return true;
            }
        }
        return false;
    }

    @Test
    void aCanaryWorseOnItsEvaluation_isRolledBack_andABetterOneGoesOn() throws Exception {
        Map<String, Object> evaluation = Map.of("file", heldOut, "metric", "rmse", "max_drop", 0.05, "target", "y");
        Http.Reply started = owner.postJson("/admin/models/scored/aliases/production/rollout", Map.of("version", 2,
                "steps", List.of(10, 100), "interval", "1h", "evaluation", evaluation));
        assertThat(started.status()).as(started.text()).isEqualTo(201);

        JsonNode rollout = awaitEvaluated(Duration.ofSeconds(30));

        assertThat(rollout.path("state").asString()).as(rollout.toString()).isEqualTo("rolled_back");
        assertThat(rollout.path("reason").asString()).contains("rmse");
        JsonNode scores = rollout.path("steps").get(1).path("detail");
        assertThat(scores.path("canary").asDouble()).isGreaterThan(scores.path("baseline").asDouble() + 0.05);
        assertThat(owner.get("/admin/models/scored").json().path("aliases").path("production").asInt()).isEqualTo(1);

        Http.Reply next = owner.postJson("/admin/models/scored/aliases/production/rollout", Map.of("version", 3,
                "steps", List.of(10, 100), "interval", "1h", "evaluation", evaluation));
        assertThat(next.status()).as(next.text()).isEqualTo(201);
        JsonNode going = awaitEvaluated(Duration.ofSeconds(30));
        assertThat(going.path("state").asString()).as(going.toString()).isEqualTo("running");
        assertThat(going.path("steps").get(1).path("detail").path("shortfall").asDouble()).isLessThan(0.05);
        assertThat(owner.postJson("/admin/models/scored/aliases/production/rollout/promote", Map.of()).status())
                .isEqualTo(200);
    }
}
