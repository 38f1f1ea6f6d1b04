-- Models, their immutable versions, the files of each version, and aliases.
CREATE TABLE models (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    -- the tenant that owns the model, or '' for a public model (published by the platform admin)
    owner        TEXT    NOT NULL DEFAULT '',
    name         TEXT    NOT NULL,
    task         TEXT    NOT NULL,
    engine       TEXT    NOT NULL,
    description  TEXT    NOT NULL DEFAULT '',
    created_at   TEXT    NOT NULL,
    -- version numbers are never reused, even after a version is deleted
    next_version INTEGER NOT NULL DEFAULT 1,
    -- names are unique within a tenant, so a name taken in one tenant says nothing to another
    UNIQUE (owner, name)
);

CREATE TABLE model_versions (
    model_id   INTEGER NOT NULL REFERENCES models (id) ON DELETE CASCADE,
    version    INTEGER NOT NULL,
    metadata   TEXT    NOT NULL,
    config     TEXT    NOT NULL,
    created_at TEXT    NOT NULL,
    PRIMARY KEY (model_id, version)
);

CREATE TABLE model_version_files (
    model_id   INTEGER NOT NULL,
    version    INTEGER NOT NULL,
    role       TEXT    NOT NULL,
    sha256     TEXT    NOT NULL,
    size_bytes INTEGER NOT NULL,
    PRIMARY KEY (model_id, version, role),
    FOREIGN KEY (model_id, version) REFERENCES model_versions (model_id, version) ON DELETE CASCADE
);

CREATE INDEX model_version_files_sha256 ON model_version_files (sha256);

CREATE TABLE model_aliases (
    model_id   INTEGER NOT NULL,
    alias      TEXT    NOT NULL,
    version    INTEGER NOT NULL,
    updated_at TEXT    NOT NULL,
    PRIMARY KEY (model_id, alias),
    -- a version an alias points at cannot be deleted
    FOREIGN KEY (model_id, version) REFERENCES model_versions (model_id, version) ON DELETE RESTRICT
);

-- One-time facts about this data directory, e.g. that the bundled models were registered.
CREATE TABLE server_state (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
