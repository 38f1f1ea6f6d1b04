package dev.atrium.rollout;

import static org.assertj.core.api.Assertions.assertThat;

import dev.atrium.testing.FakeUpstream;
import dev.atrium.testing.Http;
import dev.atrium.testing.Tenants;
import dev.atrium.testing.TestServer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

/**
 * Canary rollouts on a remote chat model whose versions are upstreams of a local fake: version 1 answers every
 * request, version 2 fails one in five (500, no retry), version 3 answers every request, version 4 answers every
 * request 150 ms late. Under steady traffic, a rollout of version 2 is rolled back within its window with no failed
 * request on the baseline, a rollout of version 4 is rolled back on its p99, one of version 3 is stepped up to 100%;
 * each step is kept, with the figures it was decided on, and audited.
 */
class RolloutTest {
    private static TestServer server;
    private static FakeUpstream upstream;
    private static Http admin;
    private static Http member;
    private static final AtomicInteger FLAKY_CALLS = new AtomicInteger();

    @BeforeAll
    static void start() {
        server = TestServer.start(Map.of("preload", "none", "default-rpm", "10000000"));
        upstream = new FakeUpstream();
        upstream.otherwise(exchange -> {
            String model = exchange.request().json().path("model").asString();
            if (model.equals("flaky") && FLAKY_CALLS.incrementAndGet() % 5 == 0) {
                exchange.json(500, "{\"error\":{\"message\":\"flaky\"}}");
                return;
            }
            if (model.equals("slow")) {
                Thread.sleep(150);
            }
            exchange.json(200, "{\"id\":\"up\",\"object\":\"chat.completion\",\"created\":1,\"model\":\"" + model
                    + "\",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"hi\"},"
                    + "\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":1,"
                    + "\"total_tokens\":4}}");
        });
        admin = server.http();
        assertThat(admin.postJson("/admin/upstreams", Map.of("host", "127.0.0.1:" + upstream.port())).status())
                .isEqualTo(201);
        assertThat(admin.postJson("/admin/models", Map.of("name", "canaried", "task", "chat", "engine", "remote"))
                .status()).isEqualTo(201);
        for (String upstreamModel : List.of("steady", "flaky", "steady-too", "slow")) {
            Map<String, Object> version = new LinkedHashMap<>();
            version.put("base_url", upstream.baseUrl());
            version.put("upstream_model", upstreamModel);
            version.put("retry", Map.of("max_attempts", 1));
            Http.Reply created = admin.postJson("/admin/models/canaried/versions", version);
            assertThat(created.status()).as(created.text()).isEqualTo(201);
        }
        Tenants tenants = new Tenants(admin);
        String tenant = tenants.tenant("canary-callers");
        member = admin.withKey(tenants.key(tenant, "member").secret());
    }

    @AfterAll
    static void stop() {
        server.close();
        upstream.close();
    }

    /** Requests sent while a rollout ran, by the version that answered and whether it answered 200. */
    private record Traffic(Map<String, LongAdder> answered, Map<String, LongAdder> failed) {
        long failed(String version) {
            return failed.getOrDefault(version, new LongAdder()).sum();
        }

        long answered(String version) {
            return answered.getOrDefault(version, new LongAdder()).sum();
        }
    }

    /** Calls the alias from four threads until the rollout leaves {@code running} (or the timeout passes). */
    private static Traffic drive(String alias, Duration timeout) throws Exception {
        Traffic traffic = new Traffic(new ConcurrentHashMap<>(), new ConcurrentHashMap<>());
        AtomicBoolean going = new AtomicBoolean(true);
        Map<String, Object> body = Map.of("model", "canaried:" + alias, "messages", List.of(Map.of("role", "user",
                "content", "Hello")), "max_tokens", 4);
        try (ExecutorService pool = Executors.newFixedThreadPool(4)) {
            List<Future<?>> workers = new ArrayList<>();
            for (int t = 0; t < 4; t++) {
                workers.add(pool.submit(() -> {
                    while (going.get()) {
                        Http.Reply reply = member.postJson("/v1/chat/completions", body);
                        String version = String.valueOf(reply.header("x-atrium-model-version"));
                        (reply.status() == 200 ? traffic.answered : traffic.failed)
                                .computeIfAbsent(version, v -> new LongAdder()).increment();
                    }
                    return null;
                }));
            }
            long deadline = System.nanoTime() + timeout.toNanos();
            while (System.nanoTime() < deadline && rollout(alias).path("state").asString().equals("running")) {
                Thread.sleep(100);
            }
            going.set(false);
            for (Future<?> worker : workers) {
                worker.get();
            }
        }
        return traffic;
    }

