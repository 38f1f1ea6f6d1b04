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
    private final Path dataDir;
    private final Map<String, String> settings;
    private Atrium atrium;

    private TestServer(Path dataDir, Map<String, String> settings) {
        this.dataDir = dataDir;
        this.settings = settings;
    }

    public static TestServer start() {
        return start(Map.of());
    }

    /** @param settings server settings by flag name, over the defaults */
    public static TestServer start(Map<String, String> settings) {
        try {
            TestServer server = new TestServer(Files.createTempDirectory("atrium-test-"), new HashMap<>(settings));
            server.restart();
            return server;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
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
        ServerConfig config = ServerConfigLoader.load(flags, Map.of());
        atrium = Atrium.start(config);
    }

    public Atrium atrium() {
        return atrium;
    }

    public Path dataDir() {
        return dataDir;
    }

    public String baseUrl() {
        return "http://127.0.0.1:" + atrium.port();
    }

    public Http http() {
        return new Http(baseUrl());
    }

    @Override
    public void close() {
        if (atrium != null) {
            atrium.close();
            atrium = null;
        }
    }
}
