package dev.atrium.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;

/**
 * A real, throwaway PostgreSQL cluster for tests: {@code initdb} into a temporary directory and {@code pg_ctl} on a
 * free loopback port, with a password (SCRAM) for the user {@code atrium}. As root it runs as the {@code postgres}
 * user (PostgreSQL refuses to run as root). The binaries are Debian's ({@code /usr/lib/postgresql/N/bin}, the
 * newest N), installed by {@code .ci/run}; where they are missing, {@link #shared()} says why, for the test to
 * skip with that reason.
 *
 * <p>One cluster is shared by the tests of a JVM ({@link #shared()}), each test making a database of its own;
 * tests that stop the server start a cluster of their own ({@link #start()}).
 */
public final class PostgresServer implements AutoCloseable {
    public static final String USER = "atrium";
    private static final AtomicInteger DATABASES = new AtomicInteger();
    private static PostgresServer shared;
    private static String unavailable;

    private final Path bin;
    private final Path directory;
    private final Path data;
    private final int port;
    private final String password;
    private final boolean asPostgres;

    private PostgresServer(Path bin, Path directory, int port, String password, boolean asPostgres) {
        this.bin = bin;
        this.directory = directory;
        this.data = directory.resolve("data");
        this.port = port;
        this.password = password;
        this.asPostgres = asPostgres;
    }

    /** The JVM's shared cluster, started on first use; empty with {@link #unavailableReason()} when it cannot. */
    public static synchronized Optional<PostgresServer> shared() {
        if (shared == null && unavailable == null) {
            Optional<Path> bin = binaries();
            if (bin.isEmpty()) {
                unavailable = "PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb; .ci/run installs it)";
            } else {
                try {
                    shared = start();
                    PostgresServer server = shared;
                    Runtime.getRuntime().addShutdownHook(new Thread(server::close));
                } catch (RuntimeException e) {
                    unavailable = "PostgreSQL did not start: " + e.getMessage();
                }
            }
        }
        return Optional.ofNullable(shared);
    }

    public static synchronized String unavailableReason() {
        return unavailable;
    }

    /** Starts a cluster of its own (stop it with {@link #close()}). */
    public static PostgresServer start() {
        Path bin = binaries().orElseThrow(() -> new IllegalStateException("PostgreSQL is not installed"));
        boolean root = "root".equals(System.getProperty("user.name"));
        try {
            Path directory = Files.createTempDirectory("atrium-pg-");
            String password = UUID.randomUUID().toString();
            Files.writeString(directory.resolve("password"), password);
            Files.createDirectories(directory.resolve("socket"));
            PostgresServer server = new PostgresServer(bin, directory, freePort(), password, root);
            if (root) {
                server.run(List.of("chown", "-R", "postgres:postgres", directory.toString()), false);
            }
            server.run(List.of(bin.resolve("initdb").toString(), "-D", server.data.toString(), "-U", USER,
                    "--pwfile=" + directory.resolve("password"), "--auth=scram-sha-256", "-E", "UTF8", "--no-locale",
                    "--no-sync"), true);
            server.startServer();
            return server;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Starts this cluster's server again after {@link #stopServer()}. */
    public void startServer() {
        run(List.of(bin.resolve("pg_ctl").toString(), "-D", data.toString(), "-l", directory.resolve("log").toString(),
                "-w", "-t", "60", "-o", "-p " + port + " -k " + directory.resolve("socket")
                        + " -c listen_addresses=127.0.0.1 -c max_connections=300 -c fsync=on", "start"), true);
    }

    /** Stops the server (fast shutdown: connections are cut), keeping its data. */
    public void stopServer() {
        run(List.of(bin.resolve("pg_ctl").toString(), "-D", data.toString(), "-m", "fast", "-w", "stop"), true);
    }

    public int port() {
        return port;
    }

    public String password() {
        return password;
    }

    /** The environment a server needs for this cluster's password. */
    public Map<String, String> environment() {
        return Map.of("ATRIUM_STORE_PASSWORD", password);
    }

    /** Makes a new, empty database and returns its {@code store} setting. */
    public String newDatabase() {
        String name = "atrium_test_" + DATABASES.incrementAndGet();
        try (Connection connection = DriverManager.getConnection(jdbcUrl("postgres"), USER, password);
                Statement statement = connection.createStatement()) {
            statement.execute("CREATE DATABASE " + name);
        } catch (SQLException e) {
            throw new IllegalStateException("cannot create database " + name, e);
        }
        return "postgresql://127.0.0.1:" + port + "/" + name + "?user=" + USER;
    }

    /**
     * The directories holding a database's rows on disk (its heap files and the cluster's write-ahead log), after
     * a checkpoint: what a test looks through for a secret that must never be stored.
     */
    public List<Path> filesOf(String store) {
        String database = store.substring(store.lastIndexOf('/') + 1, store.indexOf('?'));
        try (Connection connection = DriverManager.getConnection(jdbcUrl("postgres"), USER, password);
                Statement statement = connection.createStatement()) {
            statement.execute("CHECKPOINT");
            try (var rows = statement.executeQuery("SELECT oid FROM pg_database WHERE datname = '" + database + "'")) {
                rows.next();
                return List.of(data.resolve("base").resolve(rows.getString(1)), data.resolve("pg_wal"));
            }
        } catch (SQLException e) {
            throw new IllegalStateException("cannot find the files of " + database, e);
        }
    }

    public String jdbcUrl(String database) {
        return "jdbc:postgresql://127.0.0.1:" + port + "/" + database;
    }

    @Override
    public void close() {
        try {
            stopServer();
        } catch (RuntimeException e) {
            // already stopped
        }
        try (Stream<Path> files = Files.walk(directory)) {
            for (Path file : files.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(file);
            }
        } catch (IOException e) {
            // a temporary directory left behind
        }
    }

    private void run(List<String> command, boolean asServerUser) {
        List<String> line = new ArrayList<>();
        if (asServerUser && asPostgres) {
            line.addAll(List.of("runuser", "-u", "postgres", "--"));
        }
        line.addAll(command);
        try {
            Process process = new ProcessBuilder(line).redirectErrorStream(true)
                    .redirectOutput(directory.resolve("commands.log").toFile()).start();
            if (!process.waitFor(90, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                throw new IllegalStateException(command.getFirst() + " did not finish in 90 s");
            }
            if (process.exitValue() != 0) {
                throw new IllegalStateException(Path.of(command.getFirst()).getFileName() + " failed ("
                        + process.exitValue() + "): " + Files.readString(directory.resolve("commands.log")).strip());
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }

    private static Optional<Path> binaries() {
        Path root = Path.of("/usr/lib/postgresql");
        if (!Files.isDirectory(root)) {
            return Optional.empty();
        }
        try (Stream<Path> versions = Files.list(root)) {
            return versions.map(version -> version.resolve("bin"))
                    .filter(bin -> Files.isExecutable(bin.resolve("initdb")) && Files.isExecutable(bin.resolve("pg_ctl")))
                    .max(Comparator.comparingInt(bin -> version(bin.getParent().getFileName().toString())));
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    private static int version(String name) {
        return name.matches("[0-9]{1,4}") ? Integer.parseInt(name) : -1;
    }

    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        }
    }
}
