-- wallet_transfer(): a bet, win, deposit or withdrawal in one statement.
-- 1. the stored outcome of (provider, external_id), if any: a replay, no lock taken;
-- 2. the player's account row locked (no row: nothing is returned and the caller says
--    which of player or currency is missing);
-- 3. the outcome decided under the lock: a rollback of this player's account recorded
--    first for this bet or win cancels it (a tombstone; another player's or currency's
--    tombstone with the same id does not); a bet by a blocked player, a bet or deposit
--    by a self-excluded or timed-out player (players.excluded_until), one past a limit
--    (limit_check, on an account with limits: the one with the least left is named) and
--    a debit past the balance are declined; anything else moves the amount. Wins and
--    withdrawals are never declined for protection. Players without an exclusion or a
--    limit pay for neither: both are read from the rows this step locks and joins;
-- 4. the provider transaction recorded under its unique key; if a concurrent duplicate
--    committed first, its row is returned as a replay;
-- 5. the journal transaction and its two legs (ledger_post), which move the cached
--    balance, and the limits' period totals (limit_count).
-- Every statement of a VOLATILE function takes a fresh snapshot, so 4 sees a duplicate
-- that committed while 2 waited. 'rollback' is a literal so the partial index on
-- rollbacks serves the tombstone check in a generic plan.
DROP FUNCTION IF EXISTS wallet_transfer(text, text, text, text, text, numeric, text, text, jsonb);
CREATE FUNCTION wallet_transfer(
    provider_ text, external_id_ text, kind_ text, player_id_ text, currency_ text,
    amount_ numeric, reference_id_ text, counterparty_ text, details_ jsonb
) RETURNS TABLE (
    id bigint, external_id text, kind text, status text, reason text, player_id text,
    currency text, amount numeric, reference_id text, account_id bigint,
    balance_before numeric, balance_after numeric, replayed boolean, original_amount numeric,
    limit_name text, limit_remaining numeric
) LANGUAGE plpgsql
-- Every statement here looks rows up by unique keys, so one generic plan per statement
-- and session serves every call: in the default mode PL/pgSQL re-planned some of them on
-- every call (pgbench_product.sql: +9-21% calls/s, docs/performance.md).
SET plan_cache_mode = force_generic_plan
AS $$
#variable_conflict use_column
DECLARE
    acct record;
    delta numeric := 0;
    status_ text := 'applied';
    reason_ text;
    recorded bigint;
    other bigint;
    at_ timestamptz := wallet_now();
    tightest text;
    tightest_left numeric;
    limit_ text;
    left_ numeric;
BEGIN
    IF kind_ NOT IN ('bet', 'win', 'deposit', 'withdrawal') THEN
        RAISE EXCEPTION 'wallet_transfer does not handle %', kind_;
    END IF;
    RETURN QUERY SELECT * FROM wallet_recorded(provider_, external_id_);
    IF FOUND THEN
        RETURN;
    END IF;

    SELECT a.id, a.balance, a.limited, p.blocked, p.excluded_until INTO acct
    FROM accounts a JOIN players p ON p.id = a.player_id
    WHERE a.player_id = player_id_ AND a.currency = currency_
    FOR UPDATE OF a;
    IF NOT FOUND THEN
        RETURN;
    END IF;

    IF kind_ IN ('bet', 'win') AND EXISTS (
        SELECT 1 FROM provider_transactions r
        WHERE r.provider = provider_ AND r.kind = 'rollback' AND r.reference_id = external_id_
          AND r.account_id = acct.id
    ) THEN
        status_ := CASE kind_ WHEN 'bet' THEN 'declined' ELSE 'cancelled' END;
        reason_ := 'cancelled';
    ELSIF kind_ = 'bet' AND acct.blocked THEN
        status_ := 'declined';
        reason_ := 'player_blocked';
    ELSIF kind_ IN ('bet', 'deposit') AND acct.excluded_until > at_ THEN
        status_ := 'declined';
        reason_ := 'player_excluded';
    ELSE
        IF acct.limited AND kind_ IN ('bet', 'deposit') THEN
            SELECT c.limit_name, c.remaining INTO tightest, tightest_left
            FROM limit_check(acct.id, kind_, at_) AS c;
        END IF;
        IF tightest_left < amount_ THEN
            status_ := 'declined';
            reason_ := 'limit_exceeded';
            limit_ := tightest;
            left_ := tightest_left;
        ELSIF kind_ IN ('bet', 'withdrawal') AND acct.balance < amount_ THEN
            status_ := 'declined';
            reason_ := 'insufficient_funds';
        ELSIF kind_ IN ('bet', 'withdrawal') THEN
            delta := -amount_;
        ELSE
            delta := amount_;
        END IF;
    END IF;

    INSERT INTO provider_transactions AS t (provider, external_id, kind, player_id, currency,
        amount, reference_id, status, reason, account_id, balance_before, balance_after, details,
        limit_name, limit_remaining, created_at)
    VALUES (provider_, external_id_, kind_, player_id_, currency_, amount_, reference_id_,
        status_, reason_, acct.id, acct.balance, acct.balance + delta, details_,
        limit_, left_, at_)
    ON CONFLICT (provider, external_id) DO NOTHING
    RETURNING t.id INTO recorded;
    IF recorded IS NULL THEN
        RETURN QUERY SELECT * FROM wallet_recorded(provider_, external_id_);
        RETURN;
    END IF;

    IF delta <> 0 THEN
        SELECT s.id INTO other FROM accounts s
        WHERE s.name = counterparty_ AND s.currency = currency_;
        IF other IS NULL THEN
            INSERT INTO accounts (name, currency) VALUES (counterparty_, currency_)
            ON CONFLICT (name, currency) DO NOTHING;
            SELECT s.id INTO STRICT other FROM accounts s
            WHERE s.name = counterparty_ AND s.currency = currency_;
        END IF;
        PERFORM ledger_post(kind_, recorded, ARRAY[acct.id, other],
            ARRAY[currency_, currency_], ARRAY[delta, -delta]);
        IF acct.limited AND kind_ <> 'withdrawal' THEN
            PERFORM limit_count(acct.id, kind_, amount_, at_);
        END IF;
    END IF;

    RETURN QUERY SELECT recorded, external_id_, kind_, status_, reason_, player_id_, currency_,
        amount_, reference_id_, acct.id::bigint, acct.balance::numeric,
        (acct.balance + delta)::numeric, false, NULL::numeric, limit_, left_;
END
$$;
