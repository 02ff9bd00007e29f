-- limit_recount(): one limit's total for the period holding at_, counted again from the
-- account's provider transactions, as limit_count would have kept it: applied bets,
-- wins (taken off a loss) and deposits made in the period, less those rolled back since.
-- Run when a limit is set where none was kept; limit_count keeps it from then on.
DROP FUNCTION IF EXISTS limit_recount(bigint, text, text, timestamptz);
CREATE FUNCTION limit_recount(account_id_ bigint, kind_ text, period_ text, at_ timestamptz)
RETURNS numeric LANGUAGE sql STABLE AS $$
    SELECT coalesce(sum(CASE t.kind WHEN 'win' THEN -t.amount ELSE t.amount END), 0)
    FROM provider_transactions t CROSS JOIN limits_timezone() AS zone
    WHERE t.account_id = account_id_
      AND t.created_at >= limit_period_start(period_, at_, zone.name)
      AND t.created_at < limit_period_start(period_, at_, zone.name, 1)
      AND t.status = 'applied'
      AND t.kind = ANY (CASE kind_ WHEN 'loss' THEN ARRAY['bet', 'win']
                                   WHEN 'wager' THEN ARRAY['bet']
                                   WHEN 'deposit' THEN ARRAY['deposit'] END)
      AND NOT EXISTS (
          SELECT 1 FROM provider_transactions r
          WHERE r.provider = t.provider AND r.kind = 'rollback'
            AND r.reference_id = t.external_id AND r.status = 'applied')
$$;
