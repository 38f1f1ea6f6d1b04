-- Shadow traffic: a fraction of the requests an alias answers is mirrored to a candidate version, whose answers are
-- compared with the primary's and then dropped. At most one shadow per alias. `fraction` is a decimal in (0, 1].
CREATE TABLE alias_shadows (
    model_id   INTEGER NOT NULL,
    alias      TEXT    NOT NULL,
    version    INTEGER NOT NULL,
    fraction   TEXT    NOT NULL,
    -- the key that set it
    set_by     TEXT    NOT NULL,
    set_at     INTEGER NOT NULL,
    PRIMARY KEY (model_id, alias),
    FOREIGN KEY (model_id, version) REFERENCES model_versions (model_id, version) ON DELETE CASCADE
);
