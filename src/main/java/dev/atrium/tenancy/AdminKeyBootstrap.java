package dev.atrium.tenancy;

import dev.atrium.audit.AuditEvent;
import dev.atrium.audit.AuditLog;
import dev.atrium.config.ServerConfig;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Clock;
import java.util.Optional;

/**
 * The platform admin key on first start: ATRIUM_ADMIN_KEY registers the secret it holds; otherwise, when the
 * store has no key at all, a new one is generated, printed once on the console, and written to {@code admin.key}
 * in the data directory (mode 0600) for the CLI to find.
 */
public final class AdminKeyBootstrap {
    public static final String FILE_NAME = "admin.key";

    private AdminKeyBootstrap() {}

    public static void run(Tenancy tenancy, AuditLog audit, Clock clock, ServerConfig config) {
        if (config.adminKey() != null) {
            tenancy.registerAdminSecret(config.adminKey(), "ATRIUM_ADMIN_KEY")
                    .ifPresent(key -> audit.record(event(clock, key, "ATRIUM_ADMIN_KEY")));
            return;
        }
        Optional<CreatedKey> created = tenancy.createFirstAdminKey();
        if (created.isEmpty()) {
            return;
        }
        Path file = config.dataDir().resolve(FILE_NAME);
        write(file, created.get().secret());
        audit.record(event(clock, created.get().key(), file.getFileName().toString()));
        // printed, not logged: shown once on the console of the first start, as the one place besides admin.key
        System.out.println("""

                Atrium created the platform admin key. It is shown this once and saved to %s (mode 0600):

                    %s

                """.formatted(file.toAbsolutePath(), created.get().secret()));
    }

    private static AuditEvent event(Clock clock, ApiKey key, String target) {
        return new AuditEvent(0, clock.instant(), null, null, null, "key.bootstrap", key.id() + " (" + target + ")",
                null, "ok", 201);
    }

    private static void write(Path file, String secret) {
        byte[] content = (secret + "\n").getBytes(StandardCharsets.UTF_8);
        try {
            Files.deleteIfExists(file);
            try {
                Files.createFile(file, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
            } catch (UnsupportedOperationException e) {
                Files.createFile(file);
            }
            Files.write(file, content, StandardOpenOption.TRUNCATE_EXISTING);
        } catch (FileAlreadyExistsException e) {
            throw new IllegalStateException("cannot create " + file, e);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the admin key to " + file, e);
        }
    }
}
