"""Moments and periods as people type them (``app/core/periods.py``), LIMITS_TIMEZONE, and
the reports' default period."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.config import ConfigError, load_config
from app.core import periods
from app.errors import InvalidRequest
from tests.factories import PlayerFactory
from tests.finance_helpers import as_json
from tests.igpx_helpers import bet, post

NOW = datetime(2026, 3, 29, 12, 0, tzinfo=UTC)
MALTA = periods.zone("Europe/Malta")


def test_a_date_is_a_whole_day_in_the_reporting_zone():
    day = periods.parse("2026-03-29", MALTA, NOW)  # the day Malta moves to summer time
    assert day.start == datetime(2026, 3, 28, 23, 0, tzinfo=UTC)
    assert day.end == datetime(2026, 3, 29, 22, 0, tzinfo=UTC)


def test_a_timestamp_with_an_offset_is_that_instant_and_an_end_includes_it():
    moment = periods.parse("2026-03-01T10:00:00+02:00", MALTA, NOW)
    assert moment.start == datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
    assert moment.end == moment.start + timedelta(microseconds=1)
    assert periods.parse("2026-03-01T08:00:00Z", MALTA, NOW).start == moment.start


def test_a_timestamp_without_an_offset_is_read_in_the_reporting_zone():
    assert periods.parse("2026-03-01T10:00", MALTA, NOW).start == datetime(
        2026, 3, 1, 9, 0, tzinfo=UTC
    )


@pytest.mark.parametrize(
    ("typed", "ago"),
    [("-7d", timedelta(days=7)), ("-12h", timedelta(hours=12)), ("-2w", timedelta(weeks=2))],
)
def test_relative_moments_count_back_from_now(typed, ago):
    assert periods.parse(typed, MALTA, NOW).start == NOW - ago


def test_now_today_and_yesterday():
    assert periods.parse("now", MALTA, NOW).end is None
    today = periods.parse("today", MALTA, NOW)
    assert today.start == datetime(2026, 3, 28, 23, 0, tzinfo=UTC)
    assert periods.parse("yesterday", MALTA, NOW).end == today.start


@pytest.mark.parametrize("typed", ["", "2026-02-30", "7d", "-7y", "next week", "2026-13-01T00:00"])
def test_anything_else_is_refused_with_the_forms_accepted(typed):
    with pytest.raises(InvalidRequest, match="relative time"):
        periods.parse(typed, MALTA, NOW)


def test_no_period_typed_is_today_when_the_report_defaults_to_it():
    today = periods.period(None, None, "Europe/Malta", default_today=True, now=NOW)
    assert (today.start, today.end, today.default) == (
        datetime(2026, 3, 28, 23, 0, tzinfo=UTC),
        datetime(2026, 3, 29, 22, 0, tzinfo=UTC),
        True,
    )
    everything = periods.period(None, None, "UTC", default_today=False, now=NOW)
    assert (everything.start, everything.end) == (None, None)


def test_an_empty_period_is_refused():
    with pytest.raises(InvalidRequest, match="empty"):
        periods.period("2026-02-02", "2026-02-01", "UTC", default_today=True, now=NOW)


def test_limits_timezone_defaults_to_utc_and_must_be_a_real_zone():
    assert load_config({})["LIMITS_TIMEZONE"] == "UTC"
    assert load_config({"LIMITS_TIMEZONE": "Europe/Malta"})["LIMITS_TIMEZONE"] == "Europe/Malta"
    with pytest.raises(ConfigError, match="LIMITS_TIMEZONE"):
        load_config({"LIMITS_TIMEZONE": "Mars/Olympus"})


def test_ggr_without_a_period_reports_today_and_says_so(client, runner):
    player = PlayerFactory(balance="100.00")
    post(client, "transaction", bet("b1", player, "10"))
    data = as_json(runner(["report", "ggr", "--json"]))
    today = datetime.now(UTC).date().isoformat()
    assert data["period"]["default"] is True
    assert data["period"]["from"].startswith(today)
    assert [(r["day"], r["ggr"]) for r in data["rows"]] == [(today, "10.00")]
    assert "period:" in runner(["report", "ggr"]).stdout
    assert as_json(runner(["report", "ggr", "--from", "-7d", "--json"]))["rows"][0]["ggr"] == (
        "10.00"
    )
