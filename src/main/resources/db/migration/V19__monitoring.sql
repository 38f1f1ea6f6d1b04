-- Each model version's monitoring: the settings its owner gave it (null: the defaults) and the baseline its
-- outputs' drift is measured against, written once it is complete, so that a restart keeps it. The recent window
-- and the traffic figures live in memory only.
CREATE TABLE model_version_monitors (
    model_id      INTEGER          NOT NULL,
    version       INTEGER          NOT NULL,
    threshold     DOUBLE PRECISION,
    baseline_size INTEGER,
    window_size   INTEGER,
    -- 1 once the baseline was reset by hand: it is taken from requests even where validation data exists
    from_requests INTEGER          NOT NULL DEFAULT 0,
    -- JSON (measure, source, labels or cuts, counts, means, centroid, completed_at); null until complete
    baseline      TEXT,
    updated_at    INTEGER          NOT NULL,
    PRIMARY KEY (model_id, version),
    FOREIGN KEY (model_id, version) REFERENCES model_versions (model_id, version) ON DELETE CASCADE
);
