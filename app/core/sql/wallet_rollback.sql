-- wallet_rollback(): a rollback in one statement, by the same steps as wallet_transfer.
-- Under the player's row lock: an original not seen yet leaves a tombstone (the rollback
-- is recorded and moves nothing; wallet_transfer then cancels the original when it comes
-- for this account); an original of another player or currency is a conflict (nothing is
-- recorded: status 'conflict', no id); an original that moved no money, or one already
-- reversed, is a recorded no-op; otherwise the original's own legs are posted reversed
-- (never the request's amount), and the original is counted back out of the limits'
-- totals of its own period (limit_count). A rollback is never declined: not for a
-- block, an exclusion or a limit. The partial unique index on applied rollbacks keeps
-- an original reversed at most once even if this function were wrong.
DROP FUNCTION IF EXISTS wallet_rollback(text, text, text, text, numeric, text, jsonb);
CREATE FUNCTION wallet_rollback(
    provider_ text, external_id_ text, player_id_ text, currency_ text,
    amount_ numeric, reference_id_ text, details_ jsonb
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
    original record;
    delta numeric := 0;
    status_ text := 'applied';
    reason_ text;
    recorded bigint;
    leg_accounts bigint[];
    leg_currencies text[];
    leg_amounts numeric[];
BEGIN
    RETURN QUERY SELECT * FROM wallet_recorded(provider_, external_id_);
    IF FOUND THEN
        RETURN;
    END IF;

    SELECT a.id, a.balance, a.limited INTO acct
    FROM accounts a JOIN players p ON p.id = a.player_id
    WHERE a.player_id = player_id_ AND a.currency = currency_
    FOR UPDATE OF a;
    IF NOT FOUND THEN
        RETURN;
    END IF;

    SELECT o.id, o.kind, o.status, o.amount, o.account_id, o.created_at INTO original
    FROM provider_transactions o
    WHERE o.provider = provider_ AND o.external_id = reference_id_;
    IF NOT FOUND THEN
        status_ := 'tombstone';
    ELSIF original.account_id IS DISTINCT FROM acct.id THEN
        RETURN QUERY SELECT NULL::bigint, external_id_, 'rollback'::text, 'conflict'::text,
            NULL::text, player_id_, currency_, amount_, reference_id_, acct.id::bigint,
            acct.balance::numeric, acct.balance::numeric, false, original.amount::numeric,
            NULL::text, NULL::numeric;
        RETURN;
    ELSIF original.kind NOT IN ('bet', 'win') OR original.status <> 'applied' THEN
        status_ := 'noop';
        reason_ := 'nothing_to_reverse';
    ELSIF EXISTS (
        SELECT 1 FROM provider_transactions r
        WHERE r.provider = provider_ AND r.kind = 'rollback' AND r.reference_id = reference_id_
          AND r.status = 'applied'
    ) THEN
        status_ := 'noop';
        reason_ := 'already_rolled_back';
    ELSE
        SELECT array_agg(p.account_id ORDER BY p.id), array_agg(p.currency ORDER BY p.id),
               array_agg(-p.amount ORDER BY p.id),
               coalesce(sum(-p.amount) FILTER (WHERE p.account_id = acct.id), 0)
        INTO leg_accounts, leg_currencies, leg_amounts, delta
        FROM journal_transactions j JOIN postings p ON p.journal_id = j.id
        WHERE j.provider_transaction_id = original.id;
    END IF;

    INSERT INTO provider_transactions AS t (provider, external_id, kind, player_id, currency,
        amount, reference_id, status, reason, account_id, balance_before, balance_after, details,
        created_at)
    VALUES (provider_, external_id_, 'rollback', player_id_, currency_, amount_, reference_id_,
        status_, reason_, acct.id, acct.balance, acct.balance + delta, details_, wallet_now())
    ON CONFLICT (provider, external_id) DO NOTHING
    RETURNING t.id INTO recorded;
    IF recorded IS NULL THEN
        RETURN QUERY SELECT * FROM wallet_recorded(provider_, external_id_);
        RETURN;
    END IF;

    IF leg_accounts IS NOT NULL THEN
        PERFORM ledger_post('rollback', recorded, leg_accounts, leg_currencies, leg_amounts);
        IF acct.limited THEN
            PERFORM limit_count(acct.id, original.kind, -original.amount, original.created_at);
        END IF;
    END IF;

    RETURN QUERY SELECT recorded, external_id_, 'rollback'::text, status_, reason_, player_id_,
        currency_, amount_, reference_id_, acct.id::bigint, acct.balance::numeric,
        (acct.balance + delta)::numeric, false, original.amount::numeric, NULL::text,
        NULL::numeric;
END
$$;
