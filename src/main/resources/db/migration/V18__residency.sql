-- Residency: how a model's loaded versions are kept within the server's memory budget. A model without a row is
-- not pinned and takes the server's keep-alive. `pinned` (0 or 1): the budget never evicts its versions.
-- `keep_alive_seconds`: how long an idle version stays loaded; null for the server's default, -1 for as long as
-- the budget allows.
CREATE TABLE model_residency (
    model_id           INTEGER PRIMARY KEY REFERENCES models (id) ON DELETE CASCADE,
    pinned             INTEGER NOT NULL DEFAULT 0 CHECK (pinned IN (0, 1)),
    keep_alive_seconds INTEGER CHECK (keep_alive_seconds >= -1),
    updated_at         INTEGER NOT NULL
);
