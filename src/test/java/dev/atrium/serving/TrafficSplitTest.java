package dev.atrium.serving;

import static org.assertj.core.api.Assertions.assertThat;

import dev.atrium.testing.Http;
import dev.atrium.testing.Tenants;
import dev.atrium.testing.TestServer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

/**
 * Traffic splits: an alias pointing at two versions of a tabular model (made by two training jobs) with weights
 * 90/10 sends each request to one of them within binomial bounds, says which in {@code x-atrium-model-version} and
 * in its usage record, keeps one {@code user} (or one key) always on the same version when sticky, and loses no
 * request while its weights move under load.
 */
class TrafficSplitTest {
    private static TestServer server;
    private static Http admin;
    private static Http owner;
    private static Http member;
    private static String tenant;

    @BeforeAll
    static void start() throws Exception {
        server = TestServer.start(Map.of("preload", "none", "default-rpm", "1000000"));
        admin = server.http();
        Tenants tenants = new Tenants(admin);
        tenant = tenants.tenant("splitters");
        owner = admin.withKey(tenants.key(tenant, "owner").secret());
        member = admin.withKey(tenants.key(tenant, "member").secret());
        Random random = new Random(4);
        StringBuilder csv = new StringBuilder("x,y\n");
        for (int i = 0; i < 200; i++) {
            double x = random.nextDouble();
            csv.append(x).append(',').append(2 * x + random.nextGaussian() * 0.1).append('\n');
        }
        String file = member.uploadTrainingFile("rows.csv", csv.toString()).json().path("id").asString();
        for (double l2 : List.of(0.001, 10.0)) {
            Http.Reply job = member.postJson("/v1/fine_tuning/jobs", Map.of("model", "linear", "training_file", file,
                    "suffix", "split-model", "method", Map.of("type", "tabular-regression"),
                    "hyperparameters", Map.of("target", "y", "l2", l2)));
            assertThat(job.status()).as(job.text()).isEqualTo(200);
            String id = job.json().path("id").asString();
            long deadline = System.nanoTime() + Duration.ofMinutes(1).toNanos();
            while (!member.get("/v1/fine_tuning/jobs/" + id).json().path("status").asString().equals("succeeded")
                    && System.nanoTime() < deadline) {
                Thread.sleep(50);
            }
        }
        assertThat(owner.get("/admin/models/split-model").json().path("versions").toString()).isEqualTo("[1,2]");
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    private static Http.Reply split(Map<String, Integer> weights, String sticky) {
        return owner.putJson("/admin/models/split-model/aliases/production", Map.of("split", weights, "sticky",
                sticky));
    }

    private static int predict(Http who, String user) {
        Map<String, Object> body = new HashMap<>(Map.of("model", "split-model", "instances",
                List.of(Map.of("x", 0.5))));
        if (user != null) {
            body.put("user", user);
        }
        Http.Reply reply = who.postJson("/v1/predictions", body);
        assertThat(reply.status()).as(reply.text()).isEqualTo(200);
        return Integer.parseInt(reply.header("x-atrium-model-version"));
    }

    @Test
    void aNinetyTenSplit_landsWithinBinomialBounds_andSaysWhichVersionAnswered() {
        Http.Reply set = split(Map.of("1", 90, "2", 10), "none");
        assertThat(set.status()).as(set.text()).isEqualTo(200);
        assertThat(set.json().path("split").path("1").asInt()).isEqualTo(90);
        assertThat(set.json().path("version").asInt()).isEqualTo(1);
        JsonNode model = owner.get("/admin/models/split-model").json();
        assertThat(model.path("aliases").path("production").asInt()).isEqualTo(1);
        assertThat(model.path("splits").path("production").path("split").path("2").asInt()).isEqualTo(10);
        int second = 0;
        int n = 2000;
        for (int i = 0; i < n; i++) {
            second += predict(member, null) == 2 ? 1 : 0;
        }
        // p = 0.1: mean 200, σ = √(2000 · 0.1 · 0.9) = 13.4; 99.9% two-sided within ±3.29σ
        System.out.printf("90/10 split over %d requests: %d on version 2%n", n, second);
        assertThat(second).isBetween(156, 244);
        // each version's requests are counted apart, and each request's usage record names the version that answered
        String metrics = admin.get("/metrics").text();
        assertThat(metrics).containsPattern("atrium_model_requests_total\\{[^}]*model=\"split-model\"[^}]*version=\"2\"");
        assertThat(metrics).containsPattern("atrium_model_requests_total\\{[^}]*model=\"split-model\"[^}]*version=\"1\"");
        JsonNode records = admin.get("/admin/usage/records?tenant=" + tenant + "&limit=1000").json().path("data");
        assertThat(records).anyMatch(record -> record.path("endpoint").asString().equals("/v1/predictions")
                && record.path("version").asInt() == 2);
        // a version in a split cannot be deleted from under it; a plain alias ends the split
        assertThat(owner.delete("/admin/models/split-model/versions/2").status()).isEqualTo(409);
        assertThat(owner.putJson("/admin/models/split-model/aliases/production", Map.of("version", 2)).status())
                .isEqualTo(200);
        for (int i = 0; i < 20; i++) {
            assertThat(predict(member, null)).isEqualTo(2);
        }
        assertThat(owner.get("/admin/models/split-model").json().path("splits").isEmpty()).isTrue();
    }

    @Test
    void aStickySplit_keepsOneUserOnOneVersion_andItsKeyWithoutOne() {
        assertThat(split(Map.of("1", 50, "2", 50), "user").status()).isEqualTo(200);
        Map<Integer, Integer> landed = new HashMap<>();
        for (int u = 0; u < 40; u++) {
            int first = predict(member, "user-" + u);
            for (int i = 0; i < 5; i++) {
                assertThat(predict(member, "user-" + u)).as("user-" + u).isEqualTo(first);
            }
            landed.merge(first, 1, Integer::sum);
        }
        assertThat(landed.keySet()).as("40 users over a 50/50 split").containsExactlyInAnyOrder(1, 2);
        int keyed = predict(member, null);
        for (int i = 0; i < 10; i++) {
            assertThat(predict(member, null)).as("no user: by its key").isEqualTo(keyed);
        }
    }

    @Test
    void movingTheWeightsUnderLoad_losesNoRequest() throws Exception {
        AtomicBoolean going = new AtomicBoolean(true);
        ExecutorService pool = Executors.newFixedThreadPool(4);
        List<Future<Integer>> workers = new ArrayList<>();
        for (int t = 0; t < 4; t++) {
            workers.add(pool.submit(() -> {
                int answered = 0;
                while (going.get()) {
                    predict(member, null); // asserts a 200
                    answered++;
                }
                return answered;
            }));
        }
        for (int step = 0; step <= 10; step++) {
            assertThat(split(Map.of("1", 100 - step * 9, "2", 1 + step * 9), "none").status()).isEqualTo(200);
            Thread.sleep(30);
        }
        going.set(false);
        int answered = 0;
        for (Future<Integer> worker : workers) {
            answered += worker.get();
        }
        pool.shutdown();
        assertThat(answered).isPositive();
    }

    @Test
    void badSplits_areRefused() {
        assertThat(split(Map.of("1", 0, "2", 10), "none").status()).isEqualTo(400);
        assertThat(split(Map.of("1", 90, "9", 10), "none").status()).isEqualTo(404);
        assertThat(split(Map.of("1", 90, "2", 10), "sometimes").status()).isEqualTo(400);
        assertThat(owner.putJson("/admin/models/split-model/aliases/production", Map.of("version", 1, "split",
                Map.of("1", 1))).status()).isEqualTo(400);
        assertThat(member.putJson("/admin/models/split-model/aliases/production", Map.of("split",
                Map.of("1", 50, "2", 50))).status()).isEqualTo(403);
    }
}
