package dev.atrium;

import static org.assertj.core.api.Assertions.assertThat;

import dev.atrium.testing.Http;
import dev.atrium.testing.Tenants;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.JsonNode;

/**
 * A training job survives {@code kill -9}: the server (the packaged jar, a process of its own) is killed with SIGKILL
 * while a gradient-boosting job runs; started again on the same data directory, it queues the job again, goes on from
 * the round its saved state holds, and the version it publishes is byte for byte the one an uninterrupted run of the
 * same job makes.
 */
class TrainingCrashIT {
    @TempDir
    Path directory;

    private static String csv() {
        Random random = new Random(21);
        StringBuilder csv = new StringBuilder("x1,x2,colour,y\n");
        List<String> colours = List.of("red", "green", "blue");
        for (int i = 0; i < 4000; i++) {
            double x1 = random.nextDouble() * 6 - 3;
            double x2 = random.nextDouble() * 4 - 2;
            String colour = colours.get(random.nextInt(3));
            double y = 3 * Math.sin(x1) + x2 * x2 / 4 + (colour.equals("red") ? 2 : 0) + random.nextGaussian() * 0.5;
            csv.append(x1).append(',').append(x2).append(',').append(colour).append(',').append(y).append('\n');
        }
        return csv.toString();
    }

    /** Starts a job on a fresh tenant of the server; answers the job's id and the tenant member's key. */
    private static Map.Entry<String, String> startJob(Http admin) {
        Tenants tenants = new Tenants(admin);
        String secret = tenants.key(tenants.tenant("crash"), "member").secret();
        Http member = admin.withKey(secret);
        byte[] form = ("--" + Http.BOUNDARY + "\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\nfine-tune\r\n--"
                + Http.BOUNDARY + "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"rows.csv\"\r\n\r\n"
                + csv() + "\r\n--" + Http.BOUNDARY + "--\r\n").getBytes(StandardCharsets.UTF_8);
        Http.Reply file = member.post("/v1/files", "multipart/form-data; boundary=" + Http.BOUNDARY, form);
        assertThat(file.status()).as(file.text()).isEqualTo(200);
        Http.Reply job = member.postJson("/v1/fine_tuning/jobs", Map.of("model", "gradient-boosted-trees",
                "training_file", file.json().path("id").asString(), "suffix", "survivor",
                "method", Map.of("type", "tabular-regression"), "seed", 9,
                "hyperparameters", Map.of("target", "y", "n_rounds", 1500, "learning_rate", 0.01, "max_depth", 8)));
        assertThat(job.status()).as(job.text()).isEqualTo(200);
        return Map.entry(job.json().path("id").asString(), secret);
    }

    private static JsonNode awaitEnd(Http member, String id, Process server) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(5);
        while (System.nanoTime() < deadline) {
            assertThat(server.isAlive()).as("the server").isTrue();
            JsonNode job = member.get("/v1/fine_tuning/jobs/" + id).json();
            if (List.of("succeeded", "failed", "cancelled").contains(job.path("status").asString())) {
                return job;
            }
            Thread.sleep(200);
        }
        throw new AssertionError("job " + id + " did not end");
    }

    private static String artifact(Http member) {
        return member.get("/admin/models/survivor/versions/1").json().path("artifact").path("sha256").asString();
    }

    @Test
    void sigkillDuringAJob_theRestartedServerFinishesIt_withTheResultOfAnUninterruptedRun() throws Exception {
        // uninterrupted
        Path straight = directory.resolve("straight");
        int port = freePort();
        Process server = start(straight, port, directory.resolve("straight.log"));
        String expected;
        try {
            Http admin = awaitReady(port, straight, server);
            Map.Entry<String, String> job = startJob(admin);
            Http member = admin.withKey(job.getValue());
            JsonNode done = awaitEnd(member, job.getKey(), server);
            assertThat(done.path("status").asString()).as(done.toString()).isEqualTo("succeeded");
            expected = artifact(member);
        } finally {
            server.destroyForcibly().waitFor();
        }
        assertThat(expected).hasSize(64);

        // killed while running, then started again
        Path crashed = directory.resolve("crashed");
        port = freePort();
        server = start(crashed, port, directory.resolve("crashed-1.log"));
        Map.Entry<String, String> job;
        try {
            Http admin = awaitReady(port, crashed, server);
            job = startJob(admin);
            Http member = admin.withKey(job.getValue());
            long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(2);
            while (System.nanoTime() < deadline) {
                JsonNode events = member.get("/v1/fine_tuning/jobs/" + job.getKey() + "/events").json();
                if (events.toString().contains("Round 20:")) { // its state saved at round 10 at least
                    break;
                }
                Thread.sleep(20);
            }
            assertThat(member.get("/v1/fine_tuning/jobs/" + job.getKey()).json().path("status").asString())
                    .isEqualTo("running");
        } finally {
            server.destroyForcibly().waitFor(); // SIGKILL, mid-job
        }
        port = freePort();
        server = start(crashed, port, directory.resolve("crashed-2.log"));
        try {
            Http admin = awaitReady(port, crashed, server);
            Http member = admin.withKey(job.getValue());
            JsonNode done = awaitEnd(member, job.getKey(), server);
            assertThat(done.path("status").asString()).as(done.toString()).isEqualTo("succeeded");
            assertThat(artifact(member)).as("the model the restarted job made").isEqualTo(expected);
            // it went on from its saved state, not from the first round
            assertThat(member.get("/v1/fine_tuning/jobs/" + job.getKey() + "/events?limit=1000").text())
                    .containsPattern("Going on from round [1-9][0-9]*0, where the job was stopped");
        } finally {
            server.destroyForcibly().waitFor();
        }
    }

    private static Process start(Path data, int port, Path log) throws IOException {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        // its temporary files beside its log: a server killed with SIGKILL cannot delete what it unpacked there
        Path temporary = Files.createDirectories(log.resolveSibling("tmp"));
        return new ProcessBuilder(java, "--enable-native-access=ALL-UNNAMED", "-Djava.io.tmpdir=" + temporary,
                "-jar", "target/atrium.jar", "serve",
                "--port", Integer.toString(port), "--data-dir", data.toString(), "--preload", "none")
                .redirectErrorStream(true)
                .redirectOutput(log.toFile())
                .start();
    }

    private static Http awaitReady(int port, Path data, Process server) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(2);
        while (System.nanoTime() < deadline) {
            assertThat(server.isAlive()).isTrue();
            Path key = data.resolve("admin.key");
            if (Files.exists(key)) {
                Http http = new Http("http://127.0.0.1:" + port, Files.readString(key).strip());
                try {
                    if (http.get("/v2/health/ready").status() == 200) {
                        return http;
                    }
                } catch (RuntimeException e) {
                    // not listening yet
                }
            }
            Thread.sleep(100);
        }
        throw new AssertionError("the server did not become ready");
    }

    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        }
    }
}