    private static JsonNode rollout(String alias) {
        return admin.get("/admin/models/canaried/aliases/" + alias + "/rollout").json();
    }

    private static Http.Reply start(String alias, int version, Map<String, Object> plan) {
        Map<String, Object> body = new LinkedHashMap<>(plan);
        body.put("version", version);
        return admin.postJson("/admin/models/canaried/aliases/" + alias + "/rollout", body);
    }

    private static List<String> actions(JsonNode rollout) {
        List<String> actions = new ArrayList<>();
        rollout.path("steps").forEach(step -> actions.add(step.path("action").asString()));
        return actions;
    }

    private static long audited(String action, String alias) {
        JsonNode events = admin.get("/admin/audit?action=" + action + "&limit=100").json().path("data");
        long count = 0;
        for (JsonNode event : events) {
            count += event.path("target").asString().startsWith("canaried:" + alias)
                    && event.path("outcome").asString().equals("ok") ? 1 : 0;
        }
        return count;
    }

    @Test
    void aCanaryFailingOneInFive_isRolledBackWithinItsWindow_withNoFailureOnTheBaseline() throws Exception {
        assertThat(admin.putJson("/admin/models/canaried/aliases/errors", Map.of("version", 1)).status())
                .isEqualTo(200);
        Http.Reply started = start("errors", 2, Map.of("steps", List.of(20, 50, 100), "interval", "2s",
                "window", "3s", "thresholds", Map.of("min_calls", 20, "max_error_rate_increase", 0.05)));
        assertThat(started.status()).as(started.text()).isEqualTo(201);
        assertThat(started.json().path("weight").asInt()).isEqualTo(20);
        long startedAt = System.nanoTime();

        Traffic traffic = drive("errors", Duration.ofSeconds(30));
        double took = (System.nanoTime() - startedAt) / 1e9;

        JsonNode rollout = rollout("errors");
        System.out.printf("rollout of a failing canary: %s after %.1f s (%s); canary answered %d, failed %d;"
                + " baseline answered %d, failed %d%n", rollout.path("state").asString(), took,
                rollout.path("reason").asString(), traffic.answered("2"), traffic.failed("2"), traffic.answered("1"),
                traffic.failed("1"));
        assertThat(rollout.path("state").asString()).isEqualTo("rolled_back");
        assertThat(rollout.path("reason").asString()).contains("error rate");
        assertThat(took).as("rolled back within its 3 s window (and the checker's 1 s tick)").isLessThan(5.0);
        assertThat(traffic.failed("1")).as("failed requests on the baseline").isZero();
        assertThat(traffic.failed("2")).as("the canary did fail").isPositive();
        assertThat(traffic.failed.keySet()).containsOnly("2");
        assertThat(actions(rollout)).containsExactly("start", "rollback");
        JsonNode rollback = rollout.path("steps").get(1).path("detail");
        assertThat(rollback.path("canary").path("error_rate").asDouble()).isGreaterThan(0.05);
        assertThat(rollback.path("baseline").path("errors").asLong()).isZero();
        // the alias is the baseline's alone again, and the trail says who did what
        JsonNode model = admin.get("/admin/models/canaried").json();
        assertThat(model.path("aliases").path("errors").asInt()).isEqualTo(1);
        assertThat(model.path("splits").has("errors")).isFalse();
        assertThat(audited("rollout.start", "errors")).isEqualTo(1);
        assertThat(audited("rollout.rollback", "errors")).isEqualTo(1);
    }

