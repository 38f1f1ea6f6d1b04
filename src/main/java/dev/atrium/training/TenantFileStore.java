package dev.atrium.training;

import java.io.InputStream;

/**
 * Where tenants' uploaded bytes are kept: encrypted at rest under each tenant's own data key, so that deleting a
 * file erases it and destroying a tenant's key leaves nothing of its data readable.
 */
public interface TenantFileStore {

    /** What a write kept: the store's name for the bytes, and the plaintext's size and sha256. */
    record Stored(String blob, long bytes, String sha256) {}

    /**
     * Streams bytes in and keeps them, counting them as they arrive.
     *
     * @param tenantId null for the platform's own
     * @throws dev.atrium.AtriumException 413 past {@code maxBytes} (nothing is kept), or what the stream throws
     */
    Stored write(String tenantId, InputStream in, long maxBytes);

    /** The plaintext of what {@link #write} kept, streamed; fails on tampering. */
    InputStream read(String tenantId, String blob);

    /** Erases what {@link #write} kept. */
    void delete(String tenantId, String blob);

    /** Makes everything of a tenant unreadable, for good (its data key is destroyed). */
    void destroyTenant(String tenantId);
}
