package dev.atrium.cli;

import dev.atrium.store.Database;
import dev.atrium.store.Dialect;
import dev.atrium.store.StoreLocation;
import dev.atrium.store.StoreMigration;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code atrium store}: works on a metadata store directly, with the server stopped. */
@Command(name = "store",
        mixinStandardHelpOptions = true,
        description = "Work on the metadata store directly (the server stopped).",
        subcommands = {StoreCommand.Migrate.class})
final class StoreCommand implements Runnable {
    @Spec
    CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    /**
     * {@code atrium store migrate}: copies a data directory's SQLite store into an empty PostgreSQL store (see
     * {@link StoreMigration}), prints each table's rows and checksum, and says what else the operator carries over.
     */
    @Command(name = "migrate",
            mixinStandardHelpOptions = true,
            description = {"Copy a data directory's SQLite store into an empty PostgreSQL store, in one transaction,"
                    + " verified (row counts and checksums) before it commits.",
                    "Stop the server first. The password comes from ATRIUM_STORE_PASSWORD.",
                    "Exit status: 0 copied (or nothing to copy), 1 refused or failed (the target keeps none of"
                            + " the copy)."})
    static final class Migrate implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Option(names = "--from", required = true, paramLabel = "DATA_DIR",
                description = "the data directory whose atrium.db is copied")
        Path from;

        @Option(names = "--to", required = true, paramLabel = "postgresql://HOST[:PORT]/DATABASE?user=USER",
                description = "the PostgreSQL store to copy into: migrated to its latest schema, and empty")
        String to;

        private final Map<String, String> environment;

        Migrate() {
            this(System.getenv());
        }

        /** @param environment where {@code ATRIUM_STORE_PASSWORD} is read */
        Migrate(Map<String, String> environment) {
            this.environment = Map.copyOf(environment);
        }

        @Override
        public Integer call() {
            PrintWriter out = spec.commandLine().getOut();
            PrintWriter err = spec.commandLine().getErr();
            StoreLocation target;
            try {
                target = StoreLocation.parse(to);
            } catch (IllegalArgumentException e) {
                throw new CommandLine.ParameterException(spec.commandLine(), "--to: " + e.getMessage());
            }
            if (target.dialect() != Dialect.POSTGRESQL) {
                throw new CommandLine.ParameterException(spec.commandLine(), "--to: expected postgresql://…");
            }
            String password = environment.get(Database.PASSWORD_ENVIRONMENT_VARIABLE);
            StoreMigration.Report report;
            try {
                report = StoreMigration.run(from, target, password, step -> {
                    out.println(step + " …");
                    out.flush();
                });
            } catch (RuntimeException e) {
                err.println("atrium: store migrate: " + withoutPassword(e.getMessage(), password));
                return 1;
            }
            if (report.nothingToCopy()) {
                out.println("nothing to copy: the store in " + from + " holds no rows; " + target + " was left as it"
                        + " was");
                return 0;
            }
            printSummary(out, report, target);
            printCarryOver(out, from, report);
            return 0;
        }

        private static void printSummary(PrintWriter out, StoreMigration.Report report, StoreLocation target) {
            out.println();
            out.printf("%-28s %10s  %s%n", "table", "rows", "checksum (SHA-256 per row, summed)");
            for (StoreMigration.CopiedTable table : report.copied()) {
                out.printf("%-28s %10d  %s  verified%n", table.table(), table.rows(), table.checksum());
            }
            for (StoreMigration.OtherTable table : report.others()) {
                out.printf("%-28s %10s  %s%n", table.table(), "-", table.note());
            }
            out.println();
            out.println("copied " + report.copied().size() + " tables (" + report.rows() + " rows) into " + target
                    + " in one transaction; every table's row count and checksum match the data directory's");
        }

        private static void printCarryOver(PrintWriter out, Path dataDir, StoreMigration.Report report) {
            Path secretsKey = dataDir.resolve("secrets.key");
            out.println();
            out.println("What is not in the store, and stays in " + dataDir + ":");
            out.println("  - artifacts/ (model files) and tenant-files/ (tenants' encrypted training files): start the"
                    + " server on the PostgreSQL store with --data-dir " + dataDir + ", which keeps them; with"
                    + " --artifact-store s3://..., that first server sends them to the bucket, for every replica");
            if (Files.isRegularFile(secretsKey)) {
                out.println("  - the secrets key, " + secretsKey + ": give every server on the PostgreSQL store this"
                        + " same key (--secrets-key-file " + secretsKey + ", or its content as ATRIUM_SECRETS_KEY);"
                        + " upstream API keys, tenants' data keys and the signing key in the store are sealed by it");
            } else {
                out.println("  - the secrets key: this data directory has no secrets.key, so its server was given"
                        + " ATRIUM_SECRETS_KEY or --secrets-key-file; give every server on the PostgreSQL store that"
                        + " same key, which seals upstream API keys, tenants' data keys and the signing key");
            }
            out.println(report.signingKeyCopied()
                    ? "  - the signing key was copied into the store (server_keys): bundles keep verifying against the"
                            + " same public key"
                    : "  - this data directory had no signing key: the store makes one when a bundle is first signed");
            if (Files.isRegularFile(dataDir.resolve("admin.key"))) {
                out.println("  - admin.key (the platform admin key, for the CLI) stays valid: its hash was copied");
            }
        }

        /** A message as it may be printed: the password never appears in it, whatever a library put there. */
        private static String withoutPassword(String message, String password) {
            String text = message == null ? "failed" : message;
            return password == null || password.isEmpty() ? text : text.replace(password, "********");
        }
    }
}
