-- What a trained version was made from (its lineage: the job, the dataset's sha256 and counts, the split seed, the
-- trainer and library versions, hyperparameters, base model, metrics), written with the version in one
-- transaction, so that a job publishing again after a restart finds the version it made.
CREATE TABLE model_version_lineage (
    model_id INTEGER NOT NULL,
    version  INTEGER NOT NULL,
    job_id   TEXT NOT NULL,
    -- JSON object
    lineage  TEXT NOT NULL,
    PRIMARY KEY (model_id, version),
    FOREIGN KEY (model_id, version) REFERENCES model_versions (model_id, version) ON DELETE CASCADE
);

CREATE INDEX model_version_lineage_job ON model_version_lineage (job_id);

-- A job's resumable state (a blob of the tenant's encrypted files), its AutoML leaderboard, and what to promote.
ALTER TABLE fine_tuning_jobs ADD COLUMN state_blob TEXT;
ALTER TABLE fine_tuning_jobs ADD COLUMN leaderboard TEXT;
ALTER TABLE fine_tuning_jobs ADD COLUMN promote TEXT;
