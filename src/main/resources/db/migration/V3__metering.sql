-- Prices, the usage ledger and budgets. Amounts are exact decimals stored as text (SQLite has no exact
-- decimal type); sums are made in Java with BigDecimal, never in SQL floating point.
CREATE TABLE prices (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    model              TEXT NOT NULL,
    -- NULL for the model's price; a tenant id for that tenant's override
    tenant_id          TEXT,
    input_per_1m       TEXT NOT NULL,
    output_per_1m      TEXT NOT NULL,
    per_request        TEXT NOT NULL,
    per_compute_second TEXT NOT NULL,
    currency           TEXT NOT NULL,
    effective_from     TEXT NOT NULL,
    created_at         TEXT NOT NULL
);

CREATE INDEX prices_model ON prices (model, tenant_id, effective_from);

-- One row per request that reached an engine, keyed by a server-made id: writing it twice keeps one row.
CREATE TABLE usage_records (
    request_id         TEXT PRIMARY KEY,
    client_request_id  TEXT,
    started_at         TEXT NOT NULL,
    ended_at           TEXT NOT NULL,
    tenant_id          TEXT,
    key_id             TEXT NOT NULL,
    model              TEXT NOT NULL,
    version            INTEGER NOT NULL,
    endpoint           TEXT NOT NULL,
    outcome            TEXT NOT NULL,
    input_tokens       INTEGER NOT NULL,
    output_tokens      INTEGER NOT NULL,
    requests           INTEGER NOT NULL,
    compute_ms         INTEGER NOT NULL,
    price_id           INTEGER,
    currency           TEXT NOT NULL,
    input_charge       TEXT NOT NULL,
    output_charge      TEXT NOT NULL,
    request_charge     TEXT NOT NULL,
    compute_charge     TEXT NOT NULL,
    charge             TEXT NOT NULL
);

CREATE INDEX usage_records_tenant_time ON usage_records (tenant_id, started_at);
CREATE INDEX usage_records_key_time ON usage_records (key_id, started_at);
CREATE INDEX usage_records_client_id ON usage_records (client_request_id);

CREATE TABLE budgets (
    -- 'tenant:<id>' or 'key:<id>'
    scope          TEXT PRIMARY KEY,
    tenant_id      TEXT NOT NULL,
    monthly_limit  TEXT NOT NULL,
    currency       TEXT NOT NULL,
    -- JSON array of fractions at which to alert, e.g. [0.8]
    alert_at       TEXT NOT NULL,
    updated_at     TEXT NOT NULL
);
