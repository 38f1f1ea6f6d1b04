package dev.atrium.testing;

import dev.atrium.Atrium;
import dev.atrium.config.ServerConfig;
import dev.atrium.config.ServerConfigLoader;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/** A real Atrium server on a free port over a temporary data directory, for end-to-end tests. */
public final class TestServer implements AutoCloseable {
    /** Under atrium.test.store=postgresql: each data directory's database, so that nodes over one share it. */
    private static final Map<Path, String> POSTGRES_DATABASES = new java.util.concurrent.ConcurrentHashMap<>();
    private final Path dataDir;
    private final Map<String, String> settings;
    private final Map<String, String> environment;
    /** Whether the data directory is this server's own, made for it and deleted when it is closed. */
    private final boolean ownsDataDir;
    private Atrium atrium;

    private TestServer(Path dataDir, Map<String, String> settings, Map<String, String> environment,
            boolean ownsDataDir) {
        this.dataDir = dataDir;
        this.settings = settings;
        this.environment = environment;
        this.ownsDataDir = ownsDataDir;
    }

    public static TestServer start() {
        return start(Map.of());
    }

    /**
     * A server over a new data directory of its own, deleted when the server is closed.
     *
     * @param settings server settings by flag name, over the defaults
     */
    public static TestServer start(Map<String, String> settings) {
        return start(TempDirectories.create("atrium-test-"), settings, Map.of(), true);
    }

    /**
     * A server over a given data directory (another node sharing the store, say), with an environment. With the
     * system property {@code atrium.test.store=postgresql}, a server given no {@code store} gets a new database in
     * the shared {@link PostgresServer} (so that the whole suite can be run on PostgreSQL). The directory stays
     * when the server is closed: it is the caller's.
     */
    public static TestServer start(Path dataDir, Map<String, String> settings, Map<String, String> environment) {
        return start(dataDir, settings, environment, false);
    }

    private static TestServer start(Path dataDir, Map<String, String> settings, Map<String, String> environment,
            boolean ownsDataDir) {
        Map<String, String> flags = new HashMap<>(settings);
        Map<String, String> env = new HashMap<>(environment);
        if (!flags.containsKey("store") && "postgresql".equals(System.getProperty("atrium.test.store"))) {
            PostgresServer postgres = Stores.postgres(); // or the test skipped, saying why
            flags.put("store", POSTGRES_DATABASES.computeIfAbsent(dataDir.toAbsolutePath(),
                    dir -> postgres.newDatabase()));
            env.putAll(postgres.environment());
        }
        TestServer server = new TestServer(dataDir, flags, Map.copyOf(env), ownsDataDir);
        server.restart();
        return server;
    }

    /** Stops the server if running and starts a new one on the same data directory. */
    public void restart() {
        if (atrium != null) {
            atrium.close();
        }
        Map<String, String> flags = new HashMap<>(settings);
        flags.put("data-dir", dataDir.toString());
        flags.putIfAbsent("port", "0");
        flags.putIfAbsent("drain-timeout", "10s");
        ServerConfig config = ServerConfigLoader.load(flags, environment);
        atrium = Atrium.start(config);
    }

    public Atrium atrium() {
        return atrium;
    }

    public Path dataDir() {
        return dataDir;
    }

    /** Every directory where this server's store keeps data: its data directory, and its PostgreSQL database's. */
    public java.util.List<Path> storeFiles() {
        String store = settings.get("store");
        if (store == null || !store.startsWith("postgresql:")) {
            return java.util.List.of(dataDir);
        }
        java.util.List<Path> all = new java.util.ArrayList<>(java.util.List.of(dataDir));
        all.addAll(PostgresServer.shared().orElseThrow().filesOf(store));
        return all;
    }

    public String baseUrl() {
        return "http://127.0.0.1:" + atrium.port();
    }

    /** A client that sends the platform admin key. */
    public Http http() {
        return new Http(baseUrl(), adminKey());
    }

    /** The platform admin key the server wrote on its first start. */
    public String adminKey() {
        try {
            return Files.readString(dataDir.resolve("admin.key")).strip();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Stops the server; a data directory made for it is deleted. */
    @Override
    public void close() {
        if (atrium != null) {
            atrium.close();
            atrium = null;
        }
        if (ownsDataDir) {
            TempDirectories.delete(dataDir);
        }
    }
}
