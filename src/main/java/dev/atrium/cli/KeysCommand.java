package dev.atrium.cli;

import java.io.PrintWriter;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import tools.jackson.databind.JsonNode;

/** {@code atrium keys ...}: API keys of a running server. */
@Command(name = "keys",
        mixinStandardHelpOptions = true,
        description = "Manage API keys (platform admin, or a tenant owner for its tenant).",
        subcommands = {KeysCommand.Create.class, KeysCommand.List.class, KeysCommand.Show.class,
                KeysCommand.Revoke.class})
final class KeysCommand implements Runnable {
    @Spec
    CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    @Command(name = "create", mixinStandardHelpOptions = true,
            description = "Create a key; its secret is printed this once.")
    static final class Create extends ServerCommand {
        @Option(names = "--tenant", paramLabel = "TENANT", description = "tenant id or name (not for admin keys)")
        String tenant;

        @Option(names = "--role", paramLabel = "ROLE", defaultValue = "member",
                description = "admin, owner, member or reader (default ${DEFAULT-VALUE})")
        String role;

        @Option(names = "--name", paramLabel = "NAME", description = "a name to tell the key apart")
        String name;

        @Option(names = "--models", paramLabel = "PATTERNS",
                description = "comma-separated model names or glob patterns the key may use, e.g. 'all-minilm-*'")
        String models;

        @Option(names = "--rpm", paramLabel = "N", description = "requests per minute")
        Integer rpm;

        @Option(names = "--tpm", paramLabel = "N", description = "tokens per minute")
        Integer tpm;

        @Option(names = "--max-concurrent", paramLabel = "N", description = "requests at once")
        Integer maxConcurrent;

        @Option(names = "--expires", paramLabel = "WHEN",
                description = "an instant (2027-01-31T00:00:00Z) or a duration from now (30d, 12h)")
        String expires;

        @Override
        void run(AtriumClient client, PrintWriter out) {
            Map<String, Object> body = new LinkedHashMap<>();
            body.put("tenant", tenant);
            body.put("role", role);
            body.put("name", name);
            if (models != null) {
                body.put("models", Arrays.stream(models.split(",")).map(String::strip).filter(m -> !m.isEmpty()).toList());
            }
            body.put("rpm", rpm);
            body.put("tpm", tpm);
            body.put("max_concurrent", maxConcurrent);
            body.put("expires_at", expires == null ? null : expiry(expires).toString());
            JsonNode key = client.postJson("/admin/keys", body).body();
            out.printf("created %s key %s (%s) for %s; its secret, shown this once:%n%s%n", key.path("role").asString(),
                    key.path("id").asString(), key.path("prefix").asString(),
                    key.path("tenant").isNull() ? "the platform" : "tenant " + key.path("tenant").asString(),
                    key.path("key").asString());
        }

        private static Instant expiry(String text) {
            try {
                return Instant.parse(text);
            } catch (DateTimeParseException e) {
                String unit = text.substring(text.length() - 1);
                long amount;
                try {
                    amount = Long.parseLong(text.substring(0, text.length() - 1));
                } catch (NumberFormatException | StringIndexOutOfBoundsException notNumber) {
                    throw new AtriumClient.ClientException("--expires takes an instant or a duration like 30d or 12h");
                }
                Duration duration = switch (unit) {
                    case "d" -> Duration.ofDays(amount);
                    case "h" -> Duration.ofHours(amount);
                    case "m" -> Duration.ofMinutes(amount);
                    default -> throw new AtriumClient.ClientException("--expires takes an instant or a duration like 30d or 12h");
                };
                return Instant.now().plus(duration);
            }
        }
    }

    @Command(name = "ls", mixinStandardHelpOptions = true, description = "List keys.")
    static final class List extends ServerCommand {
        @Option(names = "--tenant", paramLabel = "TENANT", description = "only this tenant's keys (id or name)")
        String tenant;

        @Override
        void run(AtriumClient client, PrintWriter out) {
            String path = tenant == null ? "/admin/keys" : "/admin/keys?tenant=" + java.net.URLEncoder.encode(tenant,
                    java.nio.charset.StandardCharsets.UTF_8);
            out.printf("%-28s %-14s %-8s %-28s %-24s %s%n", "ID", "PREFIX", "ROLE", "TENANT", "NAME", "STATE");
            for (JsonNode key : client.get(path).body().path("keys")) {
                out.printf("%-28s %-14s %-8s %-28s %-24s %s%n", key.path("id").asString(), key.path("prefix").asString(),
                        key.path("role").asString(), TenantsCommand.text(key.path("tenant")), key.path("name").asString(),
                        key.path("revoked").asBoolean() ? "revoked" : "active");
            }
        }
    }

    @Command(name = "show", mixinStandardHelpOptions = true, description = "Show a key (never its secret).")
    static final class Show extends ServerCommand {
        @Parameters(index = "0", paramLabel = "ID")
        String id;

        @Override
        void run(AtriumClient client, PrintWriter out) {
            out.println(AtriumClient.pretty(client.get("/admin/keys/" + id).body()));
        }
    }

    @Command(name = "revoke", mixinStandardHelpOptions = true, description = "Revoke a key, at once.")
    static final class Revoke extends ServerCommand {
        @Parameters(index = "0", paramLabel = "ID")
        String id;

        @Override
        void run(AtriumClient client, PrintWriter out) {
            client.delete("/admin/keys/" + id);
            out.println("revoked key " + id);
        }
    }
}
