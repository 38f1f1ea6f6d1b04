package dev.atrium.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import tools.jackson.databind.JsonNode;

/** {@code atrium publishers ...}: the publisher keys uploads may be signed by (changed by the platform admin only). */
@Command(name = "publishers",
        mixinStandardHelpOptions = true,
        description = "Manage the publisher keys whose signatures model uploads may carry (platform admin).",
        subcommands = {PublishersCommand.Add.class, PublishersCommand.List.class, PublishersCommand.Remove.class})
final class PublishersCommand implements Runnable {
    @Spec
    CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    @Command(name = "add", mixinStandardHelpOptions = true, description = "Trust a publisher's Ed25519 public key.")
    static final class Add extends ServerCommand {
        @Parameters(index = "0", paramLabel = "NAME")
        String name;

        @Option(names = "--public-key", paramLabel = "KEY|FILE", required = true,
                description = "the public key, base64 of its X.509 encoding (as 'atrium models keygen' prints it), or"
                        + " the FILE.pub it writes")
        String publicKey;

        @Override
        void run(AtriumClient client, PrintWriter out) {
            String key = publicKey.strip();
            Path file = Path.of(key.length() < 4096 && !key.contains("\n") ? key : ".");
            if (!key.startsWith("MC") && Files.isRegularFile(file)) {
                try {
                    key = Files.readString(file).strip();
                } catch (IOException e) {
                    throw new AtriumClient.ClientException("cannot read " + file + ": " + e.getMessage());
                }
            }
            JsonNode added = client.postJson("/admin/publishers", Map.of("name", name, "public_key", key)).body();
            out.printf("trusted publisher %s (%s), key %s%n", added.path("name").asString(),
                    added.path("id").asString(), added.path("key_id").asString());
        }
    }

    @Command(name = "ls", mixinStandardHelpOptions = true, description = "List the publisher keys, revoked ones too.")
    static final class List extends ServerCommand {
        @Override
        void run(AtriumClient client, PrintWriter out) {
            out.printf("%-28s %-24s %-16s %s%n", "ID", "NAME", "KEY ID", "STATE");
            for (JsonNode publisher : client.get("/admin/publishers").body().path("data")) {
                out.printf("%-28s %-24s %-16s %s%n", publisher.path("id").asString(),
                        publisher.path("name").asString(), publisher.path("key_id").asString(),
                        publisher.path("revoked").asBoolean() ? "revoked " + publisher.path("revoked_at").asString()
                                : "trusted");
            }
        }
    }

    @Command(name = "rm", mixinStandardHelpOptions = true,
            description = "Revoke a publisher key: uploads signed by it are refused from now on; the versions it"
                    + " signed keep their record.")
    static final class Remove extends ServerCommand {
        @Parameters(index = "0", paramLabel = "ID")
        String id;

        @Override
        void run(AtriumClient client, PrintWriter out) {
            JsonNode revoked = client.delete("/admin/publishers/" + id).body();
            out.printf("revoked publisher %s, key %s%n", revoked.path("name").asString(),
                    revoked.path("key_id").asString());
        }
    }
}
