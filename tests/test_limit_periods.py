"""Calendar periods in LIMITS_TIMEZONE, exact to the microsecond, daylight-saving days
included. London: 2026-03-29 has 23 hours (01:00 GMT → 02:00 BST), 2026-10-25 has 25."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import pytest
from sqlalchemy import text

from app.core import limits
from app.core.wallet import Reason, Status
from tests.factories import PlayerFactory, run_committed
from tests.protection_helpers import bet, roll_back, set_limit, show

LAST_MICROSECOND_OF_MARCH_29 = "2026-03-29T22:59:59.999999Z"  # 23:59:59.999999 BST
MIDNIGHT_MARCH_30 = "2026-03-29T23:00:00Z"  # 00:00 BST


@pytest.fixture(autouse=True)
def london(engine):
    run_committed(limits.store_timezone, "Europe/London")
    yield
    run_committed(limits.store_timezone, "UTC")


@pytest.mark.parametrize(
    ("period", "at", "start", "end"),
    [
        ("day", "2026-03-29T12:00:00Z", "2026-03-29T00:00:00Z", "2026-03-29T23:00:00Z"),
        ("day", "2026-10-25T12:00:00Z", "2026-10-24T23:00:00Z", "2026-10-26T00:00:00Z"),
        ("week", "2026-03-29T22:59:59.999999Z", "2026-03-23T00:00:00Z", "2026-03-29T23:00:00Z"),
        ("week", "2026-03-29T23:00:00Z", "2026-03-29T23:00:00Z", "2026-04-05T23:00:00Z"),
        ("month", "2026-03-31T22:59:59Z", "2026-03-01T00:00:00Z", "2026-03-31T23:00:00Z"),
        ("month", "2026-03-31T23:00:00Z", "2026-03-31T23:00:00Z", "2026-04-30T23:00:00Z"),
    ],
)
def test_a_period_runs_from_local_midnight_to_local_midnight(engine, period, at, start, end):
    with engine.connect() as conn:
        found = conn.execute(
            text(
                "SELECT limit_period_start(:period, :at, 'Europe/London'), "
                "limit_period_start(:period, :at, 'Europe/London', 1)"
            ),
            {"period": period, "at": at},
        ).one()
    assert found == (_at(start), _at(end))


def test_the_day_that_loses_an_hour_ends_at_local_midnight():
    player = PlayerFactory(balance="100.00")
    set_limit(player, "loss 10/day", when="2026-03-29T00:00:00Z")

    assert bet("b1", player, "10", when=LAST_MICROSECOND_OF_MARCH_29).status is Status.APPLIED
    assert bet("b2", player, "1", when=LAST_MICROSECOND_OF_MARCH_29).reason is Reason.LIMIT_EXCEEDED
    assert bet("b3", player, "10", when=MIDNIGHT_MARCH_30).status is Status.APPLIED


def test_the_day_that_gains_an_hour_lasts_twenty_five():
    player = PlayerFactory(balance="100.00")
    set_limit(player, "loss 10/day", when="2026-10-24T23:00:00Z")  # 00:00 BST, October 25

    assert bet("b1", player, "10", when="2026-10-24T23:00:00Z").status is Status.APPLIED
    late = "2026-10-25T23:59:59.999999Z"  # 23:59:59.999999 GMT, still October 25
    assert bet("b2", player, "1", when=late).reason is Reason.LIMIT_EXCEEDED
    assert bet("b3", player, "10", when="2026-10-26T00:00:00Z").status is Status.APPLIED


def test_a_bet_rolled_back_the_next_day_is_counted_back_on_its_own_day():
    player = PlayerFactory(balance="100.00")
    set_limit(player, "loss 10/day", when="2026-03-29T00:00:00Z")
    bet("b1", player, "10", when=LAST_MICROSECOND_OF_MARCH_29)
    bet("b2", player, "10", when=MIDNIGHT_MARCH_30)

    roll_back("rb1", "b1", player, when="2026-03-30T09:00:00Z")

    assert show(player, when="2026-03-30T09:00:00Z")["loss/day"].used == Decimal("10")
    assert show(player, when="2026-03-29T12:00:00Z")["loss/day"].used == Decimal("0")


def test_show_reports_the_short_day_as_it_is():
    player = PlayerFactory()
    set_limit(player, "wager 5/day", when="2026-03-29T12:00:00Z")

    day = show(player, when="2026-03-29T12:00:00Z")["wager/day"]

    assert (day.period_start, day.period_end) == (
        _at("2026-03-29T00:00:00Z"),
        _at("2026-03-29T23:00:00Z"),
    )


def _at(raw: str) -> datetime:
    return datetime.fromisoformat(raw)
