-- Tenants' data keys, each stored only wrapped (AES-GCM) by the server's master key: tenant files are encrypted
-- under them, and deleting a tenant's row makes its files unreadable for good.
CREATE TABLE tenant_data_keys (
    tenant_id     TEXT PRIMARY KEY,
    key_id        TEXT NOT NULL UNIQUE,
    master_key_id TEXT NOT NULL,
    wrapped_key   TEXT NOT NULL,
    created_at    INTEGER NOT NULL
);
