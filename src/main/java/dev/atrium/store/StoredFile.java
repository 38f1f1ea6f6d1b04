package dev.atrium.store;

import static java.util.Objects.requireNonNull;

import java.util.regex.Pattern;

/**
 * A tenant file as {@link EncryptedFiles} stored it: its size and SHA-256 are of the plaintext, counted as it
 * streamed in.
 *
 * @param keyId the tenant data key it is encrypted with
 * @param bytes the plaintext's size
 * @param sha256 the plaintext's SHA-256, lowercase hex
 */
public record StoredFile(String tenantId, String fileId, String keyId, long bytes, String sha256) {
    private static final Pattern SHA256 = Pattern.compile("[0-9a-f]{64}");

    public StoredFile {
        requireNonNull(tenantId, "tenantId is null");
        requireNonNull(fileId, "fileId is null");
        requireNonNull(keyId, "keyId is null");
        requireNonNull(sha256, "sha256 is null");
        if (bytes < 0) {
            throw new IllegalArgumentException("bytes must not be negative; it is " + bytes);
        }
        if (!SHA256.matcher(sha256).matches()) {
            throw new IllegalArgumentException("sha256 must be 64 lowercase hex digits; it is '" + sha256 + "'");
        }
    }
}
