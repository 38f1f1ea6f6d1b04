package dev.atrium.tenancy;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.HexFormat;
import java.util.regex.Pattern;

/**
 * Key secrets: {@code atr-} and 256 random bits in URL-safe base64 (43 characters). Only their SHA-256 is
 * stored: with that much entropy a fast hash is safe, and a lookup by hash needs no per-key salt.
 */
public final class KeySecrets {
    public static final String SCHEME = "atr-";
    /** {@code atr-} and eight characters: shown in listings and audit rows, useless as a credential. */
    public static final int PREFIX_LENGTH = 12;
    private static final int RANDOM_BYTES = 32;
    private static final Pattern WELL_FORMED = Pattern.compile("atr-[A-Za-z0-9_-]{43,128}");
    private static final SecureRandom RANDOM = new SecureRandom();

    private KeySecrets() {}

    public static String generate() {
        byte[] bytes = new byte[RANDOM_BYTES];
        RANDOM.nextBytes(bytes);
        return SCHEME + Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
    }

    /** Whether the text has the shape of an Atrium key (a generated one, or one set by ATRIUM_ADMIN_KEY). */
    public static boolean isWellFormed(String secret) {
        return secret != null && WELL_FORMED.matcher(secret).matches();
    }

    public static String sha256(String secret) {
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256").digest(secret.getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(digest);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    public static String prefix(String secret) {
        return secret.substring(0, PREFIX_LENGTH);
    }

    /** A random identifier with a readable kind, e.g. {@code key_5kq2...}. */
    static String newId(String kind) {
        byte[] bytes = new byte[12];
        RANDOM.nextBytes(bytes);
        return kind + "_" + HexFormat.of().formatHex(bytes);
    }
}
