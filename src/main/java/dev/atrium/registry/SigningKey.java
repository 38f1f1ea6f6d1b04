package dev.atrium.registry;

import static java.util.Objects.requireNonNull;

import dev.atrium.store.SecretCipher;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.MessageDigest;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.Signature;
import java.security.spec.PKCS8EncodedKeySpec;
import java.security.spec.X509EncodedKeySpec;
import java.util.Base64;
import java.util.HexFormat;

/**
 * The server's Ed25519 key, which signs the bundles it exports. Made on first use and kept in the data directory
 * (mode 0600), its private half sealed by the secrets key, so a copy of the data directory alone cannot sign. Its
 * public half is published ({@code GET /admin/signing-key}) for edge devices to pin; its id is the first 16 hex
 * digits of the SHA-256 of the public key's X.509 encoding. Publishers' keys, which sign model uploads, are the same
 * kind of key, made and used by {@code atrium models keygen} and {@code sign} ({@link #fromPrivateKey}).
 */
public final class SigningKey {
    public static final String ALGORITHM = "Ed25519";
    private static final String FILE = "signing-key";
    private static final String CONTEXT = "signing-key";

    private final PrivateKey privateKey;
    private final PublicKey publicKey;

    private SigningKey(PrivateKey privateKey, PublicKey publicKey) {
        this.privateKey = requireNonNull(privateKey, "privateKey is null");
        this.publicKey = requireNonNull(publicKey, "publicKey is null");
    }

