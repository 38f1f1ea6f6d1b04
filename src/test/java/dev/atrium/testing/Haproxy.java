package dev.atrium.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * A real haproxy (Debian's; {@code .ci/run} installs it) in front of replicas on loopback: round robin, health
 * checks on {@code /v2/health/ready}, connection failures retried on another replica, and its own 503 (when no
 * replica is ready) with {@code Retry-After}, as the deployment guide configures it.
 */
public final class Haproxy implements AutoCloseable {
    private static final Path BINARY = Path.of("/usr/sbin/haproxy");

    private final Process process;
    private final int port;
    private final Path directory;

    private Haproxy(Process process, int port, Path directory) {
        this.process = process;
        this.port = port;
        this.directory = directory;
    }

    /** Why haproxy cannot run here, if it cannot. */
    public static Optional<String> unavailableReason() {
        return Files.isExecutable(BINARY) ? Optional.empty()
                : Optional.of("haproxy is not installed (" + BINARY + "; .ci/run installs Debian's haproxy)");
    }

    public static Haproxy start(List<Integer> replicaPorts) {
        try {
            Path directory = TempDirectories.create("atrium-haproxy-");
            Files.writeString(directory.resolve("503.http"), "HTTP/1.1 503 Service Unavailable\r\n"
                    + "Content-Type: application/json\r\nRetry-After: 2\r\nCache-Control: no-cache\r\n"
                    + "Connection: close\r\n\r\n{\"error\":{\"message\":\"no replica is ready; retry shortly\","
                    + "\"type\":\"server_error\",\"param\":null,\"code\":\"service_unavailable\"}}\n");
            int port = freePort();
            StringBuilder config = new StringBuilder("""
                    global
                        maxconn 4096
                    defaults
                        mode http
                        timeout connect 1s
                        timeout client 120s
                        timeout server 120s
                        retries 3
                        option redispatch
                        retry-on conn-failure
                        errorfile 503 %s
                    frontend atrium
                        bind 127.0.0.1:%d
                        default_backend replicas
                    backend replicas
                        balance roundrobin
                        option httpchk
                        http-check send meth GET uri /v2/health/ready ver HTTP/1.1 hdr Host localhost
                        http-check expect status 200
                        # a replica slow to answer on a loaded machine is not down: 3 s per check, 3 misses
                        timeout check 3s
                        default-server inter 300ms fall 3 rise 1
                    """.formatted(directory.resolve("503.http"), port));
            for (int i = 0; i < replicaPorts.size(); i++) {
                config.append("    server replica").append(i + 1).append(" 127.0.0.1:").append(replicaPorts.get(i))
                        .append(" check\n");
            }
            Path file = directory.resolve("haproxy.cfg");
            Files.writeString(file, config);
            Process process = new ProcessBuilder(BINARY.toString(), "-db", "-f", file.toString())
                    .redirectErrorStream(true).redirectOutput(directory.resolve("log").toFile()).start();
            Haproxy haproxy = new Haproxy(process, port, directory);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (!haproxy.listening() || !haproxy.anyReplicaUp()) {
                if (!process.isAlive() || System.nanoTime() > deadline) {
                    throw new IllegalStateException("haproxy did not start: " + haproxy.log());
                }
                Thread.sleep(50);
            }
            return haproxy;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    private boolean listening() {
        try (java.net.Socket socket = new java.net.Socket("127.0.0.1", port)) {
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    /** Whether it forwards to a replica (its health checks found one ready) rather than answering 503 itself. */
    private boolean anyReplicaUp() {
        Http.Reply reply = new Http(baseUrl(), null).get("/v2/health/ready");
        return reply.status() == 200;
    }

    public String baseUrl() {
        return "http://127.0.0.1:" + port;
    }

    public String log() {
        try {
            return Files.readString(directory.resolve("log"));
        } catch (IOException e) {
            return "(no log: " + e.getMessage() + ")";
        }
    }

    public static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        }
    }

    @Override
    public void close() {
        process.destroy();
        try {
            process.waitFor(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        process.destroyForcibly();
    }
}
