package dev.atrium.registry;

import static java.util.Objects.requireNonNull;

import dev.atrium.AtriumException;
import dev.atrium.ErrorCode;
import dev.atrium.store.EpochMicros;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Instant;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.regex.Pattern;
import org.jdbi.v3.core.Jdbi;

/**
 * The publisher keys the platform admin trusts to sign uploads (Ed25519), and the check of an upload's signature
 * against them. A key is revoked, never deleted: an upload signed by a revoked key is refused, while the versions it
 * signed before keep their record and show it revoked. Every read goes to the store, so a revocation holds at once
 * (and on every node sharing the store).
 */
public final class PublisherKeys {
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9 ._-]{0,99}");
    private static final Pattern KEY_ID = Pattern.compile("[0-9a-f]{16}");
    private static final int ED25519_SIGNATURE_BYTES = 64;
    private static final int MAX_PUBLIC_KEY_CHARS = 1024;
    private static final SecureRandom RANDOM = new SecureRandom();

    /** One trusted (or formerly trusted) publisher key. */
    public record Publisher(String id, String name, String keyId, String publicKey, Instant createdAt,
            Instant revokedAt) {
        public Publisher {
            requireNonNull(id, "id is null");
            requireNonNull(name, "name is null");
            requireNonNull(keyId, "keyId is null");
            requireNonNull(publicKey, "publicKey is null");
            createdAt = EpochMicros.truncate(requireNonNull(createdAt, "createdAt is null"));
            revokedAt = EpochMicros.truncateNullable(revokedAt);
        }

        public boolean isRevoked() {
            return revokedAt != null;
        }
    }

    private final Jdbi jdbi;
    private final Clock clock;

    public PublisherKeys(Jdbi jdbi, Clock clock) {
        this.jdbi = requireNonNull(jdbi, "jdbi is null");
        this.clock = requireNonNull(clock, "clock is null");
    }

    /**
     * Trusts a publisher's key.
     *
     * @throws AtriumException 400 for a bad name or a key that is not a base64 X.509 Ed25519 public key, 409 for a
     *     key that is known already (revoked ones included: a revoked key stays revoked)
     */
    public Publisher add(String name, String publicKeyBase64) {
        if (name == null || !NAME.matcher(name).matches()) {
            throw AtriumException.invalidParam("name", "a publisher name has 1 to 100 letters, digits, spaces, '.',"
                    + " '_' and '-', starting with a letter or digit");
        }
        if (publicKeyBase64 == null || publicKeyBase64.length() > MAX_PUBLIC_KEY_CHARS) {
            throw AtriumException.invalidParam("public_key", "'public_key' must be an Ed25519 public key, base64 of"
                    + " its X.509 encoding (as 'atrium models keygen' prints it)");
        }
        PublicKey key;
        try {
            key = SigningKey.publicKey(publicKeyBase64);
        } catch (IllegalArgumentException e) {
            throw AtriumException.invalidParam("public_key", "'public_key' is " + e.getMessage());
        }
        String encoded = Base64.getEncoder().encodeToString(key.getEncoded());
        String keyId = SigningKey.keyId(key);
        Optional<Publisher> known = findByKeyId(keyId);
        if (known.isPresent()) {
            throw new AtriumException(ErrorCode.CONFLICT, "key " + keyId + " is known already, as publisher '"
                    + known.get().name() + "' (" + known.get().id() + (known.get().isRevoked() ? ", revoked" : "")
                    + ")");
        }
        byte[] random = new byte[12];
        RANDOM.nextBytes(random);
        Publisher publisher = new Publisher("pub_" + HexFormat.of().formatHex(random), name, keyId, encoded,
                clock.instant(), null);
        jdbi.useHandle(handle -> handle.createUpdate("""
                INSERT INTO publisher_keys (id, name, key_id, public_key, created_at)
                VALUES (:id, :name, :key_id, :public_key, :created_at)""")
                .bind("id", publisher.id())
                .bind("name", publisher.name())
                .bind("key_id", publisher.keyId())
                .bind("public_key", publisher.publicKey())
                .bind("created_at", EpochMicros.of(publisher.createdAt()))
                .execute());
        return publisher;
    }

    /** Every publisher key, revoked ones too, oldest first. */
    public List<Publisher> list() {
        return jdbi.withHandle(handle -> handle.createQuery("SELECT * FROM publisher_keys ORDER BY created_at, id")
                .map((rs, ctx) -> publisher(rs))
                .list());
    }

    public Publisher publisher(String id) {
        return jdbi.withHandle(handle -> handle.createQuery("SELECT * FROM publisher_keys WHERE id = :id")
                        .bind("id", id)
                        .map((rs, ctx) -> publisher(rs))
                        .findOne())
                .orElseThrow(() -> new AtriumException(ErrorCode.NOT_FOUND, "publisher '" + id + "' does not exist"));
    }

    /** Revokes a key: uploads signed by it are refused from now on. Revoking it again changes nothing. */
    public Publisher revoke(String id) {
        Publisher publisher = publisher(id);
        if (!publisher.isRevoked()) {
            jdbi.useHandle(handle -> handle.createUpdate(
                            "UPDATE publisher_keys SET revoked_at = :now WHERE id = :id AND revoked_at IS NULL")
                    .bind("now", EpochMicros.of(clock.instant()))
                    .bind("id", id)
                    .execute());
        }
        return publisher(id);
    }

    /**
     * Checks an upload's signature: by a trusted, unrevoked key, over exactly these files.
     *
     * @param keyId the id of the key the signer names
     * @param signatureBase64 the Ed25519 signature of {@link SignedFiles#statement()}, base64
     * @return the verified signature, to be kept with the version
     * @throws AtriumException {@code SIGNATURE_INVALID} naming what is wrong
     */
    public VersionSignature verify(String keyId, String signatureBase64, SignedFiles files) {
        if (keyId == null || !KEY_ID.matcher(keyId).matches()) {
            throw invalid("'key_id' must be a key id: 16 lowercase hex digits");
        }
        byte[] signature;
        try {
            signature = Base64.getDecoder().decode(signatureBase64 == null ? "" : signatureBase64.strip());
        } catch (IllegalArgumentException e) {
            throw invalid("'signature' is not base64");
        }
        if (signature.length != ED25519_SIGNATURE_BYTES) {
            throw invalid("'signature' is not an Ed25519 signature (64 bytes, base64)");
        }
        Publisher publisher = findByKeyId(keyId).orElseThrow(() -> invalid("key " + keyId
                + " is not a publisher key this platform trusts"));
        if (publisher.isRevoked()) {
            throw invalid("the key " + keyId + " of publisher '" + publisher.name() + "' was revoked at "
                    + publisher.revokedAt() + "; it signs nothing any more");
        }
        if (!SigningKey.verify(SigningKey.publicKey(publisher.publicKey()), files.statement(), signature)) {
            throw invalid("the signature is not publisher '" + publisher.name() + "''s (key " + keyId + ") over"
                    + " this upload's files: model " + files.model() + ", tokenizer " + files.tokenizer() + ", vad "
                    + files.vad() + ", config " + files.config());
        }
        return new VersionSignature(publisher.id(), publisher.name(), keyId, false, files,
                Base64.getEncoder().encodeToString(signature), clock.instant());
    }

    private Optional<Publisher> findByKeyId(String keyId) {
        return jdbi.withHandle(handle -> handle.createQuery("SELECT * FROM publisher_keys WHERE key_id = :key_id")
                .bind("key_id", keyId)
                .map((rs, ctx) -> publisher(rs))
                .findOne());
    }

    private static AtriumException invalid(String message) {
        return AtriumException.withParam(ErrorCode.SIGNATURE_INVALID, "signature", message);
    }

    private static Publisher publisher(ResultSet rs) throws SQLException {
        return new Publisher(rs.getString("id"), rs.getString("name"), rs.getString("key_id"),
                rs.getString("public_key"), EpochMicros.instant(rs, "created_at"),
                EpochMicros.nullableInstant(rs, "revoked_at"));
    }
}
