package dev.atrium.store;

import static java.nio.charset.StandardCharsets.UTF_8;
import static java.util.Objects.requireNonNull;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import java.io.ByteArrayOutputStream;
import java.security.GeneralSecurityException;
import java.sql.SQLException;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.util.Arrays;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.regex.Pattern;
import javax.crypto.AEADBadTagException;
import javax.crypto.Cipher;
import javax.crypto.Mac;
import javax.crypto.SecretKey;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.HandleCallback;
import org.jdbi.v3.core.Jdbi;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Per-tenant data keys for tenant data encrypted at rest, kept in the store only wrapped by the server's master key,
 * so that destroying one tenant's key makes everything encrypted with it unreadable for good (crypto-shredding).
 *
 * <p>Design: each tenant has at most one data key, 32 random bytes, made on first use. Its row holds a key id (named
 * in the header of every file written with it), the id of the master key that wrapped it, and the wrapped key:
 * {@code v1:} + base64 of a 12-byte random nonce, then AES-256-GCM of the 32 key bytes under the master key with
 * the associated data {@code "atrium-tenant-data-key-v1" 0x00 tenantId 0x00 keyId}, so that a row's key copied to
 * another tenant does not open there. The master key id is {@code mk-} + hex of the first 8 bytes of
 * HMAC-SHA256(master key, {@code "atrium-master-key-id"}): it names the key without revealing it.
 *
 * <p>Unwrapped keys are cached in process (bounded in count, expiring after a while unused), so a key
 * {@linkplain #destroy destroyed} by another replica sharing the store stops being usable here within that expiry.
 *
 * <p>On SQLite, the rows are written and deleted with {@code secure_delete} on, and a destroy ends with a checkpoint
 * that empties the write-ahead log, so the destroyed wrapped key leaves the data directory's bytes at once (when no
 * other reader holds the log; else at a later checkpoint). A backup of the store taken before a destroy still holds
 * the wrapped key, which the current master key opens: to make such backups useless too, rotate the master key
 * ({@link #rewrapFrom}) after destroying and discard the old one. On PostgreSQL a deleted row's bytes stay in its
 * table's pages until {@code VACUUM} reclaims them; they are wrapped, so the same holds.
 *
 * <p>Thread-safe; several processes may share one store (a key made by two at once is made once).
 */
public final class TenantKeys {
    private static final Logger LOG = LoggerFactory.getLogger(TenantKeys.class);

    /** The table's SQLite DDL (the lead's migration takes it over; PostgreSQL reads the same, BIGINT for INTEGER). */
    public static final String SQLITE_DDL = """
            CREATE TABLE tenant_data_keys (
                tenant_id     TEXT PRIMARY KEY,
                key_id        TEXT NOT NULL UNIQUE,
                master_key_id TEXT NOT NULL,
                wrapped_key   TEXT NOT NULL,
                created_at    INTEGER NOT NULL
            )""";

    static final int KEY_BYTES = 32;
    private static final int NONCE_BYTES = 12;
    private static final int TAG_BITS = 128;
    private static final String WRAP_PREFIX = "v1:";
    private static final byte[] WRAP_CONTEXT = "atrium-tenant-data-key-v1".getBytes(UTF_8);
    private static final byte[] MASTER_ID_CONTEXT = "atrium-master-key-id".getBytes(UTF_8);
    // tenant ids name directories of the data directory: nothing that could climb out of one
    private static final Pattern TENANT_ID = Pattern.compile("[A-Za-z0-9_-]{1,128}");

    /** An unwrapped data key, never written anywhere. */
    record DataKey(String tenantId, String keyId, SecretKey key) {
        DataKey {
            requireNonNull(tenantId, "tenantId is null");
            requireNonNull(keyId, "keyId is null");
            requireNonNull(key, "key is null");
        }

        @Override
        public String toString() {
            return "DataKey[" + tenantId + ", " + keyId + "]";
        }
    }

    private record Row(String tenantId, String keyId, String masterKeyId, String wrappedKey) {}

    private final Jdbi jdbi;
    private final SecretKeySpec masterKey;
    private final String masterKeyId;
    private final Clock clock;
    private final Cache<String, DataKey> cache;
    private volatile ChangeFeed changes = ChangeFeed.none();
    private final SecureRandom random = new SecureRandom();
    private final boolean sqlite;

    /**
     * @param masterKey the server's 32-byte master key (copied)
     * @param maxCachedKeys how many unwrapped keys are kept in memory at most
     * @param cacheExpiry how long an unused key stays cached; also how long a key destroyed by another process
     *     sharing the store may still be used here
     */
    public TenantKeys(Jdbi jdbi, byte[] masterKey, Clock clock, int maxCachedKeys, Duration cacheExpiry) {
        this.jdbi = requireNonNull(jdbi, "jdbi is null");
        this.masterKey = masterKeySpec(masterKey);
        this.masterKeyId = masterKeyId(this.masterKey);
        this.clock = requireNonNull(clock, "clock is null");
        if (maxCachedKeys < 0) {
            throw new IllegalArgumentException("maxCachedKeys must be at least 0; it is " + maxCachedKeys);
        }
        if (cacheExpiry.isNegative()) {
            throw new IllegalArgumentException("cacheExpiry must not be negative; it is " + cacheExpiry);
        }
        this.cache = Caffeine.newBuilder()
                .maximumSize(maxCachedKeys)
                .expireAfterAccess(cacheExpiry)
                .ticker(() -> clock.millis() * 1_000_000L)
                // evictions happen in the caller's thread, so that the bound holds when a call returns
                .executor(Runnable::run)
                .build();
        this.sqlite = jdbi.withHandle(TenantKeys::isSqlite);
    }

    /** The id of this server's master key, as rows wrapped by it record it. */
    /**
     * Keys destroyed here are forgotten by the other replicas at once (rather than after their cache expiry), and
     * theirs here, through the feed.
     */
    public TenantKeys withChanges(ChangeFeed feed) {
        this.changes = feed;
        feed.subscribe(ChangeFeed.Topic.TENANTS, cache::invalidateAll);
        return this;
    }

    public String masterKeyId() {
        return masterKeyId;
    }

    /** The id of the tenant's data key, if it has one. */
    public Optional<String> keyId(String tenantId) {
        return existingKey(tenantId).map(DataKey::keyId);
    }

    /** The tenant's data key, made (and stored wrapped) on first use. */
    DataKey dataKey(String tenantId) {
        checkTenantId(tenantId);
        return cache.get(tenantId, this::loadOrCreate);
    }

    /** The tenant's data key, if it has one; never makes one. */
    Optional<DataKey> existingKey(String tenantId) {
        checkTenantId(tenantId);
        // a loader returning null caches nothing; the load is atomic with a concurrent destroy's invalidation
        return Optional.ofNullable(cache.get(tenantId, id -> load(id).orElse(null)));
    }

    /**
     * Deletes the tenant's wrapped data key, so that nothing encrypted with it can be read again, here or by any
     * process sharing the store (after its cache expiry). The tenant gets a new key on its next use.
     *
     * @return whether the tenant had a key
     */
    public boolean destroy(String tenantId) {
        checkTenantId(tenantId);
        boolean deleted = writing(handle -> handle.inTransaction(transaction ->
                transaction.createUpdate("DELETE FROM tenant_data_keys WHERE tenant_id = :tenant")
                        .bind("tenant", tenantId)
                        .execute() > 0));
        cache.invalidate(tenantId);
        changes.publish(ChangeFeed.Topic.TENANTS);
        if (deleted) {
            scrubDeleted();
        }
        if (deleted) {
            LOG.info("destroyed the data key of tenant {}", tenantId);
        }
        return deleted;
    }

    /**
     * Re-wraps, with this server's master key, every data key wrapped by {@code previousMasterKey}: the step of a
     * master key rotation (start with the new key, call this with the old one, then discard the old one). The data
     * keys themselves do not change, so everything encrypted with them stays readable. Safe to repeat or to run from
     * several processes: a key is re-wrapped once.
     *
     * @return how many keys were re-wrapped
     */
    public int rewrapFrom(byte[] previousMasterKey) {
        SecretKeySpec previous = masterKeySpec(previousMasterKey);
        String previousId = masterKeyId(previous);
        if (previousId.equals(masterKeyId)) {
            return 0;
        }
        int rewrapped = writing(handle -> handle.inTransaction(transaction -> {
            List<Row> rows = transaction.createQuery("SELECT tenant_id, key_id, master_key_id, wrapped_key"
                            + " FROM tenant_data_keys WHERE master_key_id = :previous ORDER BY tenant_id")
                    .bind("previous", previousId)
                    .map((rs, context) -> new Row(rs.getString(1), rs.getString(2), rs.getString(3), rs.getString(4)))
                    .list();
            int count = 0;
            for (Row row : rows) {
                byte[] key = unwrap(previous, row);
                try {
                    count += transaction.createUpdate("UPDATE tenant_data_keys SET master_key_id = :master,"
                                    + " wrapped_key = :wrapped WHERE tenant_id = :tenant AND master_key_id = :previous")
                            .bind("master", masterKeyId)
                            .bind("wrapped", wrap(masterKey, row.tenantId(), row.keyId(), key))
                            .bind("tenant", row.tenantId())
                            .bind("previous", previousId)
                            .execute();
                } finally {
                    Arrays.fill(key, (byte) 0);
                }
            }
            return count;
        }));
        if (rewrapped > 0) {
            scrubDeleted();
        }
        LOG.info("re-wrapped {} tenant data keys from master key {} to {}", rewrapped, previousId, masterKeyId);
        return rewrapped;
    }

    /** How many unwrapped keys are cached now, for tests of the bound. */
    long cachedKeys() {
        cache.cleanUp();
        return cache.estimatedSize();
    }

    private DataKey loadOrCreate(String tenantId) {
        Optional<DataKey> existing = load(tenantId);
        if (existing.isPresent()) {
            return existing.get();
        }
        byte[] key = new byte[KEY_BYTES];
        random.nextBytes(key);
        byte[] idBytes = new byte[12];
        random.nextBytes(idBytes);
        String keyId = "dk-" + HexFormat.of().formatHex(idBytes);
        try {
            String wrapped = wrap(masterKey, tenantId, keyId, key);
            writing(handle -> handle.createUpdate("INSERT INTO tenant_data_keys"
                            + " (tenant_id, key_id, master_key_id, wrapped_key, created_at)"
                            + " VALUES (:tenant, :keyId, :master, :wrapped, :createdAt)"
                            + " ON CONFLICT (tenant_id) DO NOTHING")
                    .bind("tenant", tenantId)
                    .bind("keyId", keyId)
                    .bind("master", masterKeyId)
                    .bind("wrapped", wrapped)
                    .bind("createdAt", EpochMicros.of(clock.instant()))
                    .execute());
        } finally {
            Arrays.fill(key, (byte) 0);
        }
        // another process may have made the tenant's key first: theirs is the one
        return load(tenantId).orElseThrow(() -> new IllegalStateException(
                "the data key of tenant " + tenantId + " was destroyed while it was being made"));
    }

    private Optional<DataKey> load(String tenantId) {
        Optional<Row> row = jdbi.withHandle(handle -> handle.createQuery("SELECT tenant_id, key_id, master_key_id,"
                        + " wrapped_key FROM tenant_data_keys WHERE tenant_id = :tenant")
                .bind("tenant", tenantId)
                .map((rs, context) -> new Row(rs.getString(1), rs.getString(2), rs.getString(3), rs.getString(4)))
                .findOne());
        return row.map(found -> {
            if (!found.masterKeyId().equals(masterKeyId)) {
                throw new IllegalStateException("the data key of tenant " + tenantId + " is wrapped by master key "
                        + found.masterKeyId() + ", not by this server's " + masterKeyId + "; after a master key"
                        + " rotation, re-wrap the keys from the previous master key");
            }
            byte[] key = unwrap(masterKey, found);
            try {
                return new DataKey(tenantId, found.keyId(), new SecretKeySpec(key, "AES"));
            } finally {
                Arrays.fill(key, (byte) 0);
            }
        });
    }

    /** Runs a write on one connection with SQLite's secure_delete on, so freed cells are zeroed, not left behind. */
    private <T> T writing(HandleCallback<T, RuntimeException> write) {
        return jdbi.withHandle(handle -> {
            if (!sqlite) {
                return write.withHandle(handle);
            }
            long before = handle.createQuery("PRAGMA secure_delete").mapTo(Long.class).one();
            handle.execute("PRAGMA secure_delete = ON");
            try {
                return write.withHandle(handle);
            } finally {
                handle.execute("PRAGMA secure_delete = " + before);
            }
        });
    }

    /**
     * Leaves no copy of deleted or replaced wrapped keys in the store's files: SQLite's write-ahead log is emptied;
     * PostgreSQL's table is rewritten into a new file ({@code VACUUM FULL}; its write-ahead log and any backups keep
     * the old rows until they are recycled, and those rows are wrapped by the master key).
     */
    private void scrubDeleted() {
        if (sqlite) {
            emptyWriteAheadLog();
        } else {
            jdbi.useHandle(handle -> handle.execute("VACUUM FULL tenant_data_keys"));
        }
    }

    private void emptyWriteAheadLog() {
        // the log still holds the pages as they were before the delete; TRUNCATE copies them back and empties it
        jdbi.useHandle((Handle handle) -> {
            long busy = handle.createQuery("PRAGMA wal_checkpoint(TRUNCATE)").mapTo(Long.class).first();
            if (busy != 0) {
                LOG.info("the store's write-ahead log is in use; it keeps the destroyed key's wrapped bytes until"
                        + " its next checkpoint");
            }
        });
    }

    private String wrap(SecretKeySpec master, String tenantId, String keyId, byte[] key) {
        byte[] nonce = new byte[NONCE_BYTES];
        random.nextBytes(nonce);
        try {
            Cipher cipher = Cipher.getInstance("AES/GCM/NoPadding");
            cipher.init(Cipher.ENCRYPT_MODE, master, new GCMParameterSpec(TAG_BITS, nonce));
            cipher.updateAAD(associatedData(tenantId, keyId));
            byte[] sealed = cipher.doFinal(key);
            byte[] out = Arrays.copyOf(nonce, NONCE_BYTES + sealed.length);
            System.arraycopy(sealed, 0, out, NONCE_BYTES, sealed.length);
            return WRAP_PREFIX + Base64.getEncoder().encodeToString(out);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("AES-GCM is not available", e);
        }
    }

    private static byte[] unwrap(SecretKeySpec master, Row row) {
        String text = row.wrappedKey();
        byte[] bytes = text.startsWith(WRAP_PREFIX) ? decodeOrNull(text.substring(WRAP_PREFIX.length())) : null;
        if (bytes == null || bytes.length != NONCE_BYTES + KEY_BYTES + TAG_BITS / 8) {
            throw new IllegalStateException("the data key of tenant " + row.tenantId() + " is not in a known format");
        }
        try {
            Cipher cipher = Cipher.getInstance("AES/GCM/NoPadding");
            cipher.init(Cipher.DECRYPT_MODE, master, new GCMParameterSpec(TAG_BITS, bytes, 0, NONCE_BYTES));
            cipher.updateAAD(associatedData(row.tenantId(), row.keyId()));
            return cipher.doFinal(bytes, NONCE_BYTES, bytes.length - NONCE_BYTES);
        } catch (AEADBadTagException e) {
            throw new IllegalStateException("the data key of tenant " + row.tenantId() + " does not open with master"
                    + " key " + masterKeyId(master) + " (it was altered, or belongs to another tenant)");
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("AES-GCM is not available", e);
        }
    }

    private static byte[] decodeOrNull(String base64) {
        try {
            return Base64.getDecoder().decode(base64);
        } catch (IllegalArgumentException e) {
            return null;
        }
    }

    private static byte[] associatedData(String tenantId, String keyId) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(WRAP_CONTEXT);
        out.write(0);
        out.writeBytes(tenantId.getBytes(UTF_8));
        out.write(0);
        out.writeBytes(keyId.getBytes(UTF_8));
        return out.toByteArray();
    }

    private static SecretKeySpec masterKeySpec(byte[] masterKey) {
        requireNonNull(masterKey, "masterKey is null");
        if (masterKey.length != KEY_BYTES) {
            throw new IllegalArgumentException("the master key must be 32 bytes; it has " + masterKey.length);
        }
        return new SecretKeySpec(masterKey, "AES");
    }

    private static String masterKeyId(SecretKeySpec master) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(master.getEncoded(), "HmacSHA256"));
            return "mk-" + HexFormat.of().formatHex(mac.doFinal(MASTER_ID_CONTEXT), 0, 8);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HMAC-SHA256 is not available", e);
        }
    }

    private static boolean isSqlite(Handle handle) {
        try {
            return handle.getConnection().getMetaData().getDatabaseProductName().equalsIgnoreCase("SQLite");
        } catch (SQLException e) {
            throw new IllegalStateException("cannot tell which database the store is", e);
        }
    }

    static void checkTenantId(String tenantId) {
        requireNonNull(tenantId, "tenantId is null");
        if (!TENANT_ID.matcher(tenantId).matches()) {
            throw new IllegalArgumentException("a tenant id is 1 to 128 letters, digits, '_' or '-'; got '"
                    + tenantId + "'");
        }
    }
}
