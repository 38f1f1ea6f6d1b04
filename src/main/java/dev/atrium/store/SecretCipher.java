package dev.atrium.store;

import static java.util.Objects.requireNonNull;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.Base64;
import javax.crypto.AEADBadTagException;
import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Encrypts secrets kept in the store (upstream API keys) with AES-256-GCM. Each sealed value names what it
 * belongs to (associated data), so a ciphertext copied to another row does not open there. The key comes from
 * the environment, or from a key file that is made (owner-only) on first start.
 */
public final class SecretCipher {
    private static final Logger LOG = LoggerFactory.getLogger(SecretCipher.class);
    private static final String PREFIX = "v1:";
    private static final int KEY_BYTES = 32;
    private static final int NONCE_BYTES = 12;
    private static final int TAG_BITS = 128;

    private final SecretKeySpec key;
    private final SecureRandom random = new SecureRandom();

    private SecretCipher(byte[] key) {
        if (key.length != KEY_BYTES) {
            throw new IllegalArgumentException("the secrets key must be 32 bytes (base64: 44 characters); it has "
                    + key.length);
        }
        this.key = new SecretKeySpec(key, "AES");
    }

    /**
     * A 32-byte key for another purpose, derived from this one (HMAC-SHA256 of the purpose): the master key of
     * tenants' data keys, say, so that one secret kept with the data directory serves both, and neither key reveals
     * the other.
     */
    public byte[] deriveKey(String purpose) {
        try {
            javax.crypto.Mac mac = javax.crypto.Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(key.getEncoded(), "HmacSHA256"));
            return mac.doFinal(("atrium-derived-key:" + purpose).getBytes(StandardCharsets.UTF_8));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HMAC-SHA256 is not available", e);
        }
    }

    /** A cipher with the given key (base64 of 32 bytes). */
    public static SecretCipher ofKey(String base64Key) {
        byte[] bytes;
        try {
            bytes = Base64.getDecoder().decode(base64Key.strip());
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("the secrets key is not base64", e);
        }
        return new SecretCipher(bytes);
    }

    /**
     * The key from the environment when given, else the one in the key file, which is made with a new random key
     * (readable by its owner only) when it does not exist.
     */
    public static SecretCipher open(String environmentKey, Path keyFile) {
        if (environmentKey != null && !environmentKey.isBlank()) {
            return ofKey(environmentKey);
        }
        requireNonNull(keyFile, "keyFile is null");
        try {
            if (!Files.exists(keyFile)) {
                byte[] key = new byte[KEY_BYTES];
                new SecureRandom().nextBytes(key);
                try {
                    Files.createFile(keyFile, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
                    Files.writeString(keyFile, Base64.getEncoder().encodeToString(key) + "\n");
                    LOG.info("made a new secrets key in {}; keep it with backups of the data directory,"
                            + " or set ATRIUM_SECRETS_KEY instead", keyFile);
                } catch (FileAlreadyExistsException e) {
                    // another process made it first: use theirs
                } catch (UnsupportedOperationException e) {
                    Files.writeString(keyFile, Base64.getEncoder().encodeToString(key) + "\n");
                }
            }
            return ofKey(Files.readString(keyFile, StandardCharsets.US_ASCII));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read or make the secrets key file " + keyFile, e);
        }
    }

    /**
     * Seals a secret for one owner.
     *
     * @param context what the secret belongs to, e.g. {@code model-version:12:3}; needed again to open it
     */
    public String seal(String secret, String context) {
        byte[] nonce = new byte[NONCE_BYTES];
        random.nextBytes(nonce);
        try {
            Cipher cipher = Cipher.getInstance("AES/GCM/NoPadding");
            cipher.init(Cipher.ENCRYPT_MODE, key, new GCMParameterSpec(TAG_BITS, nonce));
            cipher.updateAAD(context.getBytes(StandardCharsets.UTF_8));
            byte[] sealed = cipher.doFinal(secret.getBytes(StandardCharsets.UTF_8));
            byte[] out = Arrays.copyOf(nonce, NONCE_BYTES + sealed.length);
            System.arraycopy(sealed, 0, out, NONCE_BYTES, sealed.length);
            return PREFIX + Base64.getEncoder().encodeToString(out);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("AES-GCM is not available", e);
        }
    }

    /**
     * Opens a sealed secret.
     *
     * @throws IllegalStateException when it was sealed with another key or for another owner, or was altered
     */
    public String open(String sealed, String context) {
        if (!sealed.startsWith(PREFIX)) {
            throw new IllegalStateException("the stored secret is not in a known format");
        }
        byte[] bytes = Base64.getDecoder().decode(sealed.substring(PREFIX.length()));
        if (bytes.length < NONCE_BYTES + TAG_BITS / 8) {
            throw new IllegalStateException("the stored secret is cut short");
        }
        try {
            Cipher cipher = Cipher.getInstance("AES/GCM/NoPadding");
            cipher.init(Cipher.DECRYPT_MODE, key, new GCMParameterSpec(TAG_BITS, bytes, 0, NONCE_BYTES));
            cipher.updateAAD(context.getBytes(StandardCharsets.UTF_8));
            return new String(cipher.doFinal(bytes, NONCE_BYTES, bytes.length - NONCE_BYTES), StandardCharsets.UTF_8);
        } catch (AEADBadTagException e) {
            throw new IllegalStateException("the stored secret does not open with this server's secrets key"
                    + " (another key, or it was altered)");
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("AES-GCM is not available", e);
        }
    }
}
