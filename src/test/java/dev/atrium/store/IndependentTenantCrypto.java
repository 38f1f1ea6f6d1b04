package dev.atrium.store;

import static java.nio.charset.StandardCharsets.US_ASCII;
import static java.nio.charset.StandardCharsets.UTF_8;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Base64;
import java.util.HexFormat;
import javax.crypto.Cipher;
import javax.crypto.Mac;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;
import org.jdbi.v3.core.Jdbi;

/**
 * The formats of {@link TenantKeys} and {@link EncryptedFiles} as their javadoc states them, implemented again from
 * that text with plain JCA primitives (HKDF by hand from RFC 5869), so the tests check the code against the
 * documented format rather than against itself.
 */
final class IndependentTenantCrypto {
    static final byte[] MASTER = sequence(1);
    static final byte[] NEW_MASTER = sequence(101);

    private IndependentTenantCrypto() {}

    static byte[] sequence(int first) {
        byte[] key = new byte[32];
        for (int i = 0; i < key.length; i++) {
            key[i] = (byte) (first + i);
        }
        return key;
    }

    /** A store with the tenant key table, as the lead's migration will make it. */
    static Database openStore(Path dataDirectory) {
        Database database = Database.openSqlite(dataDirectory.resolve("atrium.db"));
        database.jdbi().useHandle(handle -> {
            boolean exists = handle.createQuery("SELECT count(*) FROM sqlite_master WHERE name = 'tenant_data_keys'")
                    .mapTo(Integer.class).one() > 0;
            if (!exists) {
                handle.execute(TenantKeys.SQLITE_DDL);
            }
        });
        return database;
    }

    static String masterKeyId(byte[] master) throws Exception {
        Mac mac = Mac.getInstance("HmacSHA256");
        mac.init(new SecretKeySpec(master, "HmacSHA256"));
        return "mk-" + HexFormat.of().formatHex(Arrays.copyOf(mac.doFinal("atrium-master-key-id".getBytes(UTF_8)), 8));
    }

    static String wrappedKey(Jdbi jdbi, String tenantId) {
        return jdbi.withHandle(handle -> handle.createQuery(
                        "SELECT wrapped_key FROM tenant_data_keys WHERE tenant_id = :t")
                .bind("t", tenantId).mapTo(String.class).one());
    }

    static String keyId(Jdbi jdbi, String tenantId) {
        return jdbi.withHandle(handle -> handle.createQuery("SELECT key_id FROM tenant_data_keys WHERE tenant_id = :t")
                .bind("t", tenantId).mapTo(String.class).one());
    }

    /** The raw data key: {@code v1:} + base64(nonce 12 | AES-GCM(key) | tag), AAD context 0 tenant 0 keyId. */
    static byte[] unwrap(byte[] master, String tenantId, String keyId, String wrapped) throws Exception {
        if (!wrapped.startsWith("v1:")) {
            throw new IllegalArgumentException("not v1: " + wrapped);
        }
        byte[] bytes = Base64.getDecoder().decode(wrapped.substring(3));
        Cipher cipher = Cipher.getInstance("AES/GCM/NoPadding");
        cipher.init(Cipher.DECRYPT_MODE, new SecretKeySpec(master, "AES"), new GCMParameterSpec(128, bytes, 0, 12));
        cipher.updateAAD(joined("atrium-tenant-data-key-v1", tenantId, keyId));
        return cipher.doFinal(bytes, 12, bytes.length - 12);
    }

    static byte[] dataKey(Jdbi jdbi, byte[] master, String tenantId) throws Exception {
        return unwrap(master, tenantId, keyId(jdbi, tenantId), wrappedKey(jdbi, tenantId));
    }

    /** RFC 5869 with HMAC-SHA256. */
    static byte[] hkdf(byte[] ikm, byte[] salt, byte[] info, int length) throws Exception {
        Mac mac = Mac.getInstance("HmacSHA256");
        mac.init(new SecretKeySpec(salt, "HmacSHA256"));
        byte[] prk = mac.doFinal(ikm);
        mac.init(new SecretKeySpec(prk, "HmacSHA256"));
        ByteArrayOutputStream okm = new ByteArrayOutputStream();
        byte[] previous = new byte[0];
        for (int i = 1; okm.size() < length; i++) {
            mac.update(previous);
            mac.update(info);
            mac.update((byte) i);
            previous = mac.doFinal();
            okm.writeBytes(previous);
        }
        return Arrays.copyOf(okm.toByteArray(), length);
    }

    /** Decrypts a whole stored file per the documented format, checking every chunk's index and last flag. */
    static byte[] decryptFile(byte[] stored, byte[] dataKey, String tenantId, String fileId) throws Exception {
        ByteBuffer in = ByteBuffer.wrap(stored);
        byte[] magic = new byte[4];
        in.get(magic);
        if (!Arrays.equals(magic, "ATEF".getBytes(US_ASCII)) || in.get() != 1) {
            throw new IllegalArgumentException("bad header");
        }
        byte[] keyId = new byte[Byte.toUnsignedInt(in.get())];
        in.get(keyId);
        byte[] salt = new byte[32];
        in.get(salt);
        byte[] prefix = new byte[8];
        in.get(prefix);
        byte[] fileKey = hkdf(dataKey, salt, joined("atrium-tenant-file-v1", tenantId, fileId,
                new String(keyId, US_ASCII)), 32);
        Cipher cipher = Cipher.getInstance("AES/GCM/NoPadding");
        ByteArrayOutputStream plain = new ByteArrayOutputStream();
        int sealedChunk = 64 * 1024 + 16;
        for (int index = 0; ; index++) {
            int length = Math.min(sealedChunk, in.remaining());
            boolean last = in.remaining() <= sealedChunk;
            byte[] nonce = ByteBuffer.allocate(12).put(prefix).putInt(index).array();
            cipher.init(Cipher.DECRYPT_MODE, new SecretKeySpec(fileKey, "AES"), new GCMParameterSpec(128, nonce));
            cipher.updateAAD(ByteBuffer.allocate(5).putInt(index).put((byte) (last ? 1 : 0)).array());
            byte[] chunk = new byte[length];
            in.get(chunk);
            plain.writeBytes(cipher.doFinal(chunk));
            if (last) {
                return plain.toByteArray();
            }
        }
    }

    static int headerLength(String keyId) {
        return 4 + 1 + 1 + keyId.length() + 32 + 8;
    }

    private static byte[] joined(String context, String... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(context.getBytes(UTF_8));
        for (String part : parts) {
            out.write(0);
            out.writeBytes(part.getBytes(UTF_8));
        }
        return out.toByteArray();
    }
}