    /** The data directory's key, made (and saved) if it has none. */
    public static SigningKey open(Path dataDir, SecretCipher secrets) {
        Path file = dataDir.resolve(FILE);
        try {
            if (Files.exists(file)) {
                return parse(Files.readString(file, StandardCharsets.US_ASCII), secrets, file.toString());
            }
            String text = newKeyText(secrets);
            Path partial = dataDir.resolve(FILE + ".partial");
            Files.deleteIfExists(partial);
            Files.createFile(partial, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
            Files.writeString(partial, text, StandardCharsets.US_ASCII, StandardOpenOption.TRUNCATE_EXISTING);
            Files.move(partial, file, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
            return parse(text, secrets, file.toString());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read or write the signing key in " + dataDir, e);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("the signing key in " + dataDir + " is not an Ed25519 key", e);
        }
    }

    /**
     * The data directory's key, opened (or made) when first asked for rather than at start: a server whose secrets
     * key changed still starts and serves, and only what signs fails, saying why. A failure is not kept; the next
     * call tries again.
     */
    /**
     * The key of a store shared by replicas (PostgreSQL), kept in the store (its private half sealed by the secrets
     * key every replica shares), so that every replica signs with one key and publishes one public key. Made on
     * first use; a data directory moved into the store keeps its key (its file is taken when the store has none).
     */
    public static SigningKey open(org.jdbi.v3.core.Jdbi jdbi, Path dataDir, SecretCipher secrets) {
        java.util.function.Supplier<java.util.Optional<String>> stored = () -> jdbi.withHandle(handle -> handle
                .createQuery("SELECT value FROM server_keys WHERE name = :name").bind("name", FILE)
                .mapTo(String.class).findOne());
        java.util.Optional<String> text = stored.get();
        if (text.isEmpty()) {
            Path file = dataDir.resolve(FILE);
            String candidate;
            try {
                candidate = Files.exists(file) ? Files.readString(file, StandardCharsets.US_ASCII)
                        : newKeyText(secrets);
            } catch (IOException e) {
                throw new UncheckedIOException("cannot read the signing key in " + dataDir, e);
            } catch (GeneralSecurityException e) {
                throw new IllegalStateException("the JDK has no Ed25519", e);
            }
            jdbi.useHandle(handle -> handle.createUpdate(
                            "INSERT INTO server_keys (name, value) VALUES (:name, :value) ON CONFLICT (name) DO NOTHING")
                    .bind("name", FILE).bind("value", candidate).execute());
            text = stored.get(); // another replica's, if it made one first
        }
        try {
            return parse(text.orElseThrow(), secrets, "the store's server_keys");
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("the signing key in the store is not an Ed25519 key", e);
        }
    }

    private static String newKeyText(SecretCipher secrets) throws GeneralSecurityException {
        KeyPair pair = KeyPairGenerator.getInstance(ALGORITHM).generateKeyPair();
        return Base64.getEncoder().encodeToString(pair.getPublic().getEncoded()) + "\n"
                + secrets.seal(Base64.getEncoder().encodeToString(pair.getPrivate().getEncoded()), CONTEXT) + "\n";
    }

    /** A key from its text: the public key's base64, then the private key's, sealed by the secrets key. */
    private static SigningKey parse(String text, SecretCipher secrets, String where) throws GeneralSecurityException {
        String[] lines = text.strip().split("\n");
        if (lines.length != 2) {
            throw new IllegalStateException(where + " holds no signing key");
        }
        byte[] privateBytes = Base64.getDecoder().decode(secrets.open(lines[1].strip(), CONTEXT));
        KeyFactory factory = KeyFactory.getInstance(ALGORITHM);
        return new SigningKey(factory.generatePrivate(new PKCS8EncodedKeySpec(privateBytes)),
                publicKey(lines[0].strip()));
    }

    /** The server's key, opened when first needed: from the shared store on PostgreSQL, else the data directory. */
    public static java.util.function.Supplier<SigningKey> whenNeeded(dev.atrium.store.Database database,
            Path dataDir, SecretCipher secrets) {
        if (database.dialect() != dev.atrium.store.Dialect.POSTGRESQL) {
            return whenNeeded(dataDir, secrets);
        }
        return whenNeeded(() -> open(database.jdbi(), dataDir, secrets));
    }

    public static java.util.function.Supplier<SigningKey> whenNeeded(Path dataDir, SecretCipher secrets) {
        return whenNeeded(() -> open(dataDir, secrets));
    }

    private static java.util.function.Supplier<SigningKey> whenNeeded(java.util.function.Supplier<SigningKey> opener) {
        return new java.util.function.Supplier<>() {
            private SigningKey key;

            @Override
            public synchronized SigningKey get() {
                if (key == null) {
                    try {
                        key = opener.get();
                    } catch (RuntimeException e) {
                        throw dev.atrium.AtriumException.internal("the server's signing key cannot be opened (was"
                                + " the secrets key changed?)", e);
                    }
                }
                return key;
            }
        };
    }

    /** A key made in memory, for a process that signs without a data directory (tests, tools). */
    public static SigningKey generate() {
        try {
            KeyPair pair = KeyPairGenerator.getInstance(ALGORITHM).generateKeyPair();
            return new SigningKey(pair.getPrivate(), pair.getPublic());
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("the JDK has no Ed25519", e);
        }
    }

    /**
     * A publisher's key from its private half, PKCS#8 as base64 or PEM ({@code atrium models keygen} writes one;
     * {@code openssl genpkey -algorithm ed25519} makes one too). The public half is derived from it.
     *
     * @throws IllegalArgumentException when the text is not an Ed25519 private key
     */
    public static SigningKey fromPrivateKey(String pkcs8) {
        String base64 = pkcs8.replaceAll("-----(BEGIN|END) PRIVATE KEY-----", "").replaceAll("\\s", "");
        try {
            PrivateKey privateKey = KeyFactory.getInstance(ALGORITHM).generatePrivate(
                    new PKCS8EncodedKeySpec(Base64.getDecoder().decode(base64)));
            byte[] seed = ((java.security.interfaces.EdECPrivateKey) privateKey).getBytes()
                    .orElseThrow(() -> new IllegalArgumentException("the private key has no key bytes"));
            // Ed25519's public key is a function of its 32-byte seed: the JDK's generator, handed exactly that seed
            // as its randomness, computes it
            KeyPairGenerator generator = KeyPairGenerator.getInstance(ALGORITHM);
            generator.initialize(java.security.spec.NamedParameterSpec.ED25519, new FixedSeed(seed));
            KeyPair pair = generator.generateKeyPair();
            SigningKey key = new SigningKey(privateKey, pair.getPublic());
            byte[] probe = "atrium key check".getBytes(StandardCharsets.US_ASCII);
            if (!verify(pair.getPublic(), probe, key.sign(probe))) {
                throw new IllegalArgumentException("cannot derive the public key of this private key");
            }
            return key;
        } catch (IllegalArgumentException | ClassCastException | GeneralSecurityException e) {
            throw new IllegalArgumentException("not an Ed25519 private key (PKCS#8, base64 or PEM)");
        }
    }

    /** The private half, PKCS#8, base64: what a publisher keeps to itself. */
    public String privateKeyBase64() {
        return Base64.getEncoder().encodeToString(privateKey.getEncoded());
    }

    /** Randomness that is a given seed: makes a key pair generator rebuild the pair of a known private key. */
    private static final class FixedSeed extends java.security.SecureRandom {
        private final byte[] seed;

        FixedSeed(byte[] seed) {
            this.seed = seed.clone();
        }

        @Override
        public void nextBytes(byte[] bytes) {
            if (bytes.length != seed.length) {
                throw new IllegalStateException("expected a request for " + seed.length + " bytes");
            }
            System.arraycopy(seed, 0, bytes, 0, seed.length);
        }
    }

    /** The public key's X.509 (SubjectPublicKeyInfo) encoding, base64. */
    public String publicKeyBase64() {
        return Base64.getEncoder().encodeToString(publicKey.getEncoded());
    }

    public String keyId() {
        return keyId(publicKey);
    }

    /** The Ed25519 signature of {@code data}. */
    public byte[] sign(byte[] data) {
        try {
            Signature signature = Signature.getInstance(ALGORITHM);
            signature.initSign(privateKey);
            signature.update(data);
            return signature.sign();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("signing failed", e);
        }
    }

    /** The id of a public key: the first 16 hex digits of the SHA-256 of its X.509 encoding. */
    public static String keyId(PublicKey key) {
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256").digest(key.getEncoded());
            return HexFormat.of().formatHex(digest, 0, 8);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * A public key from its base64 X.509 encoding.
     *
     * @throws IllegalArgumentException when it is not an Ed25519 public key
     */
    public static PublicKey publicKey(String base64) {
        try {
            byte[] encoded = Base64.getDecoder().decode(base64.strip());
            return KeyFactory.getInstance(ALGORITHM).generatePublic(new X509EncodedKeySpec(encoded));
        } catch (IllegalArgumentException | GeneralSecurityException e) {
            throw new IllegalArgumentException("not a base64 Ed25519 public key (X.509 encoding)");
        }
    }

    /** Whether {@code signature} is {@code key}'s Ed25519 signature of {@code data}. */
    public static boolean verify(PublicKey key, byte[] data, byte[] signature) {
        try {
            Signature verifier = Signature.getInstance(ALGORITHM);
            verifier.initVerify(key);
            verifier.update(data);
            return verifier.verify(signature);
        } catch (GeneralSecurityException | IllegalArgumentException e) {
            return false;
        }
    }
}
