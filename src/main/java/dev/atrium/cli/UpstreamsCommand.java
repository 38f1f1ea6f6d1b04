package dev.atrium.cli;

import java.io.PrintWriter;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import tools.jackson.databind.JsonNode;

/** {@code atrium upstreams ...}: the hosts remote models may point at (changed by the platform admin only). */
@Command(name = "upstreams",
        mixinStandardHelpOptions = true,
        description = "Manage the upstream hosts remote models may call (platform admin).",
        subcommands = {UpstreamsCommand.Add.class, UpstreamsCommand.List.class, UpstreamsCommand.Remove.class})
final class UpstreamsCommand implements Runnable {
    @Spec
    CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    @Command(name = "add", mixinStandardHelpOptions = true, description = "Allow a host (HOST or HOST:PORT).")
    static final class Add extends ServerCommand {
        @Parameters(index = "0", paramLabel = "HOST[:PORT]")
        String host;

        @Override
        void run(AtriumClient client, PrintWriter out) {
            JsonNode added = client.postJson("/admin/upstreams", Map.of("host", host)).body();
            out.println("allowed " + added.path("host").asString());
        }
    }

    @Command(name = "ls", mixinStandardHelpOptions = true, description = "List the allowed hosts.")
    static final class List extends ServerCommand {
        @Override
        void run(AtriumClient client, PrintWriter out) {
            out.printf("%-40s %s%n", "HOST", "ADDED");
            for (JsonNode host : client.get("/admin/upstreams").body().path("data")) {
                out.printf("%-40s %s%n", host.path("host").asString(), host.path("created_at").asString());
            }
        }
    }

    @Command(name = "rm", mixinStandardHelpOptions = true,
            description = "Disallow a host; models pointing at it are refused until it is allowed again.")
    static final class Remove extends ServerCommand {
        @Parameters(index = "0", paramLabel = "HOST[:PORT]")
        String host;

        @Override
        void run(AtriumClient client, PrintWriter out) {
            client.delete("/admin/upstreams/" + host);
            out.println("disallowed " + host);
        }
    }
}
