-- Rate limits shared by replicas (PostgreSQL only: on SQLite one process holds them in memory, exactly).
--
-- A meter is a key or a tenant ('key:ID', 'tenant:ID'). Its requests and tokens are counted in fixed windows
-- aligned to the epoch (window_start is a multiple of the window, by the database's clock, so that every replica
-- agrees); its requests at once are leases, each with an expiry, so that a replica that dies mid-request gives
-- its places back when they expire. The requests row of a meter is also its lock: every admission locks the rows
-- it touches in name order, so that admissions never deadlock.

CREATE TABLE rate_windows (
    -- 'METER:requests' or 'METER:tokens'
    scope        TEXT   PRIMARY KEY,
    -- epoch microseconds, a multiple of the window
    window_start BIGINT NOT NULL,
    used         BIGINT NOT NULL CHECK (used >= 0)
);

CREATE TABLE rate_leases (
    lease      TEXT   NOT NULL,
    meter      TEXT   NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (lease, meter)
);
CREATE INDEX rate_leases_meter ON rate_leases (meter, expires_at);

-- Admits one request against every meter (all or none): per meter its requests per window (rpm, or null for
-- none) and its requests at once (concurrent, or null for none). Answers refused = 0 when admitted (then one
-- lease named lease holds a place in every meter with a concurrency limit), else the 1-based index of the meter
-- that refused and whether it was its concurrency; with the database's time, the window's start and, per meter,
-- the requests left in the window (null where it has no rpm) and the tokens left (null where it has no tpm), for
-- the rate headers of every answer.
CREATE FUNCTION atrium_admit(meters TEXT[], rpm BIGINT[], tpm BIGINT[], concurrent BIGINT[], lease TEXT,
                             window_us BIGINT, lease_us BIGINT)
    RETURNS TABLE (refused INT, by_concurrency BOOLEAN, now_us BIGINT, window_start_us BIGINT, remaining BIGINT[],
                   tokens_left BIGINT[])
    LANGUAGE plpgsql AS $$
DECLARE
    v_now   BIGINT := (extract(epoch FROM clock_timestamp()) * 1000000)::BIGINT;
    v_start BIGINT := v_now - v_now % window_us;
    v_rows  TEXT[] := ARRAY(SELECT m || ':requests' FROM unnest(meters) AS m);
    v_left  BIGINT[] := '{}';
    v_tokens BIGINT[];
    v_used  BIGINT;
    v_held  BIGINT;
BEGIN
    -- counters are not money: their commits need not wait for the disk (a crash of the database may forget the
    -- last few admissions), so that a hot key's row is locked for microseconds, not a disk flush
    PERFORM set_config('synchronous_commit', 'off', true);
    INSERT INTO rate_windows (scope, window_start, used)
        SELECT r, v_start, 0 FROM unnest(v_rows) AS r ON CONFLICT DO NOTHING;
    PERFORM 1 FROM rate_windows w WHERE w.scope = ANY (v_rows) ORDER BY w.scope FOR UPDATE;
    UPDATE rate_windows w SET window_start = v_start, used = 0
        WHERE w.scope = ANY (v_rows) AND w.window_start <> v_start;
    FOR i IN 1 .. cardinality(meters) LOOP
        IF concurrent[i] IS NOT NULL THEN
            DELETE FROM rate_leases l WHERE l.meter = meters[i] AND l.expires_at < v_now;
            SELECT count(*) INTO v_held FROM rate_leases l WHERE l.meter = meters[i];
            IF v_held >= concurrent[i] THEN
                RETURN QUERY SELECT i, TRUE, v_now, v_start, v_left, NULL::BIGINT[];
                RETURN;
            END IF;
        END IF;
        SELECT w.used INTO v_used FROM rate_windows w WHERE w.scope = v_rows[i];
        IF rpm[i] IS NOT NULL AND v_used + 1 > rpm[i] THEN
            RETURN QUERY SELECT i, FALSE, v_now, v_start, v_left, NULL::BIGINT[];
            RETURN;
        END IF;
        v_left := v_left || CASE WHEN rpm[i] IS NULL THEN NULL ELSE rpm[i] - v_used - 1 END;
    END LOOP;
    FOR i IN 1 .. cardinality(meters) LOOP
        IF rpm[i] IS NOT NULL THEN
            UPDATE rate_windows w SET used = w.used + 1 WHERE w.scope = v_rows[i];
        END IF;
        IF concurrent[i] IS NOT NULL THEN
            INSERT INTO rate_leases (lease, meter, expires_at) VALUES (lease, meters[i], v_now + lease_us);
        END IF;
    END LOOP;
    v_tokens := ARRAY(SELECT tpm[u.i] - COALESCE((SELECT w.used FROM rate_windows w
                          WHERE w.scope = u.m || ':tokens' AND w.window_start = v_start), 0)
                      FROM unnest(meters) WITH ORDINALITY AS u (m, i) ORDER BY u.i);
    RETURN QUERY SELECT 0, FALSE, v_now, v_start, v_left, v_tokens;
