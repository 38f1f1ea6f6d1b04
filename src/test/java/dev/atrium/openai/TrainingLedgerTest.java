package dev.atrium.openai;

import static org.assertj.core.api.Assertions.assertThat;

import dev.atrium.testing.Http;
import dev.atrium.testing.Tenants;
import dev.atrium.testing.TestServer;
import java.math.BigDecimal;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

/**
 * The serving path's ledger rule for fine-tuning jobs ({@code Endpoint.FINE_TUNING}), over every way a job ends:
 * one that ran has exactly one usage record with its outcome, one that never ran has none, a failed one costs
 * nothing, and the reservation made when it was created is given back either way — also for a job whose key is
 * revoked while it waits for a restart (it fails, and nothing runs for it).
 */
class TrainingLedgerTest {
    private static TestServer server;
    private static Http admin;
    private static Tenants tenants;
    private static String tenant;
    private static Tenants.Key key;

    @BeforeAll
    static void start() {
        server = TestServer.start(Map.of("preload", "none"));
        admin = server.http();
        tenants = new Tenants(admin);
        tenant = tenants.tenant("ledgered-trainers");
        key = tenants.key(tenant, "member");
        assertThat(admin.postJson("/admin/prices", Map.of("model", "gradient-boosted-trees", "tenant", tenant,
                "per_compute_second", "0.001", "currency", "USD")).status()).isEqualTo(201);
        assertThat(admin.postJson("/admin/budgets", Map.of("tenant", tenant, "monthly_limit", "1000", "currency",
                "USD")).status()).isEqualTo(200);
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    private static Http member() {
        return server.http().withKey(key.secret());
    }

    private static String upload(Http member, String name, String content) {
        Http.Reply file = member.uploadTrainingFile(name, content);
        assertThat(file.status()).as(file.text()).isEqualTo(200);
        return file.json().path("id").asString();
    }

    private static String rows(int count) {
        Random random = new Random(2);
        StringBuilder csv = new StringBuilder("x,y\n");
        for (int i = 0; i < count; i++) {
            double x = random.nextDouble();
            csv.append(x).append(',').append(Math.sin(5 * x) + random.nextGaussian() * 0.1).append('\n');
        }
        return csv.toString();
    }

    private static String job(Http member, String file, int rounds, double rate) {
        Http.Reply created = member.postJson("/v1/fine_tuning/jobs", Map.of("model", "gradient-boosted-trees",
                "training_file", file, "suffix", "ledgered", "method", Map.of("type", "tabular-regression"),
                "hyperparameters", Map.of("target", "y", "n_rounds", rounds, "learning_rate", rate)));
        assertThat(created.status()).as(created.text()).isEqualTo(200);
        return created.json().path("id").asString();
    }

    private static String awaitStatus(Http member, String id, List<String> statuses) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(90).toNanos();
        String status = member.get("/v1/fine_tuning/jobs/" + id).json().path("status").asString();
        while (!statuses.contains(status) && System.nanoTime() < deadline) {
            Thread.sleep(20);
            status = member.get("/v1/fine_tuning/jobs/" + id).json().path("status").asString();
        }
        assertThat(status).isIn(statuses);
        return status;
    }

    private static JsonNode records(String id) {
        return server.http().get("/admin/usage/records?tenant=" + tenant + "&request_id=" + id).json().path("data");
    }

    private static void assertNothingReserved() {
        JsonNode budget = server.http().get("/admin/budgets?tenant=" + tenant).json().path("budgets").get(0);
        assertThat(new BigDecimal(budget.path("reserved").asString())).isEqualByComparingTo("0");
    }

    private static void cancel(Http member, String id) {
        assertThat(member.post("/v1/fine_tuning/jobs/" + id + "/cancel", "application/json", new byte[0]).status())
                .isEqualTo(200);
    }

    @Test
    void everyWayAJobEnds_leavesOneRecordIfItRan_noneIfNot_andNoReservation() throws Exception {
        Http member = member();
        String file = upload(member, "rows.csv", rows(3000));

        String done = job(member, file, 50, 0.3);
        awaitStatus(member, done, List.of("succeeded"));
        Thread.sleep(200); // the worker records the job as it leaves it
        assertThat(records(done)).hasSize(1);
        assertThat(records(done).get(0).path("outcome").asString()).isEqualTo("ok");
        assertThat(records(done).get(0).path("endpoint").asString()).isEqualTo("/v1/fine_tuning/jobs");

        String running = job(member, file, 10_000, 0.0005);
        String queued = job(member, file, 10_000, 0.0005);
        awaitStatus(member, running, List.of("running"));
        cancel(member, queued);
        awaitStatus(member, queued, List.of("cancelled"));
        cancel(member, running);
        awaitStatus(member, running, List.of("cancelled"));
        Thread.sleep(200); // the worker records the job as it leaves it
        assertThat(records(queued)).as("a job cancelled before it ran").isEmpty();
        assertThat(records(running)).hasSize(1);
        assertThat(records(running).get(0).path("outcome").asString()).isEqualTo("client_cancelled");
        assertThat(new BigDecimal(records(running).get(0).path("charge").asString())).isPositive();

        String bad = upload(member, "bad.csv", "x,z\n1,2\n3,4\n");
        String failed = job(member, bad, 50, 0.3);
        awaitStatus(member, failed, List.of("failed"));
        Thread.sleep(200);
        assertThat(records(failed)).hasSize(1);
        assertThat(records(failed).get(0).path("outcome").asString()).isEqualTo("error");
        assertThat(new BigDecimal(records(failed).get(0).path("charge").asString())).isEqualByComparingTo("0");
        assertNothingReserved();
    }

    @Test
    void aJobWhoseKeyIsRevokedWhileItWaitsForARestart_failsAndRunsNothing() throws Exception {
        Tenants.Key other = tenants.key(tenant, "member");
        Http first = member();
        Http second = server.http().withKey(other.secret());
        String file = upload(first, "rows.csv", rows(3000));
        String longJob = job(first, file, 10_000, 0.0005);
        awaitStatus(first, longJob, List.of("running"));
        String waiting = job(second, upload(second, "rows.csv", rows(300)), 50, 0.3);
        assertThat(server.http().delete("/admin/keys/" + other.id()).status()).isIn(200, 204);
        server.restart();
        Http member = member();
        assertThat(awaitStatus(member, longJob, List.of("running", "queued"))).isNotNull();
        cancel(member, longJob);
        awaitStatus(member, longJob, List.of("cancelled"));
        JsonNode job = server.http().get("/admin/usage/records?tenant=" + tenant + "&request_id=" + waiting).json();
        assertThat(job.path("data")).as("no record for the revoked key's job").isEmpty();
        Http.Reply view = server.http().withKey(key.secret()).get("/v1/fine_tuning/jobs/" + waiting);
        assertThat(view.status()).as("another key of the tenant sees the tenant's jobs").isEqualTo(200);
        assertThat(awaitStatus(member, waiting, List.of("failed"))).isEqualTo("failed");
        assertThat(member.get("/v1/fine_tuning/jobs/" + waiting).json().path("error").path("message").asString())
                .contains("revoked");
        Thread.sleep(200);
        assertNothingReserved();
    }
}
