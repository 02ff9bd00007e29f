-- limit_check(): of the limits in force on an account at at_ that a bet (loss and wager)
-- or a deposit (deposit) counts against, the one with the least left in its current
-- period: its name ('loss/day') and what is left (never below zero). No row: no limit.
-- A limit in force is the row's amount, or its pending change once that is due (a due
-- removal is no limit). What is used comes from limit_usage, kept by limit_count: no
-- scan of postings, one primary-key probe per limit. Inlined into the caller's plan.
DROP FUNCTION IF EXISTS limit_check(bigint, text, timestamptz);
CREATE FUNCTION limit_check(account_id_ bigint, kind_ text, at_ timestamptz)
RETURNS TABLE (limit_name text, remaining numeric) LANGUAGE sql STABLE AS $$
    SELECT l.kind || '/' || l.period, greatest(f.amount - f.used, 0)
    FROM player_limits l
    CROSS JOIN limits_timezone() AS zone
    CROSS JOIN LATERAL (
        SELECT CASE WHEN l.pending_at <= at_ THEN l.pending_amount ELSE l.amount END AS amount,
               coalesce((SELECT u.amount FROM limit_usage u
                         WHERE u.account_id = l.account_id AND u.kind = l.kind
                           AND u.period = l.period
                           AND u.period_start = limit_period_start(l.period, at_, zone.name)),
                        0) AS used
        OFFSET 0  -- kept a subquery, so each limit's total is read once
    ) AS f
    WHERE l.account_id = account_id_
      AND l.kind = ANY (CASE kind_ WHEN 'bet' THEN ARRAY['loss', 'wager']
                                   WHEN 'deposit' THEN ARRAY['deposit'] END)
      AND f.amount IS NOT NULL
    ORDER BY f.amount - f.used, l.kind, l.period
    LIMIT 1
$$;