    @Test
    void aCanaryFarSlowerThanItsBaseline_isRolledBackOnItsP99() throws Exception {
        assertThat(admin.putJson("/admin/models/canaried/aliases/latency", Map.of("version", 1)).status())
                .isEqualTo(200);
        Http.Reply started = start("latency", 4, Map.of("steps", List.of(50, 100), "interval", "10s",
                "window", "5s", "thresholds", Map.of("min_calls", 10, "max_p99_ratio", 2.0, "p99_slack", "50ms")));
        assertThat(started.status()).as(started.text()).isEqualTo(201);

        Traffic traffic = drive("latency", Duration.ofSeconds(30));

        JsonNode rollout = rollout("latency");
        assertThat(rollout.path("state").asString()).isEqualTo("rolled_back");
        assertThat(rollout.path("reason").asString()).contains("p99");
        assertThat(traffic.failed.values().stream().mapToLong(LongAdder::sum).sum()).isZero();
        assertThat(audited("rollout.rollback", "latency")).isEqualTo(1);
    }

    @Test
    void aHealthyCanary_isSteppedUpToOneHundredPercent_andPromoted() throws Exception {
        assertThat(admin.putJson("/admin/models/canaried/aliases/healthy", Map.of("version", 1)).status())
                .isEqualTo(200);
        Http.Reply started = start("healthy", 3, Map.of("steps", List.of(10, 50, 100), "interval", "1s",
                "window", "2s", "thresholds", Map.of("min_calls", 10, "p99_slack", "1s")));
        assertThat(started.status()).as(started.text()).isEqualTo(201);

        Traffic traffic = drive("healthy", Duration.ofSeconds(40));

        JsonNode rollout = rollout("healthy");
        assertThat(rollout.path("state").asString()).as(rollout.toString()).isEqualTo("promoted");
        assertThat(actions(rollout)).containsExactly("start", "step", "promote");
        assertThat(rollout.path("steps").get(1).path("weight").asInt()).isEqualTo(50);
        assertThat(rollout.path("steps").get(1).path("detail").path("canary").path("calls").asLong())
                .isGreaterThanOrEqualTo(10);
        assertThat(traffic.failed.values().stream().mapToLong(LongAdder::sum).sum()).isZero();
        assertThat(traffic.answered("3")).isPositive();
        assertThat(admin.get("/admin/models/canaried").json().path("aliases").path("healthy").asInt()).isEqualTo(3);
        assertThat(audited("rollout.step", "healthy")).isEqualTo(1);
        assertThat(audited("rollout.promote", "healthy")).isEqualTo(1);
    }

