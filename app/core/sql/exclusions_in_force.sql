-- exclusions_in_force(): the self-exclusions and time-outs of a player in force at at_
-- (begun, and not ended; ends_at NULL is permanent). While there is one, the player's
-- bets and deposits are declined; wins, rollbacks and withdrawals are not.
DROP FUNCTION IF EXISTS exclusions_in_force(text, timestamptz);
CREATE FUNCTION exclusions_in_force(player_id_ text, at_ timestamptz)
RETURNS TABLE (id bigint, kind text, ends_at timestamptz) LANGUAGE sql STABLE AS $$
    SELECT e.id, e.kind::text, e.ends_at
    FROM player_exclusions e
    WHERE e.player_id = player_id_ AND e.starts_at <= at_
      AND (e.ends_at IS NULL OR e.ends_at > at_)
$$;
