-- Supply chain: the publisher keys the platform admin trusts to sign uploads, the signature each signed version was
-- uploaded with (verified then, kept as evidence), and the tenant's own policy of requiring signed uploads.
CREATE TABLE publisher_keys (
    id         TEXT    PRIMARY KEY,
    name       TEXT    NOT NULL,
    -- the first 16 hex digits of the SHA-256 of the public key's X.509 encoding
    key_id     TEXT    NOT NULL UNIQUE,
    -- base64 X.509 (SubjectPublicKeyInfo) encoding of an Ed25519 public key
    public_key TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    -- revoked keys stay, so that the versions they signed keep naming them
    revoked_at INTEGER
);

CREATE TABLE model_version_signatures (
    model_id     INTEGER NOT NULL,
    version      INTEGER NOT NULL,
    publisher_id TEXT    NOT NULL REFERENCES publisher_keys (id),
    key_id       TEXT    NOT NULL,
    -- the signed statement's file hashes (lowercase hex SHA-256, '-' for a file the upload did not have)
    model_sha256     TEXT NOT NULL,
    tokenizer_sha256 TEXT NOT NULL,
    vad_sha256       TEXT NOT NULL,
    config_sha256    TEXT NOT NULL,
    -- base64 Ed25519 signature of the statement
    signature    TEXT    NOT NULL,
    verified_at  INTEGER NOT NULL,
    PRIMARY KEY (model_id, version),
    FOREIGN KEY (model_id, version) REFERENCES model_versions (model_id, version) ON DELETE CASCADE
);

ALTER TABLE tenants ADD COLUMN require_signed_uploads INTEGER NOT NULL DEFAULT 0;
