package dev.atrium.training;

import static java.util.Objects.requireNonNull;

import dev.atrium.AtriumException;
import dev.atrium.ErrorCode;
import dev.atrium.store.EpochMicros;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.security.SecureRandom;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Clock;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import org.jdbi.v3.core.Jdbi;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.ObjectMapper;
import tools.jackson.databind.json.JsonMapper;

/**
 * Tenants' training files (OpenAI's {@code /v1/files}): each streamed into the {@link TenantFileStore} within a size
 * limit and checked as it arrives — a JSON Lines file line by line, the first bad line named; a {@code .zip} file (a
 * dataset of image folders, read by the image-classification method) by its signature — with its metadata in the
 * store. A tenant sees only its own files: another tenant's id is not found. The embeddings jobs make of a tenant's
 * files are kept beside them ({@link EmbeddingCache}), encrypted as they are, and erased with them.
 */
public final class TrainingFiles {
    /** The largest training file, as OpenAI's: 512 MB. */
    public static final long MAX_FILE_BYTES = 512L << 20;
    /** The longest line of a JSON Lines file. */
    static final int MAX_LINE_BYTES = 1 << 20;
    private static final SecureRandom RANDOM = new SecureRandom();
    private static final ObjectMapper JSON = JsonMapper.builder().build();

    private final Jdbi jdbi;
    private final TenantFileStore store;
    private final Clock clock;
    private final long maxBytes;
    private final EmbeddingCache embeddings;

    /** @param maxBytes the largest file one upload may hold */
    public TrainingFiles(Jdbi jdbi, TenantFileStore store, Clock clock, long maxBytes) {
        this(jdbi, store, clock, maxBytes, EmbeddingCache.Limits.DEFAULTS);
    }

    /** @param embeddingLimits what each tenant may keep of its files' embeddings */
    TrainingFiles(Jdbi jdbi, TenantFileStore store, Clock clock, long maxBytes, EmbeddingCache.Limits embeddingLimits) {
        this.jdbi = requireNonNull(jdbi, "jdbi is null");
        this.store = requireNonNull(store, "store is null");
        this.clock = requireNonNull(clock, "clock is null");
        this.maxBytes = maxBytes;
        this.embeddings = new EmbeddingCache(jdbi, store, clock, embeddingLimits);
    }

    public long maxBytes() {
        return maxBytes;
    }

    /** The embeddings kept of the tenants' files. */
    EmbeddingCache embeddings() {
        return embeddings;
    }

    /**
     * Keeps an upload: a {@code .csv} file must have a header line; a {@code .zip} file must be a zip archive with
     * entries (which the job that trains on it checks); any other is JSON Lines and must hold one JSON object per
     * line.
     *
     * @throws AtriumException 400 naming the first bad line, 413 past the limit; nothing is kept then
     */
    public TrainingFile upload(String tenantId, String filename, FilePurpose purpose, InputStream content) {
        String name = filename == null || filename.isBlank() ? "file" : filename.strip();
        if (name.length() > 255 || name.chars().anyMatch(c -> c < 0x20 || c == '/' || c == '\\')) {
            throw AtriumException.invalidParam("file", "a file name is at most 255 characters, without control"
                    + " characters or slashes");
        }
        Format format = Format.of(name);
        TenantFileStore.Stored stored = store.write(tenantId, new Checked(content, format), maxBytes);
        TrainingFile file = new TrainingFile("file-" + HexFormat.of().formatHex(randomBytes()), tenantId, name,
                purpose, stored.bytes(), stored.sha256(), stored.blob(), clock.instant());
        try {
            jdbi.useHandle(handle -> handle.createUpdate("""
                    INSERT INTO training_files (id, tenant_id, filename, purpose, bytes, sha256, blob, created_at)
                    VALUES (:id, :tenant, :filename, :purpose, :bytes, :sha256, :blob, :created_at)""")
                    .bind("id", file.id())
                    .bind("tenant", tenantId)
                    .bind("filename", file.filename())
                    .bind("purpose", purpose.wireName())
                    .bind("bytes", file.bytes())
                    .bind("sha256", file.sha256())
                    .bind("blob", file.blob())
                    .bind("created_at", EpochMicros.of(file.createdAt()))
                    .execute());
        } catch (RuntimeException e) {
            store.delete(tenantId, stored.blob());
            throw e;
        }
        return file;
    }

