-- Failed authentications are sampled: one row per source address per minute, with how many failures it stands for.
ALTER TABLE audit_log ADD COLUMN occurrences INTEGER NOT NULL DEFAULT 1;

-- the sampler writes the count onto the row of a window's first failure, found by source address and time
CREATE INDEX audit_log_source_time ON audit_log (source_address, time);
