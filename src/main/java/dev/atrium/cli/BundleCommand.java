package dev.atrium.cli;

import dev.atrium.registry.Bundle;
import dev.atrium.registry.SigningKey;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.PublicKey;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code atrium bundle ...}: signed bundles of model versions, checked offline. */
@Command(name = "bundle",
        mixinStandardHelpOptions = true,
        description = "Check a signed model bundle (made by 'atrium models export') offline.",
        subcommands = {BundleCommand.Verify.class})
final class BundleCommand implements Runnable {
    @Spec
    CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    /** The key a bundle must be signed by: {@code --public-key} (the key itself, or a file holding it). */
    static Optional<PublicKey> pinnedKey(String option) {
        if (option == null || option.isBlank()) {
            return Optional.empty();
        }
        String text = option.strip();
        Path file = Path.of(text.length() < 4096 && !text.contains("\n") ? text : ".");
        try {
            if (!text.startsWith("MC") && Files.isRegularFile(file)) {
                text = Files.readString(file).strip();
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the public key file " + file, e);
        }
        return Optional.of(SigningKey.publicKey(text));
    }

    @Command(name = "verify", mixinStandardHelpOptions = true,
            description = "Check a bundle's signature and every file's SHA-256 and size against its manifest; exit 1"
                    + " when anything differs.")
    static final class Verify implements Callable<Integer> {
        @Parameters(index = "0", paramLabel = "BUNDLE")
        Path bundle;

        @Option(names = "--public-key", paramLabel = "KEY|FILE", defaultValue = "${env:ATRIUM_BUNDLE_KEY}",
                description = "the server key the bundle must be signed by (base64, as GET /admin/signing-key gives"
                        + " it, or a file holding it; env ATRIUM_BUNDLE_KEY); without it, the key the manifest names")
        String publicKey;

        @Spec
        CommandSpec spec;

        @Override
        public Integer call() {
            PrintWriter out = spec.commandLine().getOut();
            try {
                Optional<PublicKey> pinned = pinnedKey(publicKey);
                Bundle.Verified verified = Bundle.verify(bundle, pinned, Optional.empty());
                out.printf("%s:%d (%s, engine %s): %d files verified, signed by key %s%s%n", verified.model(),
                        verified.version(), verified.manifest().path("task").asString(),
                        verified.manifest().path("engine").asString(), verified.files().size(), verified.keyId(),
                        pinned.isPresent() ? " (the trusted key)" : " (the key it names; pass --public-key to pin"
                                + " the server's)");
                return 0;
            } catch (Bundle.BundleException | IllegalArgumentException | UncheckedIOException e) {
                spec.commandLine().getErr().println("atrium: bundle refused: " + e.getMessage());
                return 1;
            }
        }
    }
}
