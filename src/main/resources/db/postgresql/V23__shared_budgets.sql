-- Budgets shared by replicas (PostgreSQL only: on SQLite one process keeps its accounts in memory, exactly).
--
-- An account is one budget's month: what its recorded charges add up to ('spent', the sum of the ledger's charges
-- in the budget's currency, kept with each record in the transaction that writes it). A hold is one request's
-- worst case, reserved against every budget it falls under until its record settles it, or until it expires (the
-- replica that held it died). Reservations lock the accounts they touch, in scope order, so that concurrent
-- requests on any replica never reserve past a budget together.

CREATE TABLE budget_accounts (
    scope TEXT    NOT NULL,
    -- 'YYYY-MM', UTC, of the requests' start
    month TEXT    NOT NULL,
    spent NUMERIC NOT NULL,
    PRIMARY KEY (scope, month)
);

CREATE TABLE budget_holds (
    hold       TEXT    NOT NULL,
    scope      TEXT    NOT NULL,
    month      TEXT    NOT NULL,
    amount     NUMERIC NOT NULL,
    -- epoch microseconds by the database's clock
    expires_at BIGINT  NOT NULL,
    PRIMARY KEY (hold, scope)
);
CREATE INDEX budget_holds_scope ON budget_holds (scope, month, expires_at);

-- A stored decimal as a number; one out of bounds (stored before decimals were bounded) is null.
CREATE FUNCTION atrium_decimal(value TEXT) RETURNS NUMERIC LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    IF length(value) > 64 THEN
        RETURN NULL;
    END IF;
    RETURN value::NUMERIC;
EXCEPTION WHEN others THEN
    RETURN NULL;
END
$$;

-- What a budget's records in [from_us, to_us) add up to in its currency: the start of its account.
CREATE FUNCTION atrium_budget_ledger(p_scope TEXT, p_tenant TEXT, p_currency TEXT, p_from BIGINT, p_to BIGINT)
    RETURNS NUMERIC LANGUAGE sql STABLE AS $$
    SELECT COALESCE(sum(r.charge::NUMERIC), 0) FROM usage_records r
    WHERE r.tenant_id = p_tenant AND r.currency = p_currency AND r.started_at >= p_from AND r.started_at < p_to
      AND (p_scope NOT LIKE 'key:%' OR r.key_id = substr(p_scope, 5))
$$;

-- Reserves amount (in currency) against every budget of the scopes ('tenant:ID', 'key:ID') for the month
-- [from_us, to_us), all or none. Answers refused = 0 when held (held names the scopes that had a budget), else
-- the 1-based index of the scope that refused, why ('limit' or 'currency'), and its budget's limit and currency.
CREATE FUNCTION atrium_budget_reserve(p_scopes TEXT[], p_currency TEXT, p_amount NUMERIC, p_month TEXT,
                                      p_from BIGINT, p_to BIGINT, p_hold TEXT, p_hold_us BIGINT)
    RETURNS TABLE (refused INT, reason TEXT, budget_limit NUMERIC, budget_currency TEXT, held TEXT[])
    LANGUAGE plpgsql AS $$
DECLARE
    v_now    BIGINT := (extract(epoch FROM clock_timestamp()) * 1000000)::BIGINT;
    v_held   TEXT[] := '{}';
    v_budget budgets%ROWTYPE;
    v_limit  NUMERIC;
    v_spent  NUMERIC;
    v_holds  NUMERIC;
