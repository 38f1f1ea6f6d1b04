package dev.atrium.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;

/**
 * Temporary directories that the suite does not leave behind: each is deleted when its owner is done with it
 * ({@link #delete}), and whatever is still there when the test JVM exits is deleted then. A whole run writes some
 * gigabytes of data directories (every server uploads a model); left in {@code /tmp}, a few runs fill the disk.
 */
public final class TempDirectories {
    private static final Set<Path> LIVE = ConcurrentHashMap.newKeySet();

    static {
        Runtime.getRuntime().addShutdownHook(Thread.ofPlatform().unstarted(() -> LIVE.forEach(TempDirectories::remove)));
    }

    private TempDirectories() {
    }

    /** A new empty directory under {@code java.io.tmpdir}, deleted at exit if not before. */
    public static Path create(String prefix) {
        try {
            Path directory = Files.createTempDirectory(prefix);
            LIVE.add(directory);
            return directory;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Deletes a directory and everything under it, now; a file that cannot be deleted is left (and reported). */
    public static void delete(Path directory) {
        remove(directory);
        LIVE.remove(directory);
    }

    private static void remove(Path directory) {
        if (!Files.exists(directory)) {
            return;
        }
        try (Stream<Path> files = Files.walk(directory)) {
            for (Path file : files.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(file);
            }
        } catch (IOException | UncheckedIOException e) {
            System.err.println("could not delete all of " + directory + ": " + e.getMessage());
        }
    }
}
