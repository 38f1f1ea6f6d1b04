-- Files tenants upload for training (OpenAI's /v1/files). The bytes live encrypted under the tenant's data key in
-- the data directory; this row says whose they are and where.
CREATE TABLE training_files (
    id          TEXT PRIMARY KEY,
    -- NULL for the platform's own (an admin key)
    tenant_id   TEXT,
    filename    TEXT NOT NULL,
    purpose     TEXT NOT NULL,
    bytes       INTEGER NOT NULL,
    sha256      TEXT NOT NULL,
    -- the store's name for the encrypted bytes
    blob        TEXT NOT NULL,
    created_at  INTEGER NOT NULL
);

CREATE INDEX training_files_tenant_time ON training_files (tenant_id, created_at, id);
