-- Remote models: the upstream hosts the platform admin lets them point at, and each remote version's upstream
-- API key, encrypted (AES-256-GCM with the server's secrets key; the version's identity is bound into it).
CREATE TABLE upstream_hosts (
    -- a lowercase host name or address, optionally with ':port'
    host       TEXT PRIMARY KEY,
    created_at TEXT NOT NULL
);

CREATE TABLE model_version_secrets (
    model_id   INTEGER NOT NULL,
    version    INTEGER NOT NULL,
    ciphertext TEXT    NOT NULL,
    PRIMARY KEY (model_id, version),
    FOREIGN KEY (model_id, version) REFERENCES model_versions (model_id, version) ON DELETE CASCADE
);
