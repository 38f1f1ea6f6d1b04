-- Tenants, their API keys (stored as SHA-256 hashes only), and the audit log.
CREATE TABLE tenants (
    id             TEXT PRIMARY KEY,
    name           TEXT NOT NULL UNIQUE,
    rpm            INTEGER,
    tpm            INTEGER,
    max_concurrent INTEGER,
    created_at     TEXT NOT NULL,
    -- deleted tenants stay, renamed, so that their keys and audit rows keep pointing somewhere
    deleted_at     TEXT
);

CREATE TABLE api_keys (
    id             TEXT PRIMARY KEY,
    -- NULL for platform admin keys
    tenant_id      TEXT REFERENCES tenants (id),
    role           TEXT NOT NULL,
    name           TEXT NOT NULL,
    -- the first characters of the secret, shown to tell keys apart; never enough to use it
    prefix         TEXT NOT NULL,
    secret_sha256  TEXT NOT NULL UNIQUE,
    -- JSON array of model name patterns, or NULL for every model the tenant sees
    models         TEXT,
    rpm            INTEGER,
    tpm            INTEGER,
    max_concurrent INTEGER,
    expires_at     TEXT,
    created_at     TEXT NOT NULL,
    last_used_at   TEXT,
    revoked_at     TEXT
);

CREATE INDEX api_keys_tenant ON api_keys (tenant_id);

CREATE TABLE audit_log (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    time           TEXT NOT NULL,
    actor_key_id   TEXT,
    actor_prefix   TEXT,
    tenant_id      TEXT,
    action         TEXT NOT NULL,
    target         TEXT,
    source_address TEXT,
    outcome        TEXT NOT NULL,
    status         INTEGER NOT NULL
);

CREATE INDEX audit_log_tenant_time ON audit_log (tenant_id, time);