    @Test
    void byHand_aRolloutIsPromotedOrAborted_andOnlyItMovesItsAlias() {
        assertThat(admin.putJson("/admin/models/canaried/aliases/manual", Map.of("version", 1)).status())
                .isEqualTo(200);
        Map<String, Object> plan = Map.of("steps", List.of(5, 100), "interval", "1h");
        assertThat(start("manual", 3, plan).status()).isEqualTo(201);
        assertThat(admin.get("/admin/models/canaried").json().path("splits").path("manual").path("split").path("3")
                .asInt()).isEqualTo(5);
        // one rollout per alias; nothing else moves the alias meanwhile
        assertThat(start("manual", 2, plan).status()).isEqualTo(409);
        assertThat(admin.putJson("/admin/models/canaried/aliases/manual", Map.of("version", 2)).status())
                .isEqualTo(409);
        assertThat(admin.delete("/admin/models/canaried/aliases/manual").status()).isEqualTo(409);
        JsonNode aborted = admin.postJson("/admin/models/canaried/aliases/manual/rollout/abort", Map.of()).json();
        assertThat(aborted.path("state").asString()).isEqualTo("aborted");
        assertThat(aborted.path("reason").asString()).contains("aborted by hand");
        assertThat(admin.get("/admin/models/canaried").json().path("aliases").path("manual").asInt()).isEqualTo(1);
        assertThat(admin.postJson("/admin/models/canaried/aliases/manual/rollout/abort", Map.of()).status())
                .isEqualTo(404);

        assertThat(start("manual", 3, plan).status()).isEqualTo(201);
        JsonNode promoted = admin.postJson("/admin/models/canaried/aliases/manual/rollout/promote", Map.of()).json();
        assertThat(promoted.path("state").asString()).isEqualTo("promoted");
        assertThat(actions(promoted)).containsExactly("start", "promote");
        // times as the rest of /admin gives them: ISO-8601 instants, in order
        java.time.Instant started = java.time.Instant.parse(promoted.path("started_at").asString());
        assertThat(java.time.Instant.parse(promoted.path("stepped_at").asString())).isAfterOrEqualTo(started);
        assertThat(java.time.Instant.parse(promoted.path("ended_at").asString())).isAfterOrEqualTo(started);
        for (JsonNode step : promoted.path("steps")) {
            assertThat(java.time.Instant.parse(step.path("at").asString())).isAfterOrEqualTo(started);
        }
        JsonNode model = admin.get("/admin/models/canaried").json();
        assertThat(model.path("aliases").path("manual").asInt()).isEqualTo(3);
        assertThat(model.path("splits").has("manual")).isFalse();
        assertThat(audited("rollout.abort", "manual")).isEqualTo(1);
        assertThat(audited("rollout.promote", "manual")).isEqualTo(1);
        assertThat(admin.putJson("/admin/models/canaried/aliases/manual", Map.of("version", 1)).status())
                .isEqualTo(200);
    }

    @Test
    void badRollouts_areRefusedWithTheirReason() {
        assertThat(admin.putJson("/admin/models/canaried/aliases/refusals", Map.of("version", 1)).status())
                .isEqualTo(200);
        assertThat(start("refusals", 1, Map.of()).status()).as("the baseline itself").isEqualTo(400);
        assertThat(start("refusals", 9, Map.of()).status()).isEqualTo(404);
        assertThat(start("nowhere", 2, Map.of()).status()).as("an alias that points nowhere").isEqualTo(404);
        assertThat(start("refusals", 2, Map.of("steps", List.of(50, 20, 100))).status()).isEqualTo(400);
        assertThat(start("refusals", 2, Map.of("steps", List.of(100))).status()).isEqualTo(400);
        assertThat(start("refusals", 2, Map.of("steps", List.of(10, 50))).status()).isEqualTo(400);
        assertThat(start("refusals", 2, Map.of("window", "1h")).status()).isEqualTo(400);
        assertThat(start("refusals", 2, Map.of("interval", "soon")).status()).isEqualTo(400);
        assertThat(start("refusals", 2, Map.of("thresholds", Map.of("max_p99_ratio", 0.5))).status()).isEqualTo(400);
        assertThat(start("refusals", 2, Map.of("thresholds", Map.of("sometimes", 1))).status()).isEqualTo(400);
        assertThat(start("refusals", 2, Map.of("when", "now")).status()).isEqualTo(400);
        assertThat(start("refusals", 2, Map.of("evaluation", Map.of("file", "file-x", "metric", "vibes")))
                .status()).isEqualTo(400);
        assertThat(admin.postJson("/admin/models/canaried/aliases/refusals/rollout", Map.of()).status())
                .as("no version").isEqualTo(400);
        assertThat(member.postJson("/admin/models/canaried/aliases/refusals/rollout", Map.of("version", 2)).status())
                .isEqualTo(403);
        assertThat(admin.putJson("/admin/models/canaried/aliases/refusals", Map.of("split", Map.of("1", 50, "2", 50)))
                .status()).isEqualTo(200);
        assertThat(start("refusals", 3, Map.of()).status()).as("an alias that splits already").isEqualTo(409);
        assertThat(admin.get("/admin/models/canaried/aliases/refusals/rollout").status()).isEqualTo(404);
        JsonNode error = start("refusals", 2, Map.of("steps", List.of(100))).json().path("error");
        assertThat(error.path("message").asString()).doesNotContain("Exception").doesNotContain("/");
    }
}
