-- limit_count(): a bet, win or deposit of amount_ made at at_, added to the period totals
-- of each limit the account has: a bet adds to the loss and the wager, a win takes off
-- the loss, a deposit adds to the deposits. A rollback counts its original back out by
-- passing the original's kind, time and negated amount, so it lands in the original's
-- period. Only limited accounts have rows here, and the caller holds the account's row
-- lock, so totals never race. PL/pgSQL, so its statement's plan is kept per session.
DROP FUNCTION IF EXISTS limit_count(bigint, text, numeric, timestamptz);
CREATE FUNCTION limit_count(account_id_ bigint, kind_ text, amount_ numeric, at_ timestamptz)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO limit_usage AS u (account_id, kind, period, period_start, amount)
    SELECT l.account_id, l.kind, l.period, limit_period_start(l.period, at_, zone.name),
           CASE WHEN kind_ = 'win' THEN -amount_ ELSE amount_ END
    FROM player_limits l CROSS JOIN limits_timezone() AS zone
    WHERE l.account_id = account_id_
      AND l.kind = ANY (CASE kind_ WHEN 'bet' THEN ARRAY['loss', 'wager']
                                   WHEN 'win' THEN ARRAY['loss']
                                   WHEN 'deposit' THEN ARRAY['deposit'] END)
    ON CONFLICT (account_id, kind, period, period_start)
    DO UPDATE SET amount = u.amount + EXCLUDED.amount;
END
$$;
