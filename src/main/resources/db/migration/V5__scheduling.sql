-- How each model version is scheduled (batch size, token budget, queue delay, instances, threads, queue, deadline),
-- as JSON; fields not set take the server's defaults. Unlike the version's files, this can be changed.
ALTER TABLE model_versions ADD COLUMN scheduling TEXT NOT NULL DEFAULT '{}';
