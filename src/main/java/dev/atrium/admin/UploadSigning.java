package dev.atrium.admin;

import static java.util.Objects.requireNonNull;

import dev.atrium.AtriumException;
import dev.atrium.ErrorCode;
import dev.atrium.registry.ArtifactFile;
import dev.atrium.registry.Model;
import dev.atrium.registry.PublisherKeys;
import dev.atrium.registry.SignedFiles;
import dev.atrium.registry.StagedArtifact;
import dev.atrium.registry.VersionSignature;
import dev.atrium.server.Json;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;

/**
 * The signing policy of model uploads, and the check of an upload's {@code signature} part.
 *
 * <p>An upload may carry a detached Ed25519 signature, {@code {"key_id": "...", "signature": "<base64>"}}, over the
 * {@link SignedFiles} statement of its files; it is verified against the publisher keys the platform admin trusts
 * whether or not the policy requires it, so a signature that does not verify is always refused. An upload must be
 * signed when the platform requires it ({@code require-signed-uploads}), or, for a tenant's model, when the tenant
 * does ({@code require_signed_uploads}); public models follow the platform setting.
 *
 * <p>The policy is about uploads, files a person brings. Versions Atrium makes itself (trained, quantized, the
 * bundled model) carry no publisher signature and record what they were made from in their lineage; versions imported
 * on the edge come from a bundle whose server signature is checked instead.
 *
 * @param platformRequires whether every upload must be signed
 * @param tenantRequires whether a tenant requires its uploads signed, by tenant id (read fresh for each upload)
 */
public record UploadSigning(PublisherKeys publishers, boolean platformRequires, Predicate<String> tenantRequires) {
    /** The multipart part that carries the signature. */
    static final String PART = "signature";
    private static final List<String> FIELDS = List.of("key_id", "signature");

    public UploadSigning {
        requireNonNull(publishers, "publishers is null");
        requireNonNull(tenantRequires, "tenantRequires is null");
    }

    /** Whether an upload to this model must be signed. */
    public boolean requiresSignature(Model model) {
        return platformRequires || !model.isPublic() && tenantRequires.test(model.owner());
    }

    /**
     * Checks an upload's signature, or its absence, against the policy.
     *
     * @param signature the parsed signature part, or null when the upload has none
     * @return the verified signature to record with the version; null for an unsigned upload the policy allows
     * @throws AtriumException {@code SIGNATURE_REQUIRED} (403) when the policy wants one and none came,
     *     {@code SIGNATURE_INVALID} (400) naming what is wrong with the one that came
     */
    VersionSignature check(Model model, Map<String, StagedArtifact> staged, String configSha256, JsonNode signature) {
        if (signature == null) {
            if (requiresSignature(model)) {
                throw AtriumException.withParam(ErrorCode.SIGNATURE_REQUIRED, PART, "uploads to model '"
                        + model.name() + "' must be signed by a trusted publisher (" + (platformRequires
                        ? "the platform requires it" : "the tenant requires it") + "): add a 'signature' part, made"
                        + " with 'atrium models sign'");
            }
            return null;
        }
        StagedArtifact main = staged.get(model.engine().artifactRole());
        if (main == null) {
            // the registry names the missing part
            return null;
        }
        SignedFiles files = new SignedFiles(main.sha256(), hash(staged.get(ArtifactFile.TOKENIZER)),
                hash(staged.get(ArtifactFile.VAD)), configSha256);
        return publishers.verify(signature.path("key_id").asString(null),
                signature.path("signature").asString(null), files);
    }

    /** The signature part: a JSON object of {@code key_id} and {@code signature}, both strings. */
    static JsonNode parse(byte[] bytes, int maxBytes) {
        if (bytes.length > maxBytes) {
            throw AtriumException.invalidParam(PART, "the 'signature' part is larger than " + maxBytes / 1024
                    + " KiB");
        }
        JsonNode node;
        try {
            node = Json.MAPPER.readTree(bytes);
        } catch (JacksonException e) {
            throw AtriumException.invalidParam(PART, "the 'signature' part is not valid JSON: " + Json.describe(e));
        }
        if (node == null || !node.isObject()) {
            throw AtriumException.invalidParam(PART, "the 'signature' part must be a JSON object:"
                    + " {\"key_id\": \"...\", \"signature\": \"<base64>\"}");
        }
        Json.unknownField(node, FIELDS).ifPresent(field -> {
            throw AtriumException.invalidParam(PART, "unknown field '" + field + "' in the 'signature' part; its"
                    + " fields are key_id and signature");
        });
        for (String field : FIELDS) {
            if (!node.path(field).isString()) {
                throw AtriumException.invalidParam(PART, "the 'signature' part needs '" + field + "', a string");
            }
        }
        return node;
    }

    private static String hash(StagedArtifact file) {
        return file == null ? SignedFiles.NONE : file.sha256();
    }

    static String sha256(byte[] bytes) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