    /**
     * A tenant's files, newest first (or oldest, {@code ascending}), after the file {@code after} if given.
     *
     * @param tenantId whose; a platform admin lists the platform's own
     */
    public List<TrainingFile> list(String tenantId, Optional<FilePurpose> purpose, Optional<String> after, int limit,
            boolean ascending) {
        Optional<TrainingFile> cursor = after.map(id -> get(tenantId, id));
        String order = ascending ? "ASC" : "DESC";
        String compare = ascending ? ">" : "<";
        return jdbi.withHandle(handle -> handle.createQuery("SELECT * FROM training_files"
                        + " WHERE tenant_id IS NOT DISTINCT FROM :tenant AND (:purpose IS NULL OR purpose = :purpose)"
                        + (cursor.isPresent() ? " AND (created_at, id) " + compare + " (:at, :id)" : "")
                        + " ORDER BY created_at " + order + ", id " + order + " LIMIT :limit")
                .bind("tenant", tenantId)
                .bind("purpose", purpose.map(FilePurpose::wireName).orElse(null))
                .bind("at", cursor.map(file -> EpochMicros.of(file.createdAt())).orElse(0L))
                .bind("id", cursor.map(TrainingFile::id).orElse(""))
                .bind("limit", limit)
                .map((rs, ctx) -> file(rs))
                .list());
    }

    /** A tenant's file; another tenant's, or none, is 404. */
    public TrainingFile get(String tenantId, String id) {
        return jdbi.withHandle(handle -> handle.createQuery(
                        "SELECT * FROM training_files WHERE id = :id AND tenant_id IS NOT DISTINCT FROM :tenant")
                .bind("id", id)
                .bind("tenant", tenantId)
                .map((rs, ctx) -> file(rs))
                .findOne())
                .orElseThrow(() -> AtriumException.withParam(ErrorCode.NOT_FOUND, "file_id", "no file '" + id + "'"));
    }

    /** The file's bytes, decrypted as they are read. */
    public InputStream content(TrainingFile file) {
        return store.read(file.tenantId(), file.blob());
    }

    /**
     * Deletes a tenant's file: its row, its bytes from the store, and the embeddings kept of its bytes (unless
     * another file of the tenant has the same bytes).
     */
    public void delete(String tenantId, String id) {
        TrainingFile file = get(tenantId, id);
        List<String> cached = jdbi.inTransaction(handle -> {
            handle.createUpdate("DELETE FROM training_files WHERE id = :id").bind("id", file.id()).execute();
            return embeddings.forgetFile(handle, tenantId, file.sha256());
        });
        store.delete(tenantId, file.blob());
        embeddings.dropBlobs(tenantId, cached);
    }

    /** Keeps bytes of a tenant's that are no file of its (a job's saved state), encrypted as its files are. */
    String keepBlob(String tenantId, byte[] bytes) {
        return store.write(tenantId, new java.io.ByteArrayInputStream(bytes), Long.MAX_VALUE).blob();
    }

    /** The bytes kept by {@link #keepBlob}, or empty when they are gone. */
    Optional<byte[]> readBlob(String tenantId, String blob) {
        try (InputStream in = store.read(tenantId, blob)) {
            return Optional.of(in.readAllBytes());
        } catch (IOException | java.io.UncheckedIOException e) {
            return Optional.empty();
        }
    }

    void dropBlob(String tenantId, String blob) {
        try {
            store.delete(tenantId, blob);
        } catch (java.io.UncheckedIOException e) {
            // gone already
        }
    }

    /**
     * Erases everything of a deleted tenant: its files' rows, their bytes, the embeddings kept of them, and its data
     * key, so that nothing it uploaded can be read back, even from a copy of the data directory taken before.
     */
    public void deleteTenant(String tenantId) {
        requireNonNull(tenantId, "tenantId is null");
        List<String> cached = new ArrayList<>();
        List<String> blobs = jdbi.inTransaction(handle -> {
            List<String> files = handle.createQuery("SELECT blob FROM training_files WHERE tenant_id = :tenant")
                    .bind("tenant", tenantId).mapTo(String.class).list();
            handle.createUpdate("DELETE FROM training_files WHERE tenant_id = :tenant")
                    .bind("tenant", tenantId).execute();
            cached.addAll(embeddings.forgetTenant(handle, tenantId));
            return files;
        });
        blobs.forEach(blob -> store.delete(tenantId, blob));
        embeddings.dropBlobs(tenantId, cached);
        store.destroyTenant(tenantId);
    }

    private static byte[] randomBytes() {
        byte[] bytes = new byte[12];
        RANDOM.nextBytes(bytes);
        return bytes;
    }

