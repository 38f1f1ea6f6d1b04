package dev.atrium;

import static org.assertj.core.api.Assertions.assertThat;

import dev.atrium.testing.Http;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The README's quick start, for real: {@code ./atrium serve} from the repository root starts a server that
 * serves the bundled model, the CLI talks to it, and SIGTERM drains a request in flight before the process ends.
 */
class LauncherIT {
    @TempDir
    Path dataDir;

    @Test
    void atriumServe_servesTheBundledModel_andDrainsOnSigterm() throws Exception {
        int port = freePort();
        Path log = dataDir.resolve("server.log");
        Path data = dataDir.resolve("data");
        Process server = new ProcessBuilder("./atrium", "serve", "--port", Integer.toString(port),
                "--data-dir", data.toString(), "--drain-timeout", "30s")
                .redirectErrorStream(true)
                .redirectOutput(log.toFile())
                .start();
        try {
            awaitReady(new Http("http://127.0.0.1:" + port, null), server, log);
            // the launcher recorded the JVM's AOT cache for this build (a training run, once per build) and reads it
            Path cache = Path.of("target", "atrium.aot");
            assertThat(cache).as(() -> read(log)).isRegularFile();
            assertThat(Files.getLastModifiedTime(cache)).isGreaterThan(
                    Files.getLastModifiedTime(Path.of("target", "atrium.jar")));
            assertThat(Files.readString(log)).doesNotContain("training run failed");
            // the first start made the platform admin key, printed it once, and saved it for the CLI
            String adminKey = Files.readString(data.resolve("admin.key")).strip();
            assertThat(Files.getPosixFilePermissions(data.resolve("admin.key")))
                    .containsExactlyInAnyOrder(java.nio.file.attribute.PosixFilePermission.OWNER_READ,
                            java.nio.file.attribute.PosixFilePermission.OWNER_WRITE);
            assertThat(Files.readString(log)).contains(adminKey);
            Http http = new Http("http://127.0.0.1:" + port, adminKey);
            assertThat(http.withKey(null).get("/v1/models").status()).isEqualTo(401);

            Http.Reply models = http.get("/v1/models");
            assertThat(models.json().path("data").get(0).path("id").asString()).isEqualTo("all-minilm-l6-v2");
            Http.Reply embedding = http.postJson("/v1/embeddings", Map.of("model", "all-minilm-l6-v2", "input", "hello"));
            assertThat(embedding.status()).isEqualTo(200);

            ProcessBuilder cliBuilder = new ProcessBuilder("./atrium", "models", "ls", "--server", "http://127.0.0.1:" + port)
                    .redirectErrorStream(true);
            cliBuilder.environment().put("ATRIUM_DATA_DIR", data.toString());
            cliBuilder.environment().remove("ATRIUM_API_KEY");
            Process cli = cliBuilder.start();
            String listing = new String(cli.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertThat(cli.waitFor(60, TimeUnit.SECONDS)).isTrue();
            assertThat(cli.exitValue()).as(listing).isZero();
            assertThat(listing).contains("all-minilm-l6-v2");

            List<String> paragraphs = new ArrayList<>();
            for (int i = 0; i < 400; i++) {
                paragraphs.add(("Paragraph " + i + " is here to keep the server busy while it is asked to stop. ").repeat(5));
            }
            CompletableFuture<Http.Reply> slow = CompletableFuture.supplyAsync(() -> http.postJson("/v1/embeddings",
                    Map.of("model", "all-minilm-l6-v2", "input", paragraphs)));
            Thread.sleep(500);
            assertThat(slow).isNotDone();
            server.destroy(); // SIGTERM

            Http.Reply finished = slow.get(60, TimeUnit.SECONDS);
            assertThat(finished.status()).as(finished.toString()).isEqualTo(200);
            assertThat(finished.json().path("data").size()).isEqualTo(400);
            assertThat(server.waitFor(60, TimeUnit.SECONDS)).isTrue();
            assertThat(Files.readString(log)).contains("draining 1 requests in flight").contains("Atrium stopped");
        } finally {
            server.destroyForcibly();
        }
    }

    private static void awaitReady(Http http, Process server, Path log) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(3);
        while (System.nanoTime() < deadline) {
            assertThat(server.isAlive()).as(() -> read(log)).isTrue();
            try {
                if (http.get("/v2/health/ready").status() == 200) {
                    return;
                }
            } catch (RuntimeException e) {
                // not listening yet
            }
            Thread.sleep(200);
        }
        throw new AssertionError("the server did not become ready: " + read(log));
    }

    private static String read(Path log) {
        try {
            return Files.readString(log);
        } catch (IOException e) {
            return e.toString();
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        }
    }
}
