package dev.atrium.store;

import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Files and directories of the data directory that only the server's own user may read: directories 0700,
 * files 0600, created so from the start (never widened, then narrowed) where the file system is POSIX; ones
 * left wider by an older version are narrowed. Elsewhere (Windows), the file system's defaults stand.
 */
public final class PrivateFiles {
    private static final Logger LOG = LoggerFactory.getLogger(PrivateFiles.class);
    public static final Set<PosixFilePermission> DIRECTORY = PosixFilePermissions.fromString("rwx------");
    public static final Set<PosixFilePermission> FILE = PosixFilePermissions.fromString("rw-------");

    private PrivateFiles() {}

    /** Creates {@code directory} and its missing parents 0700, and narrows {@code directory} itself to 0700. */
    public static Path createDirectories(Path directory) throws IOException {
        if (isPosix(directory)) {
            Files.createDirectories(directory, PosixFilePermissions.asFileAttribute(DIRECTORY));
            narrow(directory, DIRECTORY);
        } else {
            Files.createDirectories(directory);
        }
        return directory;
    }

    /** Creates {@code file}, empty, 0600 if it does not exist; narrows it to 0600 if it does. */
    public static Path createFile(Path file) throws IOException {
        boolean posix = isPosix(file.toAbsolutePath().getParent());
        try {
            FileAttribute<?>[] attributes = posix
                    ? new FileAttribute<?>[] {PosixFilePermissions.asFileAttribute(FILE)}
                    : new FileAttribute<?>[0];
            Files.createFile(file, attributes);
        } catch (FileAlreadyExistsException e) {
            if (posix) {
                narrow(file, FILE);
            }
        }
        return file;
    }

    /** Narrows {@code file} to 0600 if it exists. */
    public static void narrowIfPresent(Path file) throws IOException {
        if (Files.exists(file) && isPosix(file.toAbsolutePath().getParent())) {
            narrow(file, FILE);
        }
    }

    private static void narrow(Path path, Set<PosixFilePermission> permissions) throws IOException {
        if (!Files.getPosixFilePermissions(path).equals(permissions)) {
            LOG.info("narrowing the permissions of {} to {}", path, PosixFilePermissions.toString(permissions));
            Files.setPosixFilePermissions(path, permissions);
        }
    }

    private static boolean isPosix(Path near) {
        Path existing = near.toAbsolutePath();
        while (existing != null && !Files.exists(existing)) {
            existing = existing.getParent();
        }
        return existing != null && Files.getFileAttributeView(existing, PosixFileAttributeView.class) != null;
    }
}