    static TrainingFile file(ResultSet rs) throws SQLException {
        return new TrainingFile(rs.getString("id"), rs.getString("tenant_id"), rs.getString("filename"),
                FilePurpose.fromWireName(rs.getString("purpose")).orElseThrow(), rs.getLong("bytes"),
                rs.getString("sha256"), rs.getString("blob"), EpochMicros.instant(rs, "created_at"));
    }

    /** The formats a training file comes in, by its name. */
    enum Format {
        JSONL, CSV, ZIP;

        /**
         * CSV or zip by its name ({@code .csv}, {@code .zip}); anything else is taken as JSON Lines, OpenAI's format,
         * and checked as it.
         */
        static Format of(String filename) {
            String lower = filename.toLowerCase(java.util.Locale.ROOT);
            return lower.endsWith(".csv") ? CSV : lower.endsWith(".zip") ? ZIP : JSONL;
        }
    }

    /**
     * The upload as it streams to the store, checked line by line on the way: a JSON Lines file's every non-empty
     * line must be a JSON object, a CSV file must start with a header; no line may pass {@link #MAX_LINE_BYTES}.
     * A bad line ends the upload with a 400 naming it. A zip, binary, is checked only for the signature its first
     * entry starts with; its entries are the training job's to check, as it streams them.
     */
    private static final class Checked extends FilterInputStream {
        private static final byte[] ZIP_ENTRY = {'P', 'K', 3, 4};
        private static final byte[] ZIP_EMPTY = {'P', 'K', 5, 6};
        private final Format format;
        private final byte[] head = new byte[ZIP_ENTRY.length];
        private int headLength;
        private byte[] line = new byte[256];
        private int length;
        private long lineNumber = 1;
        private boolean sawContent;
        private boolean ended;

        Checked(InputStream in, Format format) {
            super(in);
            this.format = format;
        }

        @Override
        public int read() throws IOException {
            byte[] one = new byte[1];
            int n = read(one, 0, 1);
            return n < 0 ? -1 : one[0] & 0xFF;
        }

        @Override
        public int read(byte[] buffer, int offset, int count) throws IOException {
            int n = super.read(buffer, offset, count);
            if (format == Format.ZIP) {
                return checkZip(buffer, offset, n);
            }
            if (n < 0) {
                if (!ended) {
                    ended = true;
                    endLine();
                    if (!sawContent) {
                        throw AtriumException.invalidParam("file", "the file is empty");
                    }
                }
                return n;
            }
            for (int i = offset; i < offset + n; i++) {
                byte b = buffer[i];
                if (b == '\n') {
                    endLine();
                    lineNumber++;
                } else {
                    if (length == MAX_LINE_BYTES) {
                        throw AtriumException.invalidParam("file", "line " + lineNumber + " is longer than "
                                + MAX_LINE_BYTES + " bytes");
                    }
                    if (length == line.length) {
                        line = java.util.Arrays.copyOf(line, Math.min(MAX_LINE_BYTES, line.length * 2));
                    }
                    line[length++] = b;
                }
            }
            return n;
        }

        private int checkZip(byte[] buffer, int offset, int n) {
            boolean wasShort = headLength < head.length;
            for (int i = offset; i < offset + n && headLength < head.length; i++) {
                head[headLength++] = buffer[i];
            }
            if (wasShort && (headLength == head.length || n < 0)) {
                if (headLength == 0) {
                    throw AtriumException.invalidParam("file", "the file is empty");
                }
                if (java.util.Arrays.equals(head, ZIP_EMPTY)) {
                    throw AtriumException.invalidParam("file", "the zip archive is empty");
                }
                if (!java.util.Arrays.equals(head, ZIP_ENTRY)) {
                    throw AtriumException.invalidParam("file", "a file named .zip must be a zip archive");
                }
            }
            return n;
        }

        private void endLine() {
            int end = length > 0 && line[length - 1] == '\r' ? length - 1 : length;
            boolean blank = true;
            for (int i = 0; i < end && blank; i++) {
                blank = line[i] == ' ' || line[i] == '\t';
            }
            if (!blank) {
                if (format == Format.JSONL) {
                    JsonNode node;
                    try {
                        node = JSON.readTree(line, 0, end);
                    } catch (JacksonException e) {
                        throw AtriumException.invalidParam("file", "line " + lineNumber + " is not valid JSON");
                    }
                    if (node == null || !node.isObject()) {
                        throw AtriumException.invalidParam("file", "line " + lineNumber + " is not a JSON object");
                    }
                }
                sawContent = true;
            }
            length = 0;
        }
    }
}
