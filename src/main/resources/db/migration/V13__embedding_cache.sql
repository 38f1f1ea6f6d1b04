-- Embeddings of tenants' training files, kept so that another job on the same file with the same embedding model
-- version does not embed its texts again. The vectors live encrypted under the tenant's data key, as its files do
-- (the blob); this row says whose they are, what they were made from, and when they were last used. An entry is
-- never shared between tenants; deleting the file (the last of the tenant's with its sha256) or the tenant removes it.
CREATE TABLE embedding_cache (
    id              TEXT PRIMARY KEY,
    -- NULL for the platform's own (an admin key)
    tenant_id       TEXT,
    -- the embedding model version the vectors were made with: its pinned name:version and its ONNX file's sha256
    model_version   TEXT NOT NULL,
    model_sha256    TEXT NOT NULL,
    -- sha256 of all else that shapes the vectors: tokenizer, pooling, truncation, how the file was read, ...
    settings_sha256 TEXT NOT NULL,
    -- sha256 of the training file's bytes the texts were read from
    file_sha256     TEXT NOT NULL,
    -- the store's name for the encrypted vectors
    blob            TEXT NOT NULL,
    row_count       INTEGER NOT NULL,
    dimension       INTEGER NOT NULL,
    -- the blob's size, for the per-tenant bound
    bytes           INTEGER NOT NULL,
    created_at      INTEGER NOT NULL,
    -- when it was kept or last read, for least-recently-used eviction
    used_at         INTEGER NOT NULL
);

CREATE UNIQUE INDEX embedding_cache_key
    ON embedding_cache (IFNULL(tenant_id, ''), model_version, model_sha256, settings_sha256, file_sha256);
CREATE INDEX embedding_cache_tenant_file ON embedding_cache (tenant_id, file_sha256);
CREATE INDEX embedding_cache_tenant_use ON embedding_cache (tenant_id, used_at);

-- a file's deletion asks whether another file of the tenant has its bytes
CREATE INDEX training_files_tenant_sha256 ON training_files (tenant_id, sha256);
