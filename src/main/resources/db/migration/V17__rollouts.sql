-- Rollouts: a canary of one version of a model on one of its aliases, its traffic stepped up on a schedule while
-- it stays within the plan's thresholds of the baseline, promoted at 100% or rolled back. At most one runs per
-- alias. `plan` is the JSON the rollout was started with (steps, interval, window, thresholds, evaluation).
CREATE TABLE model_rollouts (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    model_id         INTEGER NOT NULL REFERENCES models (id) ON DELETE CASCADE,
    alias            TEXT    NOT NULL,
    baseline_version INTEGER NOT NULL,
    canary_version   INTEGER NOT NULL,
    -- running, promoted, rolled_back or aborted
    state            TEXT    NOT NULL,
    -- the canary's share of the alias's traffic now, in percent
    weight           INTEGER NOT NULL CHECK (weight BETWEEN 0 AND 100),
    plan             TEXT    NOT NULL,
    -- why it ended, or null while it runs
    reason           TEXT,
    -- the key that started it (which also scores the versions when the plan has an evaluation)
    started_by       TEXT    NOT NULL,
    started_at       INTEGER NOT NULL,
    stepped_at       INTEGER NOT NULL,
    ended_at         INTEGER
);

CREATE UNIQUE INDEX model_rollouts_running ON model_rollouts (model_id, alias) WHERE state = 'running';
CREATE INDEX model_rollouts_alias ON model_rollouts (model_id, alias, id);

-- Each step of a rollout, with the figures it was decided on (JSON): its history beside the audit log.
CREATE TABLE model_rollout_steps (
    rollout_id INTEGER NOT NULL REFERENCES model_rollouts (id) ON DELETE CASCADE,
    at         INTEGER NOT NULL,
    action     TEXT    NOT NULL,
    weight     INTEGER NOT NULL,
    detail     TEXT    NOT NULL
);

CREATE INDEX model_rollout_steps_rollout ON model_rollout_steps (rollout_id, at);
