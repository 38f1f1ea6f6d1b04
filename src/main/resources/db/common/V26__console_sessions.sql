-- Console sign-ins (issue 17): one row per session, by the SHA-256 of its cookie's random id (the id itself is
-- never stored), with the key it acts as, the token state-changing calls must echo (CSRF), and when it ends. In
-- the store, so that a session works on every replica; a revoked key ends its sessions at once (the gateway asks
-- for the key each time).
CREATE TABLE console_sessions (
    id_hash    TEXT   PRIMARY KEY,
    key_id     TEXT   NOT NULL,
    csrf_token TEXT   NOT NULL,
    -- epoch microseconds
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX console_sessions_expiry ON console_sessions (expires_at);
