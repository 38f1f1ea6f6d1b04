package dev.atrium.cli;

import java.io.PrintWriter;
import java.util.LinkedHashMap;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import tools.jackson.databind.JsonNode;

/** {@code atrium tenants ...}: tenants of a running server (platform admin only). */
@Command(name = "tenants",
        mixinStandardHelpOptions = true,
        description = "Manage tenants (platform admin).",
        subcommands = {TenantsCommand.Create.class, TenantsCommand.List.class, TenantsCommand.Remove.class})
final class TenantsCommand implements Runnable {
    @Spec
    CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    @Command(name = "create", mixinStandardHelpOptions = true, description = "Create a tenant.")
    static final class Create extends ServerCommand {
        @Parameters(index = "0", paramLabel = "NAME")
        String name;

        @Option(names = "--rpm", paramLabel = "N", description = "requests per minute for the whole tenant")
        Integer rpm;

        @Option(names = "--tpm", paramLabel = "N", description = "tokens per minute for the whole tenant")
        Integer tpm;

        @Option(names = "--max-concurrent", paramLabel = "N", description = "requests at once for the whole tenant")
        Integer maxConcurrent;

        @Option(names = "--require-signed-uploads",
                description = "uploads to the tenant's models must be signed by a trusted publisher")
        boolean requireSignedUploads;

        @Override
        void run(AtriumClient client, PrintWriter out) {
            Map<String, Object> body = new LinkedHashMap<>();
            body.put("name", name);
            body.put("rpm", rpm);
            body.put("tpm", tpm);
            body.put("max_concurrent", maxConcurrent);
            body.put("require_signed_uploads", requireSignedUploads);
            JsonNode tenant = client.postJson("/admin/tenants", body).body();
            out.printf("created tenant %s (%s)%n", tenant.path("name").asString(), tenant.path("id").asString());
        }
    }

    @Command(name = "ls", mixinStandardHelpOptions = true, description = "List tenants.")
    static final class List extends ServerCommand {
        @Override
        void run(AtriumClient client, PrintWriter out) {
            out.printf("%-28s %-32s %-8s %-10s %s%n", "ID", "NAME", "RPM", "TPM", "MAX CONCURRENT");
            for (JsonNode tenant : client.get("/admin/tenants").body().path("tenants")) {
                JsonNode limits = tenant.path("limits");
                out.printf("%-28s %-32s %-8s %-10s %s%n", tenant.path("id").asString(), tenant.path("name").asString(),
                        text(limits.path("rpm")), text(limits.path("tpm")), text(limits.path("max_concurrent")));
            }
        }
    }

    @Command(name = "rm", mixinStandardHelpOptions = true,
            description = "Delete a tenant: its private models are deleted and its keys revoked.")
    static final class Remove extends ServerCommand {
        @Parameters(index = "0", paramLabel = "ID")
        String id;

        @Override
        void run(AtriumClient client, PrintWriter out) {
            client.delete("/admin/tenants/" + id);
            out.println("deleted tenant " + id);
        }
    }

    static String text(JsonNode value) {
        return value.isMissingNode() || value.isNull() ? "-" : value.asString();
    }
}
