package dev.atrium.openai;

import static org.assertj.core.api.Assertions.assertThat;

import dev.atrium.testing.Http;
import dev.atrium.testing.Tenants;
import dev.atrium.testing.TestServer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The job queue of a server with {@code --training-concurrency 2}: two tenants' jobs run at once, while one
 * tenant's second job waits for its first (one tenant never holds every worker); and a tenant past its 16 jobs
 * queued or running is refused the next.
 */
class TrainingQueueTest {
    private static TestServer server;
    private static Http admin;
    private static Tenants tenants;

    @BeforeAll
    static void start() {
        server = TestServer.start(Map.of("preload", "none", "training-concurrency", "2"));
        admin = server.http();
        tenants = new Tenants(admin);
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    private static String upload(Http member) {
        Random random = new Random(1);
        StringBuilder csv = new StringBuilder("x1,x2,y\n");
        for (int i = 0; i < 3000; i++) {
            double x1 = random.nextDouble();
            double x2 = random.nextDouble();
            csv.append(x1).append(',').append(x2).append(',').append(Math.sin(6 * x1) + x2 + random.nextGaussian())
                    .append('\n');
        }
        Http.Reply file = member.uploadTrainingFile("rows.csv", csv.toString());
        assertThat(file.status()).as(file.text()).isEqualTo(200);
        return file.json().path("id").asString();
    }

    /** A job that runs for minutes unless cancelled: thousands of rounds at a tiny learning rate. */
    private static Http.Reply longJob(Http member, String file) {
        return member.postJson("/v1/fine_tuning/jobs", Map.of("model", "gradient-boosted-trees", "training_file", file,
                "suffix", "slow", "method", Map.of("type", "tabular-regression"), "hyperparameters", Map.of("target", "y",
                        "n_rounds", 10_000, "learning_rate", 0.0005, "max_depth", 10)));
    }

    private static String status(Http member, String id) {
        return member.get("/v1/fine_tuning/jobs/" + id).json().path("status").asString();
    }

    private static void awaitStatus(Http member, String id, String status) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (!status(member, id).equals(status) && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        assertThat(status(member, id)).isEqualTo(status);
    }

    private static void cancel(Http member, String id) {
        Http.Reply reply = member.post("/v1/fine_tuning/jobs/" + id + "/cancel", "application/json", new byte[0]);
        assertThat(reply.status()).as(reply.text()).isIn(200, 409);
    }

    @Test
    void twoTenantsRunAtOnce_whileOneTenantsSecondJobWaitsForItsFirst() throws Exception {
        Http a = admin.withKey(tenants.key(tenants.tenant("queue-a"), "member").secret());
        Http b = admin.withKey(tenants.key(tenants.tenant("queue-b"), "member").secret());
        String fileA = upload(a);
        String fileB = upload(b);
        String a1 = longJob(a, fileA).json().path("id").asString();
        String a2 = longJob(a, fileA).json().path("id").asString();
        String b1 = longJob(b, fileB).json().path("id").asString();
        awaitStatus(a, a1, "running");
        awaitStatus(b, b1, "running"); // the second worker takes the other tenant's job, not a2
        for (int i = 0; i < 10; i++) {
            assertThat(status(a, a2)).isIn("validating_files", "queued");
            Thread.sleep(50);
        }
        cancel(a, a1);
        awaitStatus(a, a2, "running"); // a's turn again once its first has ended
        assertThat(status(b, b1)).isEqualTo("running");
        cancel(a, a2);
        cancel(b, b1);
        awaitStatus(a, a2, "cancelled");
        awaitStatus(b, b1, "cancelled");
    }

    @Test
    void aTenantPastSixteenJobsQueuedOrRunning_isRefusedTheNext() throws Exception {
        Http member = admin.withKey(tenants.key(tenants.tenant("queue-many"), "member").secret());
        String file = upload(member);
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < 16; i++) {
            Http.Reply created = longJob(member, file);
            assertThat(created.status()).as(created.text()).isEqualTo(200);
            ids.add(created.json().path("id").asString());
        }
        Http.Reply refused = longJob(member, file);
        assertThat(refused.status()).as(refused.text()).isEqualTo(429);
        assertThat(refused.json().path("error").path("message").asString()).contains("16 fine-tuning jobs");
        ids.forEach(id -> cancel(member, id));
        for (String id : ids) {
            awaitStatus(member, id, "cancelled");
        }
        Http.Reply again = longJob(member, file);
        assertThat(again.status()).as(again.text()).isEqualTo(200);
        cancel(member, again.json().path("id").asString());
    }
}
