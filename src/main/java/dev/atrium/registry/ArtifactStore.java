package dev.atrium.registry;

import static java.util.Objects.requireNonNull;

import dev.atrium.AtriumException;
import dev.atrium.ErrorCode;
import dev.atrium.store.ObjectStore;
import dev.atrium.store.ObjectStoreException;
import dev.atrium.store.PrivateFiles;
import dev.atrium.store.StoreUnavailable;
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
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Content-addressed files under {@code artifacts/sha256/xx/<sha256>} in the data directory, optionally in front
 * of a remote {@link ObjectStore} that every replica shares (the {@code artifact-store} setting: {@code local}
 * has none, {@code s3://...} is a bucket). Uploads stream into {@code staging/}, are hashed on the way, fsynced,
 * and renamed into place only once validated; whatever is left in staging by a crash is removed at the next start.
 *
 * <p>With a remote store the local directory is this replica's cache of it, and the remote is the truth:
 * <ul>
 *   <li>{@link #commit} uploads the file as {@code sha256/<hash>} (under the store's prefix) before it returns, so
 *       the caller writes the version row only once every replica can fetch its files. An object already there is
 *       not sent again, unless it is old enough that a sweep could be about to delete it (see below).
 *   <li>{@link #path} of a hash missing from the cache downloads it into staging, checks its sha256 against its
 *       name, and only then moves it into place: an object altered in the bucket is refused and never cached.
 *       Concurrent calls for one hash share one download.
 *   <li>{@link #retainOnly} clears the cache as without a remote; in the remote it deletes unreferenced objects
 *       only once they are older than a grace period ({@value #GRACE_HOURS} hours). Another replica may be
 *       between its {@code commit} and its version row: its objects are fresh (uploaded, or re-uploaded when
 *       found older than half the grace period), so a sweep leaves them alone. Each object is looked up again
 *       just before it is deleted, which narrows the race with a re-upload to that one round trip; and a sweep
 *       uploads again any referenced file this replica holds that the bucket lacks, which repairs it.
 * </ul>
 * Deleting in the remote matters: a tenant's erased models must not stay in the bucket for ever.
 *
 * <p>Thread-safe. Commits and sweeps are serialized by the caller ({@link ModelRegistry}'s file lock).
 */
public final class ArtifactStore {
    private static final Logger LOG = LoggerFactory.getLogger(ArtifactStore.class);
    private static final int BUFFER_SIZE = 1 << 16;
    static final int GRACE_HOURS = 6;
    /** How long an unreferenced remote object is kept: far longer than any upload-then-insert takes. */
    static final Duration GRACE = Duration.ofHours(GRACE_HOURS);
    private static final String KEYS = "sha256/";
    private static final Pattern SHA256 = Pattern.compile("[0-9a-f]{64}");

    private final Path root;
    private final Path staging;
    private final ObjectStore remote;
    private final Clock clock;
    /*
     * Downloads in progress by hash, so that concurrent resolutions share one: an entry lives only while its
     * download runs (it is removed when it ends, failed or not), so the map holds at most one entry per download
     * running now, and hashes come from version rows, not from requests.
     */
    private final ConcurrentMap<String, CompletableFuture<Path>> downloads = new ConcurrentHashMap<>();

    private ArtifactStore(Path root, Path staging, ObjectStore remote, Clock clock) {
        this.root = root;
        this.staging = staging;
        this.remote = remote;
        this.clock = clock;
    }

    /** Opens the store in the data directory, with no remote store behind it, and empties its staging area. */
    public static ArtifactStore open(Path dataDir) {
        return open(dataDir, null, Clock.systemUTC());
    }

    /**
     * Opens the store in the data directory as the cache of {@code remote}, and empties its staging area.
     *
     * @param remote the store every replica shares, or null for none
     * @param clock what the grace period of remote deletions is measured with
     */
    public static ArtifactStore open(Path dataDir, ObjectStore remote, Clock clock) {
        requireNonNull(clock, "clock is null");
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
        return new ArtifactStore(root, staging, remote, clock);
    }

    /** The remote store behind this one, if there is one. */
    public Optional<ObjectStore> remote() {
        return Optional.ofNullable(remote);
    }

    /**
     * Streams one upload into staging, hashing it.
     *
     * @throws AtriumException {@code PAYLOAD_TOO_LARGE} past {@code maxBytes}, {@code INVALID_REQUEST} when the
     *     stream breaks off, {@code STORE_UNAVAILABLE} when the disk refuses the write; nothing is left behind
     */
    public StagedArtifact stage(InputStream in, long maxBytes) {
        Path file;
        try {
            file = Files.createTempFile(staging, "upload-", ".part");
        } catch (IOException e) {
            throw StoreUnavailable.diskWriteFailed("the upload", e);
        }
        try {
            return write(in, file, maxBytes);
        } catch (IOException e) {
            discard(file);
            throw new AtriumException(ErrorCode.INVALID_REQUEST, "the upload was cut off before it ended");
        } catch (RuntimeException e) {
            discard(file);
            throw e;
        }
    }

    /** Copies {@code in} to its end into {@code file}, hashing it on the way, then forces it to the disk. */
    private static StagedArtifact write(InputStream in, Path file, long maxBytes) throws IOException {
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
                writeToDisk(out, buffer, read);
            }
            try {
                out.flush();
                channel.force(true);
            } catch (IOException e) {
                throw StoreUnavailable.diskWriteFailed("the model file", e);
            }
        }
        return new StagedArtifact(file, HexFormat.of().formatHex(digest.digest()), size);
    }

    /** A failure here is this server's disk, not the stream: it is told apart from a client that went away. */
    private static void writeToDisk(OutputStream out, byte[] buffer, int length) {
        try {
            out.write(buffer, 0, length);
        } catch (IOException e) {
            throw StoreUnavailable.diskWriteFailed("the model file", e);
        }
    }

    /**
     * Moves a validated staged file into the store; returns its path there. With a remote store, the file is
     * uploaded first (unless the remote has it already), so that once this returns every replica can fetch it.
     *
     * @throws AtriumException {@code STORE_UNAVAILABLE} when the remote store cannot take it; the staged file is
     *     left for the caller to discard
     */
    public Path commit(StagedArtifact staged) {
        Path target = cachePath(staged.sha256());
        if (remote != null) {
            upload(staged.sha256(), staged.path());
        }
        try {
            PrivateFiles.createDirectories(target.getParent());
            if (Files.exists(target)) {
                Files.delete(staged.path());
                return target;
            }
            moveIntoPlace(staged.path(), target);
            return target;
        } catch (IOException e) {
            throw AtriumException.internal("cannot store an artifact", e);
        }
    }

    /** Sends a file to the remote store unless it holds it already, recently enough to outlive a sweep's grace. */
    private void upload(String sha256, Path file) {
        try {
            Optional<ObjectStore.StoredObject> present = remote.find(KEYS + sha256);
            if (present.isPresent() && present.get().lastModified().isAfter(clock.instant().minus(GRACE.dividedBy(2)))) {
                return;
            }
            remote.put(KEYS + sha256, file);
        } catch (ObjectStoreException e) {
            LOG.warn("cannot upload artifact {}: {}", sha256, e.getMessage());
            throw unavailable();
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

    /**
     * The local path of an artifact. With a remote store, one missing from the cache is downloaded first (into
     * staging, checked against its hash, then moved into place); concurrent calls for one hash share one download.
     * Without one, the path is answered whether or not the file is there.
     *
     * A download reads at most the artifact's recorded size (and one byte more, to see that it is longer): what
     * the remote store holds is not trusted to be bounded.
     *
     * @throws AtriumException {@code STORE_UNAVAILABLE} when the remote store cannot be reached, {@code INTERNAL}
     *     when it has no such object or its bytes do not match its hash or its recorded size (then nothing is
     *     cached)
     */
    public Path path(ArtifactFile file) {
        String sha256 = file.sha256();
        Path cached = cachePath(sha256);
        if (remote == null || Files.isRegularFile(cached)) {
            return cached;
        }
        CompletableFuture<Path> mine = new CompletableFuture<>();
        CompletableFuture<Path> running = downloads.putIfAbsent(sha256, mine);
        if (running != null) {
            try {
                return running.join();
            } catch (CompletionException e) {
                throw e.getCause() instanceof RuntimeException cause ? cause : e;
            }
        }
        try {
            // a download that ended just before this one began has left the file in place
            Path path = Files.isRegularFile(cached) ? cached : download(sha256, file.sizeBytes(), cached);
            mine.complete(path);
            return path;
        } catch (RuntimeException e) {
            mine.completeExceptionally(e);
            throw e;
        } finally {
            downloads.remove(sha256, mine);
        }
    }

    private Path download(String sha256, long recordedSize, Path target) {
        if (!SHA256.matcher(sha256).matches()) {
            throw new IllegalArgumentException("not a sha256 hash: " + sha256);
        }
        Path file;
        try {
            file = Files.createTempFile(staging, "download-", ".part");
        } catch (IOException e) {
            throw AtriumException.internal("cannot create a staging file", e);
        }
        try {
            Optional<InputStream> opened = remote.open(KEYS + sha256);
            if (opened.isEmpty()) {
                LOG.error("artifact {} is referenced but missing from {}", sha256, remote.location());
                throw AtriumException.internal("artifact " + sha256 + " is missing from " + remote.location(), null);
            }
            StagedArtifact downloaded;
            try (InputStream in = opened.get()) {
                downloaded = write(in, file, recordedSize);
            } catch (AtriumException e) {
                if (e.code() != ErrorCode.PAYLOAD_TOO_LARGE) {
                    throw e;
                }
                LOG.error("refused artifact {} from {}: longer than its recorded {} bytes (altered in the store)",
                        sha256, remote.location(), recordedSize);
                throw AtriumException.internal("artifact " + sha256 + " in " + remote.location() + " is longer than"
                        + " its recorded " + recordedSize + " bytes; refused", null);
            }
            long size = downloaded.sizeBytes();
            String actual = downloaded.sha256();
            if (!actual.equals(sha256)) {
                LOG.error("refused artifact {} from {}: its {} bytes hash to {} (altered or damaged in the store)",
                        sha256, remote.location(), size, actual);
                throw AtriumException.internal("artifact " + sha256 + " downloaded from " + remote.location()
                        + " does not match its sha256 (it hashes to " + actual + "); refused", null);
            }
            PrivateFiles.createDirectories(target.getParent());
            moveIntoPlace(file, target);
            LOG.info("downloaded artifact {} ({} bytes) from {}", sha256, size, remote.location());
            return target;
        } catch (ObjectStoreException e) {
            LOG.warn("cannot download artifact {}: {}", sha256, e.getMessage());
            throw unavailable();
        } catch (IOException e) {
            LOG.warn("cannot download artifact {} from {}: {}", sha256, remote.location(), e.toString());
            throw unavailable();
        } finally {
            discard(file);
        }
    }

    /** Whether the artifact is in the local cache (or, with no remote store, in the store). */
    public boolean contains(String sha256) {
        return Files.isRegularFile(cachePath(sha256));
    }

    private Path cachePath(String sha256) {
        return root.resolve(sha256.substring(0, 2)).resolve(sha256);
    }

    /**
     * Deletes every cached file whose hash is not in {@code referenced}; returns how many it deleted. With a
     * remote store, also deletes the unreferenced objects there older than the grace period, and uploads again the
     * referenced files this replica holds that the remote lacks (see the class note).
     */
    public int retainOnly(Set<String> referenced) {
        int deleted = 0;
        Set<String> cached = new HashSet<>();
        try (Stream<Path> files = Files.walk(root, 2)) {
            for (Path file : files.filter(Files::isRegularFile).toList()) {
                String name = file.getFileName().toString();
                if (referenced.contains(name)) {
                    cached.add(name);
                    continue;
                }
                try {
                    Files.delete(file);
                    deleted++;
                } catch (NoSuchFileException e) {
                    // already gone
                }
            }
        } catch (IOException e) {
            LOG.warn("cannot sweep the artifact store", e);
        }
        if (remote != null) {
            sweepRemote(referenced, cached);
        }
        return deleted;
    }

    private void sweepRemote(Set<String> referenced, Set<String> cached) {
        try {
            List<ObjectStore.StoredObject> objects = remote.list(KEYS);
            Set<String> present = new HashSet<>();
            int deleted = 0;
            for (ObjectStore.StoredObject object : objects) {
                String sha256 = object.key().substring(KEYS.length());
                present.add(sha256);
                if (referenced.contains(sha256) || !expired(object.lastModified())) {
                    continue;
                }
                // again, just before: a replica may have uploaded it anew since the listing
                Optional<ObjectStore.StoredObject> now = remote.find(object.key());
                if (now.isPresent() && expired(now.get().lastModified()) && remote.delete(object.key())) {
                    deleted++;
                }
            }
            if (deleted > 0) {
                LOG.info("removed {} unreferenced artifacts from {}", deleted, remote.location());
            }
            for (String sha256 : cached) {
                if (!present.contains(sha256)) {
                    LOG.warn("artifact {} is referenced but missing from {}: uploading it again", sha256,
                            remote.location());
                    remote.put(KEYS + sha256, cachePath(sha256));
                }
            }
        } catch (ObjectStoreException e) {
            LOG.warn("cannot sweep the remote artifact store: {}", e.getMessage());
        }
    }

    private boolean expired(Instant lastModified) {
        return lastModified.isBefore(clock.instant().minus(GRACE));
    }

    public Path stagingDirectory() {
        return staging;
    }

    private static void moveIntoPlace(Path file, Path target) throws IOException {
        try {
            Files.move(file, target, StandardCopyOption.ATOMIC_MOVE);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(file, target);
        }
        syncDirectory(target.getParent());
    }

    private static AtriumException unavailable() {
        return ObjectStore.unavailable();
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
