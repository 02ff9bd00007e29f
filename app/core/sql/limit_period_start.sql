-- limit_period_start(): where the calendar day, week (ISO: Monday) or month holding at_
-- begins in zone_, or with later_ = 1 where the next one begins. The truncation happens
-- on the local wall clock and the result is turned back into an instant, so a day is 23
-- or 25 hours long across a daylight-saving change and a boundary is exact to the
-- microsecond. One expression, so the planner inlines it.
DROP FUNCTION IF EXISTS limit_period_start(text, timestamptz, text, integer);
CREATE FUNCTION limit_period_start(
    period_ text, at_ timestamptz, zone_ text, later_ integer DEFAULT 0
) RETURNS timestamptz LANGUAGE sql STABLE AS $$
    SELECT (date_trunc(period_, at_ AT TIME ZONE zone_)
            + later_ * CASE period_ WHEN 'day' THEN interval '1 day'
                                    WHEN 'week' THEN interval '1 week'
                                    ELSE interval '1 month' END) AT TIME ZONE zone_
$$;
