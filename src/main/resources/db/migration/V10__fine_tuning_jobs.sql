-- Fine-tuning (training) jobs, OpenAI's /v1/fine_tuning/jobs: what to train on which files, how far it is, and
-- the model version it made. Events and checkpoints follow a job's progress.
CREATE TABLE fine_tuning_jobs (
    id               TEXT PRIMARY KEY,
    -- NULL for the platform's own (an admin key)
    tenant_id        TEXT,
    key_id           TEXT NOT NULL,
    method           TEXT NOT NULL,
    base_model       TEXT NOT NULL,
    target_model     TEXT NOT NULL,
    training_file    TEXT NOT NULL,
    validation_file  TEXT,
    -- JSON object
    hyperparameters  TEXT NOT NULL,
    seed             INTEGER NOT NULL,
    status           TEXT NOT NULL,
    fine_tuned_model TEXT,
    -- JSON {"code", "message", "param"} of a failed job
    error            TEXT,
    -- JSON object of the result's evaluation
    metrics          TEXT,
    created_at       INTEGER NOT NULL,
    started_at       INTEGER,
    finished_at      INTEGER
);

CREATE INDEX fine_tuning_jobs_tenant_time ON fine_tuning_jobs (tenant_id, created_at, id);
CREATE INDEX fine_tuning_jobs_status ON fine_tuning_jobs (status, created_at);

CREATE TABLE fine_tuning_events (
    job_id     TEXT NOT NULL,
    seq        INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    level      TEXT NOT NULL,
    message    TEXT NOT NULL,
    -- JSON object, or NULL
    data       TEXT,
    PRIMARY KEY (job_id, seq)
);

CREATE TABLE fine_tuning_checkpoints (
    id         TEXT PRIMARY KEY,
    job_id     TEXT NOT NULL,
    step       INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    -- JSON object of the metrics at this step
    metrics    TEXT NOT NULL
);

CREATE INDEX fine_tuning_checkpoints_job ON fine_tuning_checkpoints (job_id, step);