END
$$;

-- Takes tokens from every meter with a token limit (tpm, or null for none), all or none. Answers refused = 0
-- when taken, else the 1-based index of the meter that refused; with the database's time, the window's start
-- and, per meter, the tokens left in the window (null where it has no tpm).
CREATE FUNCTION atrium_take_tokens(meters TEXT[], tpm BIGINT[], tokens BIGINT, window_us BIGINT)
    RETURNS TABLE (refused INT, now_us BIGINT, window_start_us BIGINT, remaining BIGINT[])
    LANGUAGE plpgsql AS $$
DECLARE
    v_now   BIGINT := (extract(epoch FROM clock_timestamp()) * 1000000)::BIGINT;
    v_start BIGINT := v_now - v_now % window_us;
    v_rows  TEXT[] := ARRAY(SELECT m || ':tokens' FROM unnest(meters) AS m);
    v_left  BIGINT[] := '{}';
    v_used  BIGINT;
BEGIN
    -- counters are not money: their commits need not wait for the disk (a crash of the database may forget the
    -- last few admissions), so that a hot key's row is locked for microseconds, not a disk flush
    PERFORM set_config('synchronous_commit', 'off', true);
    INSERT INTO rate_windows (scope, window_start, used)
        SELECT r, v_start, 0 FROM unnest(v_rows) AS r ON CONFLICT DO NOTHING;
    PERFORM 1 FROM rate_windows w WHERE w.scope = ANY (v_rows) ORDER BY w.scope FOR UPDATE;
    UPDATE rate_windows w SET window_start = v_start, used = 0
        WHERE w.scope = ANY (v_rows) AND w.window_start <> v_start;
    FOR i IN 1 .. cardinality(meters) LOOP
        SELECT w.used INTO v_used FROM rate_windows w WHERE w.scope = v_rows[i];
        IF tpm[i] IS NOT NULL AND v_used + tokens > tpm[i] THEN
            RETURN QUERY SELECT i, v_now, v_start, v_left;
            RETURN;
        END IF;
        v_left := v_left || CASE WHEN tpm[i] IS NULL THEN NULL ELSE tpm[i] - v_used - tokens END;
    END LOOP;
    UPDATE rate_windows w SET used = w.used + tokens WHERE w.scope = ANY (v_rows);
    RETURN QUERY SELECT 0, v_now, v_start, v_left;
END
$$;

-- Where a meter stands now, without taking anything: per meter the requests and tokens left in the window.
CREATE FUNCTION atrium_rate_standing(meters TEXT[], rpm BIGINT[], tpm BIGINT[], window_us BIGINT)
    RETURNS TABLE (now_us BIGINT, window_start_us BIGINT, requests_left BIGINT[], tokens_left BIGINT[])
    LANGUAGE sql STABLE AS $$
    WITH clock AS (SELECT (extract(epoch FROM clock_timestamp()) * 1000000)::BIGINT AS now_us),
         meter AS (SELECT m, i FROM unnest(meters) WITH ORDINALITY AS u (m, i))
    SELECT clock.now_us, clock.now_us - clock.now_us % window_us,
           ARRAY(SELECT rpm[meter.i] - COALESCE((SELECT w.used FROM rate_windows w WHERE w.scope = meter.m || ':requests'
                     AND w.window_start = clock.now_us - clock.now_us % window_us), 0) FROM meter ORDER BY meter.i),
           ARRAY(SELECT tpm[meter.i] - COALESCE((SELECT w.used FROM rate_windows w WHERE w.scope = meter.m || ':tokens'
                     AND w.window_start = clock.now_us - clock.now_us % window_us), 0) FROM meter ORDER BY meter.i)
    FROM clock
$$;
