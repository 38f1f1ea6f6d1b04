package dev.atrium.registry;

import static java.util.Objects.requireNonNull;

import dev.atrium.store.EpochMicros;
import java.time.Instant;

/**
 * Who signed a version's files, as verified at its upload: the publisher and its key, what was signed and the
 * signature itself, kept so that anyone can check it again with the publisher's public key.
 *
 * @param publisherRevoked whether the publisher's key has been revoked since (the version keeps its record)
 * @param signature the base64 Ed25519 signature of {@link SignedFiles#statement()}
 */
public record VersionSignature(String publisherId, String publisherName, String keyId, boolean publisherRevoked,
        SignedFiles signed, String signature, Instant verifiedAt) {

    public VersionSignature {
        requireNonNull(publisherId, "publisherId is null");
        requireNonNull(publisherName, "publisherName is null");
        requireNonNull(keyId, "keyId is null");
        requireNonNull(signed, "signed is null");
        requireNonNull(signature, "signature is null");
        verifiedAt = EpochMicros.truncate(requireNonNull(verifiedAt, "verifiedAt is null"));
    }
}
