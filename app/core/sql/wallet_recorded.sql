-- wallet_recorded(): the stored outcome of (provider, external_id), as a replay.
-- Every money function answers in these columns; original_amount is the amount of the
-- transaction a fresh rollback reversed (NULL otherwise); limit_name and limit_remaining
-- name the limit that declined a bet or deposit and what it had left.
-- A replay may answer a transaction whose commit was not confirmed by the synchronous
-- standby (its own wait was cancelled: docs/high-availability.md). With a synchronous
-- standby configured, a found row therefore writes a transactional WAL message, so the
-- calling statement commits only once the standby has everything committed before it,
-- the replayed transaction included; without one it writes nothing.
DROP FUNCTION IF EXISTS wallet_recorded(text, text);
CREATE FUNCTION wallet_recorded(provider_ text, external_id_ text)
RETURNS TABLE (
    id bigint, external_id text, kind text, status text, reason text, player_id text,
    currency text, amount numeric, reference_id text, account_id bigint,
    balance_before numeric, balance_after numeric, replayed boolean, original_amount numeric,
    limit_name text, limit_remaining numeric
) LANGUAGE plpgsql AS $$
#variable_conflict use_column
BEGIN
    RETURN QUERY
    SELECT t.id, t.external_id::text, t.kind::text, t.status::text, t.reason::text,
           t.player_id::text, t.currency::text, t.amount::numeric, t.reference_id::text,
           t.account_id, t.balance_before::numeric, t.balance_after::numeric, true,
           NULL::numeric, t.limit_name::text, t.limit_remaining::numeric
    FROM provider_transactions t
    WHERE t.provider = provider_ AND t.external_id = external_id_;
    IF FOUND AND current_setting('synchronous_standby_names') <> '' THEN
        PERFORM pg_logical_emit_message(true, 'wallet', '');
    END IF;
END
$$;
