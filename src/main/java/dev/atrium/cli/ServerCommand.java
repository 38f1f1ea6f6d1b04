package dev.atrium.cli;

import dev.atrium.tenancy.AdminKeyBootstrap;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * A command that talks to a running server, with {@code --server} and {@code --key}; the server's refusal is
 * printed as one line on stderr and exit code 1.
 */
abstract class ServerCommand implements Callable<Integer> {

    /** Options every command that talks to the server takes. */
    static final class ServerOptions {
        @Option(names = "--server", paramLabel = "URL", defaultValue = "${env:ATRIUM_SERVER:-http://127.0.0.1:8080}",
                description = "server to talk to (env ATRIUM_SERVER, default ${DEFAULT-VALUE})")
        String server;

        @Option(names = "--key", paramLabel = "KEY", defaultValue = "${env:ATRIUM_API_KEY}",
                description = "API key (env ATRIUM_API_KEY; default: admin.key in the data directory,"
                        + " ATRIUM_DATA_DIR or ./atrium-data)")
        String key;
    }

    @CommandLine.Mixin
    ServerOptions options;

    @Spec
    CommandSpec spec;

    @Override
    public final Integer call() {
        try {
            run(new AtriumClient(options.server, key()), spec.commandLine().getOut());
            return 0;
        } catch (AtriumClient.ClientException e) {
            spec.commandLine().getErr().println("atrium: " + e.getMessage());
            return 1;
        }
    }

    abstract void run(AtriumClient client, PrintWriter out);

    /** The key to send: --key, ATRIUM_API_KEY, or the admin.key the server wrote into the local data directory. */
    private String key() {
        if (options.key != null && !options.key.isBlank()) {
            return options.key.strip();
        }
        String dataDir = System.getenv().getOrDefault("ATRIUM_DATA_DIR", "./atrium-data");
        Path file = Path.of(dataDir).resolve(AdminKeyBootstrap.FILE_NAME);
        try {
            return Files.isReadable(file) ? Files.readString(file, StandardCharsets.UTF_8).strip() : null;
        } catch (IOException e) {
            return null;
        }
    }
}
