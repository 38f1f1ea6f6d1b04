package dev.atrium.store;

import static java.util.Objects.requireNonNull;

import java.io.InputStream;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Optional;

/**
 * A remote store of immutable objects shared by every replica (an S3 bucket under a prefix): what the local
 * data directory keeps behind it when the server runs as several replicas. Keys are relative to the store's own
 * prefix, {@code /}-separated, e.g. {@code sha256/<hash>} or {@code tenant-files/<tenant>/<file>}.
 *
 * <p>Objects are written whole (a {@link #put} is visible to every replica once it returns, or not at all) and
 * never changed in place: callers write content-addressed or freshly named keys. Failures to reach the store are
 * {@link ObjectStoreException}s whose messages name the store and the key, never a credential.
 *
 * <p>Implementations are thread-safe.
 */
public interface ObjectStore extends AutoCloseable {
    /** Where the objects are, for messages and logs, e.g. {@code s3://bucket/prefix}; never a credential. */
    String location();

    /**
     * Checks that the store answers and that the credentials may use it.
     *
     * @throws ObjectStoreException saying why not
     */
    void checkReachable();

    /** The object's size and time of writing, or empty when there is no such object. */
    Optional<StoredObject> find(String key);

    /** Writes a file as the object {@code key}, replacing any object of that key. */
    void put(String key, Path file);

    /** Streams the object's bytes, or empty when there is no such object. The caller closes the stream. */
    Optional<InputStream> open(String key);

    /** Deletes the object; returns whether there was one. */
    boolean delete(String key);

    /** Every object whose key starts with {@code prefix}, in key order. */
    List<StoredObject> list(String prefix);

    @Override
    void close();

    /** What a caller is answered when the store cannot be reached: 503 with {@code Retry-After}. */
    static dev.atrium.AtriumException unavailable() {
        return dev.atrium.AtriumException.retryable(dev.atrium.ErrorCode.STORE_UNAVAILABLE,
                "the file store is unavailable; retry shortly", StoreUnavailable.RETRY_AFTER_SECONDS);
    }

    /** One object: its key (relative to the store's prefix), its size and when it was written. */
    record StoredObject(String key, long sizeBytes, Instant lastModified) {
        public StoredObject {
            requireNonNull(key, "key is null");
            requireNonNull(lastModified, "lastModified is null");
        }
    }
}
