package dev.atrium.registry;

import dev.atrium.AtriumException;
import dev.atrium.ErrorCode;
import dev.atrium.store.PrivateFiles;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Set;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Content-addressed files under {@code artifacts/sha256/xx/<sha256>} in the data directory. Uploads stream into
 * {@code staging/}, are hashed on the way, fsynced, and renamed into place only once validated; whatever is
 * left in staging by a crash is removed at the next start.
 */
public final class ArtifactStore {
    private static final Logger LOG = LoggerFactory.getLogger(ArtifactStore.class);
    private static final int BUFFER_SIZE = 1 << 16;

    private final Path root;
    private final Path staging;

    private ArtifactStore(Path root, Path staging) {
        this.root = root;
        this.staging = staging;
    }

    /** Opens the store in the data directory and empties its staging area. */
    public static ArtifactStore open(Path dataDir) {
        Path root = dataDir.resolve("artifacts").resolve("sha256");
        Path staging = dataDir.resolve("staging");
        try {
            PrivateFiles.createDirectories(dataDir.resolve("artifacts"));
            PrivateFiles.createDirectories(root);
            PrivateFiles.createDirectories(staging);
            try (Stream<Path> stale = Files.list(staging)) {
                for (Path file : stale.toList()) {
                    Files.deleteIfExists(file);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot open the artifact store in " + dataDir, e);
        }
        return new ArtifactStore(root, staging);
    }

    /**
     * Streams one upload into staging, hashing it.
     *
     * @throws AtriumException {@code PAYLOAD_TOO_LARGE} past {@code maxBytes}, {@code INVALID_REQUEST} when the
     *     stream breaks off; in both cases nothing is left behind
     */
    public StagedArtifact stage(InputStream in, long maxBytes) {
        Path file;
        try {
            file = Files.createTempFile(staging, "upload-", ".part");
        } catch (IOException e) {
            throw AtriumException.internal("cannot create a staging file", e);
        }
        try {
            MessageDigest digest = sha256();
            long size = 0;
            byte[] buffer = new byte[BUFFER_SIZE];
            try (FileChannel channel = FileChannel.open(file, StandardOpenOption.WRITE);
                    OutputStream out = java.nio.channels.Channels.newOutputStream(channel)) {
                int read;
                while ((read = in.read(buffer)) >= 0) {
                    size += read;
                    if (size > maxBytes) {
                        throw new AtriumException(ErrorCode.PAYLOAD_TOO_LARGE,
                                "the upload is larger than the limit of " + maxBytes + " bytes");
                    }
                    digest.update(buffer, 0, read);
                    out.write(buffer, 0, read);
                }
                out.flush();
                channel.force(true);
            }
            return new StagedArtifact(file, HexFormat.of().formatHex(digest.digest()), size);
        } catch (IOException e) {
            discard(file);
            throw new AtriumException(ErrorCode.INVALID_REQUEST, "the upload was cut off before it ended");
        } catch (RuntimeException e) {
            discard(file);
            throw e;
        }
    }

    /** Moves a validated staged file into the store; returns its path there. */
    public Path commit(StagedArtifact staged) {
        Path target = path(staged.sha256());
        try {
            PrivateFiles.createDirectories(target.getParent());
            if (Files.exists(target)) {
                Files.delete(staged.path());
                return target;
            }
            try {
                Files.move(staged.path(), target, StandardCopyOption.ATOMIC_MOVE);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(staged.path(), target);
            }
            syncDirectory(target.getParent());
            return target;
        } catch (IOException e) {
            throw AtriumException.internal("cannot store an artifact", e);
        }
    }

    /** Removes a staged file that will not be committed. */
    public void discard(Path staged) {
        try {
            Files.deleteIfExists(staged);
        } catch (IOException e) {
            LOG.warn("cannot remove staging file {}", staged.getFileName(), e);
        }
    }

    public Path path(String sha256) {
        return root.resolve(sha256.substring(0, 2)).resolve(sha256);
    }

    public boolean contains(String sha256) {
        return Files.isRegularFile(path(sha256));
    }

    /** Deletes every stored file whose hash is not in {@code referenced}; returns how many it deleted. */
    public int retainOnly(Set<String> referenced) {
        int deleted = 0;
        try (Stream<Path> files = Files.walk(root, 2)) {
            for (Path file : files.filter(Files::isRegularFile).toList()) {
                if (!referenced.contains(file.getFileName().toString())) {
                    try {
                        Files.delete(file);
                        deleted++;
                    } catch (NoSuchFileException e) {
                        // already gone
                    }
                }
            }
        } catch (IOException e) {
            LOG.warn("cannot sweep the artifact store", e);
        }
        return deleted;
    }

    public Path stagingDirectory() {
        return staging;
    }

    private static void syncDirectory(Path directory) {
        try (FileChannel channel = FileChannel.open(directory, StandardOpenOption.READ)) {
            channel.force(true);
        } catch (IOException e) {
            // some file systems cannot sync a directory; the rename is still in the journal
            LOG.debug("cannot fsync directory", e);
        }
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
