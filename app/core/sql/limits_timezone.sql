-- limits_timezone(): the zone whose calendar the limits' days, weeks and months follow:
-- LIMITS_TIMEZONE as `wallet db upgrade` stored it in wallet_settings, UTC when absent.
-- One row, so callers join it (`CROSS JOIN limits_timezone() AS zone`). A join rather
-- than a subquery: the planner inlines this function and then limit_period_start, which
-- it would not do with a subquery for an argument.
DROP FUNCTION IF EXISTS limits_timezone();
CREATE FUNCTION limits_timezone() RETURNS TABLE (name text) LANGUAGE sql STABLE AS $$
    SELECT coalesce(s.value, 'UTC')
    FROM (VALUES ('limits_timezone')) AS wanted(name)
    LEFT JOIN wallet_settings s ON s.name = wanted.name
$$;