BEGIN
    FOR i IN 1 .. cardinality(p_scopes) LOOP
        SELECT * INTO v_budget FROM budgets b WHERE b.scope = p_scopes[i];
        CONTINUE WHEN NOT FOUND;
        -- a limit out of bounds counts as 0: priced requests are refused until the budget is set again
        v_limit := COALESCE(atrium_decimal(v_budget.monthly_limit), 0);
        IF v_budget.currency <> p_currency AND p_amount > 0 THEN
            RETURN QUERY SELECT i, 'currency'::TEXT, v_limit, v_budget.currency, v_held;
            RETURN;
        END IF;
        PERFORM 1 FROM budget_accounts a WHERE a.scope = p_scopes[i] AND a.month = p_month;
        IF NOT FOUND THEN
            INSERT INTO budget_accounts (scope, month, spent)
                VALUES (p_scopes[i], p_month,
                        atrium_budget_ledger(p_scopes[i], v_budget.tenant_id, v_budget.currency, p_from, p_to))
                ON CONFLICT DO NOTHING;
        END IF;
        SELECT a.spent INTO v_spent FROM budget_accounts a
            WHERE a.scope = p_scopes[i] AND a.month = p_month FOR UPDATE;
        DELETE FROM budget_holds h WHERE h.scope = p_scopes[i] AND h.expires_at <= v_now;
        SELECT COALESCE(sum(h.amount), 0) INTO v_holds FROM budget_holds h
            WHERE h.scope = p_scopes[i] AND h.month = p_month;
        IF v_spent + v_holds + p_amount > v_limit THEN
            RETURN QUERY SELECT i, 'limit'::TEXT, v_limit, v_budget.currency, v_held;
            RETURN;
        END IF;
        v_held := v_held || p_scopes[i];
    END LOOP;
    INSERT INTO budget_holds (hold, scope, month, amount, expires_at)
        SELECT p_hold, s, p_month, p_amount, v_now + p_hold_us FROM unnest(v_held) AS s;
    RETURN QUERY SELECT 0, NULL::TEXT, NULL::NUMERIC, NULL::TEXT, v_held;
END
$$;

-- Settles a hold with its request's charge, in the transaction that writes the request's usage record: the
-- charge is added to the account of each budget held (in its currency), the hold is gone, and the answer names,
-- per scope, the budget's alert fractions this charge crossed.
CREATE FUNCTION atrium_budget_settle(p_hold TEXT, p_currency TEXT, p_amount NUMERIC, p_from BIGINT, p_to BIGINT)
    RETURNS TABLE (scope TEXT, crossed NUMERIC[], counted BOOLEAN)
    LANGUAGE plpgsql AS $$
DECLARE
    v_hold   RECORD;
    v_budget budgets%ROWTYPE;
    v_limit  NUMERIC;
    v_after  NUMERIC;
    v_before NUMERIC;
BEGIN
    FOR v_hold IN DELETE FROM budget_holds h WHERE h.hold = p_hold RETURNING h.scope, h.month LOOP
        SELECT * INTO v_budget FROM budgets b WHERE b.scope = v_hold.scope;
        CONTINUE WHEN NOT FOUND;
        IF v_budget.currency <> p_currency THEN
            RETURN QUERY SELECT v_hold.scope, '{}'::NUMERIC[], p_amount = 0;
            CONTINUE;
        END IF;
        -- the record is already written in this transaction: a new account's ledger sum includes it
        UPDATE budget_accounts a SET spent = a.spent + p_amount
            WHERE a.scope = v_hold.scope AND a.month = v_hold.month RETURNING a.spent INTO v_after;
        IF NOT FOUND THEN
            INSERT INTO budget_accounts AS a (scope, month, spent)
                VALUES (v_hold.scope, v_hold.month,
                        atrium_budget_ledger(v_hold.scope, v_budget.tenant_id, v_budget.currency, p_from, p_to))
                ON CONFLICT ON CONSTRAINT budget_accounts_pkey DO UPDATE SET spent = a.spent + p_amount
                RETURNING a.spent INTO v_after;
        END IF;
        v_before := v_after - p_amount;
        v_limit := COALESCE(atrium_decimal(v_budget.monthly_limit), 0);
        RETURN QUERY SELECT v_hold.scope, ARRAY(
                SELECT f FROM (SELECT atrium_decimal(t) AS f FROM jsonb_array_elements_text(
                    CASE WHEN length(v_budget.alert_at) <= 2048 THEN v_budget.alert_at::JSONB ELSE '[]'::JSONB END)
                    AS t) fractions
                WHERE f > 0 AND f <= 1 AND v_before < v_limit * f AND v_after >= v_limit * f ORDER BY f),
            TRUE;
    END LOOP;
END
$$;
