-- Which replica runs a fine-tuning job, when it was last seen running it, and whether a cancel was asked for on
-- another replica: a job whose runner has not been seen for a while is queued again (its replica died).
ALTER TABLE fine_tuning_jobs ADD COLUMN runner TEXT;
ALTER TABLE fine_tuning_jobs ADD COLUMN runner_seen BIGINT;
ALTER TABLE fine_tuning_jobs ADD COLUMN cancel_requested BIGINT NOT NULL DEFAULT 0;
