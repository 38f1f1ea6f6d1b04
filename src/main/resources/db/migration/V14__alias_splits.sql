-- Traffic splits: an alias may point at several versions with weights; model_aliases.version then holds the
-- version with the largest weight (what listings show as the alias's version). `sticky` says what one caller
-- always lands on the same version by: 'none' (each request drawn), 'key' (its API key), 'user' (the request's
-- `user`, else its key).
CREATE TABLE model_alias_splits (
    model_id INTEGER NOT NULL,
    alias    TEXT    NOT NULL,
    version  INTEGER NOT NULL,
    weight   INTEGER NOT NULL CHECK (weight > 0),
    PRIMARY KEY (model_id, alias, version),
    FOREIGN KEY (model_id, version) REFERENCES model_versions (model_id, version)
);

ALTER TABLE model_aliases ADD COLUMN sticky TEXT NOT NULL DEFAULT 'none';
