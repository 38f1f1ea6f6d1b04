package dev.atrium.training;

import static java.nio.charset.StandardCharsets.UTF_8;
import static java.util.Objects.requireNonNull;

import dev.atrium.store.EpochMicros;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.SequenceInputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Enumeration;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.Jdbi;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The embeddings of tenants' training files, kept so that another job on the same file with the same embedding model
 * version (another hyperparameter choice, an AutoML search run again, a job resumed after a restart) does not embed
 * its texts again.
 *
 * <p>Design: one entry per tenant, embedding model version and file, keyed by the tenant, the version's pinned
 * {@code name:version}, its ONNX file's sha256 (so a model uploaded again under the same name never hits an entry of
 * the one before), a digest of the rest that shapes its vectors ({@link Embedder.Version#settings()} and how the file
 * is read), and the sha256 of the file's bytes. The vectors are a blob of the tenant's in the same
 * {@link TenantFileStore} as its files, so encrypted under its data key: a header ({@code ATEV}, format 1, the key's
 * digest, the texts' digest, the row count and dimension) and then each vector's float32 bits, little-endian, so an
 * entry gives back exactly the vectors the engine gave. The table {@code embedding_cache} indexes them. An entry is
 * never shared between tenants, even for identical bytes.
 *
 * <p>Bounds: a tenant has at most {@link Limits#maxEntries()} entries and {@link Limits#maxBytes()} bytes of
 * blobs; keeping one past either evicts the tenant's least recently used entries (a hit is a use). Vectors larger
 * than {@code maxBytes} on their own are not kept.
 *
 * <p>Erasure: deleting a file removes the entries of its sha256 unless another file of the tenant has the same
 * bytes ({@link #forgetFile}); deleting a tenant removes all of its entries ({@link #forgetTenant}). An entry is
 * inserted only while a file of the tenant with its sha256 exists, in the same statement, so a job whose file is
 * deleted while it embeds leaves nothing behind.
 *
 * <p>Failures: a blob that is gone, does not decrypt, or whose header or size disagrees with its row or with the
 * texts asked for is a miss: the entry is dropped and the caller embeds again. A failure to keep an entry is logged,
 * never thrown: the cache does not fail a job.
 *
 * <p>Thread-safe: its state is the store's. Two jobs keeping the same key at once keep one entry; the other blob is
 * dropped.
 */
final class EmbeddingCache {
    private static final Logger LOG = LoggerFactory.getLogger(EmbeddingCache.class);
    private static final SecureRandom RANDOM = new SecureRandom();
    private static final byte[] MAGIC = {'A', 'T', 'E', 'V'};
    private static final int FORMAT = 1;
    private static final int DIGEST_BYTES = 32;
    /** Magic, format, key digest, texts digest, rows, dimension. */
    static final int HEADER_BYTES = MAGIC.length + 4 + 2 * DIGEST_BYTES + 4 + 4;
    /** Vectors per piece of a blob as it streams to the store. */
    private static final int ROWS_PER_PIECE = 256;

    /**
     * How much one tenant may keep.
     *
     * @param maxEntries entries, each one file's vectors under one model version
     * @param maxBytes bytes of blobs, headers included
     */
    record Limits(int maxEntries, long maxBytes) {
        /**
         * 64 entries and 512 MiB per tenant: room for a tenant's working set of files under a few models, and for
         * the largest dataset (100,000 texts) at 384 dimensions (147 MiB) or 1,024 (391 MiB).
         */
        static final Limits DEFAULTS = new Limits(64, 512L << 20);

        Limits {
            if (maxEntries < 1 || maxBytes < HEADER_BYTES) {
                throw new IllegalArgumentException("an embedding cache keeps at least 1 entry of at least "
                        + HEADER_BYTES + " bytes, not " + maxEntries + " and " + maxBytes);
            }
        }
    }

    /**
     * What an entry's vectors were made from.
     *
     * @param tenantId whose; null for the platform's own
     * @param modelVersion the embedding model version's pinned {@code name:version}
     * @param modelSha256 its ONNX file's sha256
     * @param settings all else that shapes the vectors: the model's settings and how the file was read
     * @param fileSha256 the sha256 of the file's bytes
     */
    record Key(String tenantId, String modelVersion, String modelSha256, String settings, String fileSha256) {
        Key {
            requireNonNull(modelVersion, "modelVersion is null");
            requireNonNull(modelSha256, "modelSha256 is null");
            requireNonNull(settings, "settings is null");
            requireNonNull(fileSha256, "fileSha256 is null");
        }

        String settingsSha256() {
            return HexFormat.of().formatHex(sha256(settings.getBytes(UTF_8)));
        }

        /** The key as a blob's header repeats it: a blob read for another key is refused. */
        byte[] digest() {
            return sha256(String.join("\u0000", owner(tenantId), modelVersion, modelSha256, settings, fileSha256)
                    .getBytes(UTF_8));
        }
    }

    /** An entry as the table holds it. */
    record Entry(String id, String tenantId, String modelVersion, String modelSha256, String settingsSha256,
            String fileSha256, String blob, int rows, int dimension, long bytes, Instant createdAt, Instant usedAt) {}

    private final Jdbi jdbi;
    private final TenantFileStore store;
    private final Clock clock;
    private final Limits limits;

    EmbeddingCache(Jdbi jdbi, TenantFileStore store, Clock clock, Limits limits) {
        this.jdbi = requireNonNull(jdbi, "jdbi is null");
        this.store = requireNonNull(store, "store is null");
        this.clock = requireNonNull(clock, "clock is null");
        this.limits = requireNonNull(limits, "limits is null");
    }

    /**
     * The vectors kept for a key, if they are there and are the vectors of these texts (one each, of this
     * dimension); a use, for eviction. Anything else is a miss, and an entry that does not fit is dropped.
     */
    Optional<List<float[]>> get(Key key, List<String> texts, int dimension) {
        Optional<Entry> found = jdbi.withHandle(handle -> handle.createQuery("""
                        SELECT * FROM embedding_cache WHERE COALESCE(tenant_id, '') = :owner AND model_version = :model
                            AND model_sha256 = :model_sha256 AND settings_sha256 = :settings
                            AND file_sha256 = :file_sha256""")
                .bind("owner", key.tenantId() == null ? "" : key.tenantId())
                .bind("model", key.modelVersion())
                .bind("model_sha256", key.modelSha256())
                .bind("settings", key.settingsSha256())
                .bind("file_sha256", key.fileSha256())
                .map((rs, ctx) -> entry(rs))
                .findOne());
        if (found.isEmpty()) {
            return Optional.empty();
        }
        Entry entry = found.get();
        List<float[]> vectors;
        try {
            if (entry.rows() != texts.size() || entry.dimension() != dimension) {
                throw new IOException("the entry holds " + entry.rows() + " vectors of " + entry.dimension()
                        + " dimensions, not " + texts.size() + " of " + dimension);
            }
            try (InputStream in = store.read(key.tenantId(), entry.blob())) {
                vectors = decode(in, key, textsDigest(texts), texts.size(), dimension);
            }
        } catch (IOException | RuntimeException e) {
            LOG.warn("cached embeddings {} of tenant {} are not used, and dropped: {}", entry.id(),
                    owner(key.tenantId()), e.toString());
            drop(entry);
            return Optional.empty();
        }
        jdbi.useHandle(handle -> handle.createUpdate("UPDATE embedding_cache SET used_at = :now WHERE id = :id")
                .bind("id", entry.id()).bind("now", EpochMicros.of(clock.instant())).execute());
        return Optional.of(vectors);
    }

    /**
     * Keeps the vectors of these texts (one each, all of one dimension) under a key, evicting the tenant's least
     * recently used entries past its limits; nothing when a file of the tenant with the key's sha256 no longer
     * exists, when the key has an entry already, or when they alone pass the byte limit.
     */
    void put(Key key, List<String> texts, List<float[]> vectors) {
        if (vectors.size() != texts.size() || vectors.isEmpty()) {
            throw new IllegalArgumentException(vectors.size() + " vectors for " + texts.size() + " texts");
        }
        int dimension = vectors.getFirst().length;
        if (dimension == 0 || vectors.stream().anyMatch(vector -> vector.length != dimension)) {
            throw new IllegalArgumentException("the vectors are not all of one positive dimension");
        }
        long bytes = HEADER_BYTES + 4L * dimension * vectors.size();
        if (bytes > limits.maxBytes()) {
            LOG.info("embeddings of {} texts ({} bytes) are not cached: tenant {} may keep {} bytes", texts.size(),
                    bytes, owner(key.tenantId()), limits.maxBytes());
            return;
        }
        String blob;
        try {
            blob = store.write(key.tenantId(), encode(key, textsDigest(texts), vectors, dimension), bytes).blob();
        } catch (RuntimeException e) {
            LOG.warn("embeddings of tenant {} could not be cached", owner(key.tenantId()), e);
            return;
        }
        List<String> dropped = new ArrayList<>();
        try {
            jdbi.useTransaction(handle -> {
                Instant now = clock.instant();
                int inserted = handle.createUpdate("""
                        INSERT INTO embedding_cache (id, tenant_id, model_version, model_sha256, settings_sha256,
                            file_sha256, blob, row_count, dimension, bytes, created_at, used_at)
                        SELECT :id, :tenant, :model, :model_sha256, :settings, :file_sha256, :blob, :rows,
                            :dimension, :bytes, :now, :now
                        WHERE EXISTS (SELECT 1 FROM training_files WHERE tenant_id IS NOT DISTINCT FROM :tenant
                            AND sha256 = :file_sha256)
                        ON CONFLICT DO NOTHING""")
                        .bind("id", "emb-" + HexFormat.of().formatHex(randomBytes()))
                        .bind("tenant", key.tenantId())
                        .bind("model", key.modelVersion())
                        .bind("model_sha256", key.modelSha256())
                        .bind("settings", key.settingsSha256())
                        .bind("file_sha256", key.fileSha256())
                        .bind("blob", blob)
                        .bind("rows", vectors.size())
                        .bind("dimension", dimension)
                        .bind("bytes", bytes)
                        .bind("now", EpochMicros.of(now))
                        .execute();
                if (inserted == 0) {
                    dropped.add(blob);
                } else {
                    dropped.addAll(evict(handle, key.tenantId()));
                }
            });
        } catch (RuntimeException e) {
            LOG.warn("embeddings of tenant {} could not be cached", owner(key.tenantId()), e);
            dropped.add(blob);
        }
        dropBlobs(key.tenantId(), dropped);
    }

    /** A tenant's entries, most recently used first. */
    List<Entry> entries(String tenantId) {
        return jdbi.withHandle(handle -> handle.createQuery("""
                        SELECT * FROM embedding_cache WHERE tenant_id IS NOT DISTINCT FROM :tenant
                        ORDER BY used_at DESC, created_at DESC, id DESC""")
                .bind("tenant", tenantId)
                .map((rs, ctx) -> entry(rs))
                .list());
    }

    /**
     * Removes, in the caller's transaction, the entries of a tenant's file bytes once no file of the tenant has them
     * (call it after deleting the file's row); answers their blobs, for {@link #dropBlobs} once it commits.
     */
    List<String> forgetFile(Handle handle, String tenantId, String fileSha256) {
        String unheld = "tenant_id IS NOT DISTINCT FROM :tenant AND file_sha256 = :sha256"
                + " AND NOT EXISTS (SELECT 1 FROM training_files"
                + " WHERE tenant_id IS NOT DISTINCT FROM :tenant AND sha256 = :sha256)";
        List<String> blobs = handle.createQuery("SELECT blob FROM embedding_cache WHERE " + unheld)
                .bind("tenant", tenantId).bind("sha256", fileSha256).mapTo(String.class).list();
        handle.createUpdate("DELETE FROM embedding_cache WHERE " + unheld)
                .bind("tenant", tenantId).bind("sha256", fileSha256).execute();
        return blobs;
    }

    /** Removes, in the caller's transaction, all of a tenant's entries; answers their blobs, as above. */
    List<String> forgetTenant(Handle handle, String tenantId) {
        List<String> blobs = handle.createQuery(
                        "SELECT blob FROM embedding_cache WHERE tenant_id IS NOT DISTINCT FROM :tenant")
                .bind("tenant", tenantId).mapTo(String.class).list();
        handle.createUpdate("DELETE FROM embedding_cache WHERE tenant_id IS NOT DISTINCT FROM :tenant")
                .bind("tenant", tenantId).execute();
        return blobs;
    }

    /** Erases blobs whose rows are gone; one already gone is no failure. */
    void dropBlobs(String tenantId, List<String> blobs) {
        for (String blob : blobs) {
            try {
                store.delete(tenantId, blob);
            } catch (RuntimeException e) {
                LOG.warn("cached embeddings {} of tenant {} could not be erased", blob, owner(tenantId), e);
            }
        }
    }

    /** Drops the tenant's least recently used entries past its limits; answers their blobs. */
    private List<String> evict(Handle handle, String tenantId) {
        List<Entry> entries = handle.createQuery("""
                        SELECT * FROM embedding_cache WHERE tenant_id IS NOT DISTINCT FROM :tenant
                        ORDER BY used_at DESC, created_at DESC, id DESC""")
                .bind("tenant", tenantId)
                .map((rs, ctx) -> entry(rs))
                .list();
        List<String> evicted = new ArrayList<>();
        long bytes = 0;
        for (int i = 0; i < entries.size(); i++) {
            Entry entry = entries.get(i);
            bytes += entry.bytes();
            if (i >= limits.maxEntries() || bytes > limits.maxBytes()) {
                handle.createUpdate("DELETE FROM embedding_cache WHERE id = :id").bind("id", entry.id()).execute();
                evicted.add(entry.blob());
                bytes -= entry.bytes();
            }
        }
        return evicted;
    }

    /**
     * Drops an entry found unusable, unless another has taken its place meanwhile; its blob too, unless another
     * entry names it (a row pointed at another's blob).
     */
    private void drop(Entry entry) {
        boolean unnamed = jdbi.inTransaction(handle -> handle.createUpdate(
                        "DELETE FROM embedding_cache WHERE id = :id AND blob = :blob")
                .bind("id", entry.id()).bind("blob", entry.blob()).execute() > 0
                && handle.createQuery("SELECT COUNT(*) FROM embedding_cache WHERE blob = :blob")
                        .bind("blob", entry.blob()).mapTo(Long.class).one() == 0);
        if (unnamed) {
            dropBlobs(entry.tenantId(), List.of(entry.blob()));
        }
    }

    // ---- the blob -----------------------------------------------------------------------------------------------

    /** The blob's bytes, streamed a piece of vectors at a time rather than copied whole. */
    private static InputStream encode(Key key, byte[] textsDigest, List<float[]> vectors, int dimension) {
        ByteBuffer header = ByteBuffer.allocate(HEADER_BYTES).order(ByteOrder.LITTLE_ENDIAN);
        header.put(MAGIC).putInt(FORMAT).put(key.digest()).put(textsDigest).putInt(vectors.size()).putInt(dimension);
        Enumeration<InputStream> pieces = new Enumeration<>() {
            private int next = -1;

            @Override
            public boolean hasMoreElements() {
                return next < vectors.size();
            }

            @Override
            public InputStream nextElement() {
                if (next < 0) {
                    next = 0;
                    return new ByteArrayInputStream(header.array());
                }
                int end = Math.min(vectors.size(), next + ROWS_PER_PIECE);
                ByteBuffer piece = ByteBuffer.allocate(4 * dimension * (end - next)).order(ByteOrder.LITTLE_ENDIAN);
                for (; next < end; next++) {
                    for (float value : vectors.get(next)) {
                        piece.putInt(Float.floatToRawIntBits(value));
                    }
                }
                return new ByteArrayInputStream(piece.array());
            }
        };
        return new SequenceInputStream(pieces);
    }

    private static List<float[]> decode(InputStream in, Key key, byte[] textsDigest, int rows, int dimension)
            throws IOException {
        ByteBuffer header = ByteBuffer.wrap(in.readNBytes(HEADER_BYTES)).order(ByteOrder.LITTLE_ENDIAN);
        if (header.remaining() != HEADER_BYTES) {
            throw new IOException("the blob is shorter than its header");
        }
        byte[] magic = new byte[MAGIC.length];
        byte[] keyDigest = new byte[DIGEST_BYTES];
        byte[] texts = new byte[DIGEST_BYTES];
        header.get(magic);
        int format = header.getInt();
        header.get(keyDigest).get(texts);
        int storedRows = header.getInt();
        int storedDimension = header.getInt();
        if (!Arrays.equals(magic, MAGIC) || format != FORMAT) {
            throw new IOException("the blob is not of format " + FORMAT);
        }
        if (!MessageDigest.isEqual(keyDigest, key.digest()) || !MessageDigest.isEqual(texts, textsDigest)) {
            throw new IOException("the blob was made for other texts or another model");
        }
        if (storedRows != rows || storedDimension != dimension) {
            throw new IOException("the blob holds " + storedRows + " vectors of " + storedDimension + " dimensions");
        }
        List<float[]> vectors = new ArrayList<>(rows);
        for (int row = 0; row < rows; row++) {
            byte[] bytes = in.readNBytes(4 * dimension);
            if (bytes.length != 4 * dimension) {
                throw new IOException("the blob ends at vector " + row + " of " + rows);
            }
            ByteBuffer values = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
            float[] vector = new float[dimension];
            for (int i = 0; i < dimension; i++) {
                vector[i] = Float.intBitsToFloat(values.getInt());
            }
            vectors.add(vector);
        }
        if (in.read() >= 0) {
            throw new IOException("the blob goes on past its " + rows + " vectors");
        }
        return vectors;
    }

    /** The texts in order, each told by its length: a blob made for other texts is refused. */
    static byte[] textsDigest(List<String> texts) {
        MessageDigest digest = sha256();
        ByteBuffer length = ByteBuffer.allocate(4);
        for (String text : texts) {
            byte[] bytes = text.getBytes(UTF_8);
            digest.update(length.clear().putInt(bytes.length).array());
            digest.update(bytes);
        }
        return digest.digest();
    }

    private static Entry entry(ResultSet rs) throws SQLException {
        return new Entry(rs.getString("id"), rs.getString("tenant_id"), rs.getString("model_version"),
                rs.getString("model_sha256"), rs.getString("settings_sha256"), rs.getString("file_sha256"),
                rs.getString("blob"), rs.getInt("row_count"), rs.getInt("dimension"), rs.getLong("bytes"),
                EpochMicros.instant(rs, "created_at"), EpochMicros.instant(rs, "used_at"));
    }

    private static String owner(String tenantId) {
        return tenantId == null ? EncryptedFileStore.PLATFORM : tenantId;
    }

    private static byte[] sha256(byte[] bytes) {
        return sha256().digest(bytes);
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JDK has SHA-256", e);
        }
    }

    private static byte[] randomBytes() {
        byte[] bytes = new byte[12];
        RANDOM.nextBytes(bytes);
        return bytes;
    }
}
