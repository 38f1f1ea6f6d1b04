package dev.atrium.training;

import static java.util.Objects.requireNonNull;

import dev.atrium.AtriumException;
import dev.atrium.store.EncryptedFiles;
import dev.atrium.store.StoredFile;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.security.SecureRandom;
import java.util.HexFormat;

/**
 * Training files kept by {@link EncryptedFiles}: each under a random name in its tenant's directory, encrypted with
 * a key derived from the tenant's data key (the platform's own files under the tenant name {@code platform}).
 */
public final class EncryptedFileStore implements TenantFileStore {
    /** The tenant name of the platform's own files (tenant ids are {@code ten_...}). */
    static final String PLATFORM = "platform";
    private static final SecureRandom RANDOM = new SecureRandom();

    private final EncryptedFiles files;

    public EncryptedFileStore(EncryptedFiles files) {
        this.files = requireNonNull(files, "files is null");
    }

    @Override
    public Stored write(String tenantId, InputStream in, long maxBytes) {
        byte[] name = new byte[16];
        RANDOM.nextBytes(name);
        String blob = "blob-" + HexFormat.of().formatHex(name);
        try {
            StoredFile stored = files.write(owner(tenantId), blob, in, maxBytes);
            return new Stored(blob, stored.bytes(), stored.sha256());
        } catch (IOException e) {
            throw new AtriumException(dev.atrium.ErrorCode.INVALID_REQUEST, "the upload could not be read to its end");
        }
    }

    @Override
    public InputStream read(String tenantId, String blob) {
        try {
            return files.open(owner(tenantId), blob);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public void delete(String tenantId, String blob) {
        try {
            files.delete(owner(tenantId), blob);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public void destroyTenant(String tenantId) {
        try {
            files.destroyTenant(owner(tenantId));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static String owner(String tenantId) {
        return tenantId == null ? PLATFORM : tenantId;
    }
}
