package dev.atrium.cli;

import dev.atrium.Atrium;
import dev.atrium.admin.BundleImport;
import dev.atrium.config.ServerConfig;
import dev.atrium.config.ServerConfigLoader;
import dev.atrium.registry.Bundle;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.PublicKey;
import java.util.Comparator;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code atrium run BUNDLE}: the edge mode. Serves one signed bundle offline over the same {@code /v1} and
 * {@code /v2} endpoints, after checking its signature and every file's hash (refusing to start otherwise). It keeps
 * nothing: its store and the bundle's files live in a directory of its own under the temporary directory, made at
 * start and deleted at exit; there are no tenants, and one key (given, or made at start and printed).
 */
@Command(name = "run",
        mixinStandardHelpOptions = true,
        description = {"Serve one signed model bundle (from 'atrium models export') offline, at the edge.",
                "Its signature and every file are checked first; a bundle that does not verify is refused."})
final class RunCommand implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "BUNDLE")
    Path bundle;

    @Option(names = "--public-key", paramLabel = "KEY|FILE", defaultValue = "${env:ATRIUM_BUNDLE_KEY}",
            description = "the server key the bundle must be signed by (base64, as GET /admin/signing-key gives it,"
                    + " or a file holding it; env ATRIUM_BUNDLE_KEY); without it, the key the bundle names")
    String publicKey;

    @Option(names = "--key", paramLabel = "KEY", defaultValue = "${env:ATRIUM_EDGE_KEY}",
            description = "the one API key callers send (atr-...; env ATRIUM_EDGE_KEY); without it one is made and"
                    + " printed")
    String key;

    @Option(names = "--port", paramLabel = "PORT", defaultValue = "8080", description = "HTTP port (default 8080)")
    int port;

    @Option(names = "--bind", paramLabel = "ADDRESS", defaultValue = "127.0.0.1",
            description = "address to bind (default 127.0.0.1)")
    String bind;

    @Option(names = "--llama-natives", paramLabel = "DIR", description = "llama.cpp's libraries, for a GGUF bundle")
    String llamaNatives;

    @Spec
    CommandSpec spec;

    /** A running edge server: the server, and the directory it keeps its state in. */
    record Edge(Atrium atrium, Bundle.Verified bundle, Path directory, long startMillis) implements AutoCloseable {
        @Override
        public void close() {
            try {
                atrium.close();
            } finally {
                deleteTree(directory);
            }
        }
    }

    @Override
    public Integer call() throws InterruptedException {
        PrintWriter out = spec.commandLine().getOut();
        Edge edge;
        try {
            edge = start(bundle, BundleCommand.pinnedKey(publicKey), key, port, bind, llamaNatives);
        } catch (Bundle.BundleException e) {
            spec.commandLine().getErr().println("atrium: bundle refused: " + e.getMessage());
            return 1;
        } catch (RuntimeException e) {
            spec.commandLine().getErr().println("atrium: cannot start: " + e.getMessage());
            return 2;
        }
        Runtime.getRuntime().addShutdownHook(Thread.ofPlatform().name("atrium-shutdown").unstarted(edge::close));
        out.printf("serving %s:%d (%s) on http://%s:%d, signed by key %s, started in %d ms%n", edge.bundle().model(),
                edge.bundle().version(), edge.bundle().manifest().path("task").asString(), bind,
                edge.atrium().port(), edge.bundle().keyId(), edge.startMillis());
        if (publicKey == null || publicKey.isBlank()) {
            spec.commandLine().getErr().println("atrium: warning: no --public-key: the bundle is whole, but who"
                    + " signed it was not checked");
        }
        out.flush();
        edge.atrium().awaitStop();
        return 0;
    }

    /**
     * Verifies the bundle into a new directory and serves it.
     *
     * @throws Bundle.BundleException when it does not verify (nothing is served, nothing left behind)
     */
    static Edge start(Path bundle, Optional<PublicKey> pinned, String key, int port, String bind,
            String llamaNatives) {
        long started = System.nanoTime();
        Path directory;
        try {
            directory = Files.createTempDirectory("atrium-edge-");
        } catch (IOException e) {
            throw new UncheckedIOException("cannot make a directory for the edge server", e);
        }
        try {
            Bundle.Verified verified = Bundle.verify(bundle, pinned, Optional.of(
                    Files.createDirectory(directory.resolve("bundle"))));
            Map<String, String> flags = new HashMap<>();
            flags.put("data-dir", directory.resolve("data").toString());
            flags.put("port", Integer.toString(port));
            flags.put("bind", bind);
            flags.put("preload", verified.model() + ":" + verified.version());
            if (llamaNatives != null) {
                flags.put("llama-natives", llamaNatives);
            }
            Map<String, String> environment = new HashMap<>(System.getenv());
            environment.remove("ATRIUM_CONFIG");
            environment.remove("ATRIUM_SECRETS_KEY");
            if (key != null && !key.isBlank()) {
                environment.put(ServerConfigLoader.ADMIN_KEY_ENVIRONMENT_VARIABLE, key.strip());
            } else {
                environment.remove(ServerConfigLoader.ADMIN_KEY_ENVIRONMENT_VARIABLE);
            }
            ServerConfig config = ServerConfigLoader.load(flags, environment);
            Atrium atrium = Atrium.start(config, Atrium::exitOnListenerFailure, registry ->
                    BundleImport.run(registry, verified));
            return new Edge(atrium, verified, directory, (System.nanoTime() - started) / 1_000_000);
        } catch (IOException e) {
            deleteTree(directory);
            throw new UncheckedIOException(e);
        } catch (RuntimeException e) {
            deleteTree(directory);
            throw e;
        }
    }

    static void deleteTree(Path directory) {
        if (!Files.exists(directory)) {
            return;
        }
        try (Stream<Path> paths = Files.walk(directory)) {
            paths.sorted(Comparator.reverseOrder()).forEach(path -> {
                try {
                    Files.deleteIfExists(path);
                } catch (IOException e) {
                    // left for the system's temporary directory cleaning
                }
            });
        } catch (IOException e) {
            // idem
        }
    }
}
