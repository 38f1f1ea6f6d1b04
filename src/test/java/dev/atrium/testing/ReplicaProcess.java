package dev.atrium.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * An Atrium server in a process of its own (this JVM's Java and class path), over a data directory of its own: a
 * replica that can be killed with SIGKILL. Its output goes to {@code replica.log} in its directory.
 */
public final class ReplicaProcess implements AutoCloseable {
    private final Process process;
    private final int port;
    private final Path directory;

    private ReplicaProcess(Process process, int port, Path directory) {
        this.process = process;
        this.port = port;
        this.directory = directory;
    }

    /** Starts a replica with settings by flag name and an environment; it is not yet ready (see {@link #awaitReady}). */
    public static ReplicaProcess start(Map<String, String> settings, Map<String, String> environment) {
        try {
            Path directory = TempDirectories.create("atrium-replica-");
            // its own temporary files too (ONNX Runtime unpacks its native library there), so that a replica
            // killed with SIGKILL leaves nothing behind once this directory is deleted
            Path temporary = Files.createDirectory(directory.resolve("tmp"));
            int port = Haproxy.freePort();
            List<String> command = new ArrayList<>(List.of(
                    Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                    "--enable-native-access=ALL-UNNAMED", "-Xmx768m", "-XX:+UseSerialGC",
                    "-Djava.io.tmpdir=" + temporary,
                    "-cp", System.getProperty("java.class.path"), "dev.atrium.Atrium", "serve",
                    "--port", Integer.toString(port), "--data-dir", directory.resolve("data").toString()));
            settings.forEach((flag, value) -> {
                command.add("--" + flag);
                command.add(value);
            });
            ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true)
                    .redirectOutput(directory.resolve("replica.log").toFile());
            builder.environment().putAll(environment);
            return new ReplicaProcess(builder.start(), port, directory);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Waits until {@code /v2/health/ready} answers 200. */
    public ReplicaProcess awaitReady(Duration limit) {
        HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(1)).build();
        long deadline = System.nanoTime() + limit.toNanos();
        while (System.nanoTime() < deadline) {
            if (!process.isAlive()) {
                throw new IllegalStateException("the replica exited: " + log());
            }
            try {
                HttpResponse<Void> ready = client.send(HttpRequest.newBuilder(URI.create(baseUrl()
                        + "/v2/health/ready")).timeout(Duration.ofSeconds(2)).build(), HttpResponse.BodyHandlers.discarding());
                if (ready.statusCode() == 200) {
                    return this;
                }
            } catch (IOException e) {
                // not listening yet
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            }
            try {
                Thread.sleep(200);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            }
        }
        throw new IllegalStateException("the replica was not ready within " + limit + ": " + log());
    }

    public int port() {
        return port;
    }

    public String baseUrl() {
        return "http://127.0.0.1:" + port;
    }

    /** SIGKILL: no drain, no shutdown hook. */
    public void kill() {
        process.destroyForcibly();
        try {
            process.waitFor(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    public boolean isAlive() {
        return process.isAlive();
    }

    public String log() {
        try {
            String log = Files.readString(directory.resolve("replica.log"));
            return log.length() > 4000 ? log.substring(log.length() - 4000) : log;
        } catch (IOException e) {
            return "(no log: " + e.getMessage() + ")";
        }
    }

    /** SIGTERM, then SIGKILL if it has not stopped within 15 seconds; then its directory is deleted. */
    @Override
    public void close() {
        process.destroy();
        try {
            if (!process.waitFor(15, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                process.waitFor(10, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            process.destroyForcibly();
        }
        TempDirectories.delete(directory);
    }
}
