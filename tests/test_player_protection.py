"""The regulator's scenarios: loss, wager and deposit limits, how they change, and
self-exclusion, played through the wallet core (the three protocols' answers are in
test_protection_answers.py, the concurrent bets in test_protection_concurrency.py)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import text

from app.core import exclusions, limits
from app.core.wallet import Reason, Status
from tests.factories import PlayerFactory, balance, run_committed
from tests.protection_helpers import (
    NO_DELAY,
    bet,
    deposit,
    exclude,
    remove_limit,
    roll_back,
    run,
    set_limit,
    show,
    win,
    withdraw,
)

pytestmark = pytest.mark.usefixtures("engine")

# A quiet Wednesday far from any boundary, and what follows it.
WEDNESDAY = "2031-01-15T10:00:00Z"
WEDNESDAY_LATER = "2031-01-15T12:00:00Z"
THURSDAY_NOON = "2031-01-16T12:00:00Z"
NEXT_MONDAY = "2031-01-20T00:00:00Z"


def test_a_bet_that_would_pass_the_daily_loss_limit_is_declined():
    player = PlayerFactory(balance="100.00")
    set_limit(player, "loss 50/day")
    assert bet("b1", player, "30").status is Status.APPLIED
    assert bet("b2", player, "20").status is Status.APPLIED  # exactly at the limit

    declined = bet("b3", player, "0.01")

    assert declined.reason is Reason.LIMIT_EXCEEDED
    assert (declined.limit, declined.remaining) == ("loss/day", Decimal("0"))
    assert balance(player) == Decimal("50.00")


def test_a_win_gives_back_loss_allowance():
    player = PlayerFactory(balance="100.00")
    set_limit(player, "loss 50/day")
    bet("b1", player, "50")
    win("w1", player, "20")

    assert bet("b2", player, "20.01").reason is Reason.LIMIT_EXCEEDED
    assert bet("b3", player, "20").status is Status.APPLIED
    assert show(player)["loss/day"].used == Decimal("50")


def test_a_rolled_back_bet_is_no_stake():
    player = PlayerFactory(balance="100.00")
    set_limit(player, "loss 50/day")
    bet("b1", player, "50")
    roll_back("rb1", "b1", player)

    assert show(player)["loss/day"].used == Decimal("0")
    assert bet("b2", player, "50").status is Status.APPLIED


def test_a_rolled_back_win_is_no_win():
    player = PlayerFactory(balance="100.00")
    set_limit(player, "loss 50/day")
    bet("b1", player, "50")
    win("w1", player, "20")
    roll_back("rb1", "w1", player)

    assert bet("b2", player, "0.01").reason is Reason.LIMIT_EXCEEDED


def test_a_wager_limit_counts_stakes_whatever_was_won():
    player = PlayerFactory(balance="100.00")
    set_limit(player, "wager 100/week")
    bet("b1", player, "60")
    win("w1", player, "60")
    assert bet("b2", player, "40").status is Status.APPLIED

    declined = bet("b3", player, "0.01")

    assert (declined.reason, declined.limit) == (Reason.LIMIT_EXCEEDED, "wager/week")


def test_the_lowest_of_two_limits_decides():
    player = PlayerFactory(balance="100.00")
    set_limit(player, "loss 100/day")
    set_limit(player, "wager 30/week")

    declined = bet("b1", player, "40")

    assert (declined.limit, declined.remaining) == ("wager/week", Decimal("30"))
    assert bet("b2", player, "30").status is Status.APPLIED


def test_a_limit_set_mid_period_counts_what_the_period_already_saw():
    player = PlayerFactory(balance="100.00")
    bet("b1", player, "40")
    bet("b2", player, "5")
    roll_back("rb2", "b2", player)

    set_limit(player, "loss 50/day")

    assert show(player)["loss/day"].used == Decimal("40")
    assert bet("b3", player, "10.01").reason is Reason.LIMIT_EXCEEDED


def test_deposits_past_the_deposit_limit_are_refused_and_withdrawals_never():
    player = PlayerFactory(balance="0")
    set_limit(player, "deposit 1000/month")
    assert deposit("d1", player, "600").status is Status.APPLIED

    refused = deposit("d2", player, "500")

    assert (refused.reason, refused.remaining) == (Reason.LIMIT_EXCEEDED, Decimal("400"))
    assert deposit("d3", player, "400").status is Status.APPLIED
    assert withdraw("w1", player, "1000").status is Status.APPLIED
    assert deposit("d4", player, "0.01").reason is Reason.LIMIT_EXCEEDED


def test_a_declined_bet_retried_after_the_limit_rose_is_declined_again():
    player = PlayerFactory(balance="100.00")
    set_limit(player, "loss 10/day")
    first = bet("b1", player, "20")
    remove_limit(player, "loss day", delay=NO_DELAY)

    retry = bet("b1", player, "20")

    assert retry.replayed and retry.reason is Reason.LIMIT_EXCEEDED
    assert (retry.limit, retry.remaining) == (first.limit, first.remaining)
    assert bet("b2", player, "20").status is Status.APPLIED


# --- changes ---------------------------------------------------------------------------------


def test_an_increase_waits_for_the_cooling_off_then_applies():
    player = PlayerFactory(balance="100.00")
    set_limit(player, "loss 10/day", when=WEDNESDAY)

    raised = set_limit(player, "loss 50/day", when=WEDNESDAY_LATER)

    assert raised.action == "increase" and raised.pending
    pending = show(player, when=WEDNESDAY_LATER)["loss/day"]
    assert (pending.amount, pending.pending_amount) == (Decimal("10"), Decimal("50"))
    assert pending.pending_at == raised.effective_at == _iso("2031-01-16T12:00:00Z")
    assert bet("b1", player, "30", when=WEDNESDAY_LATER).reason is Reason.LIMIT_EXCEEDED
    assert bet("b2", player, "30", when=THURSDAY_NOON).status is Status.APPLIED
    assert show(player, when=THURSDAY_NOON)["loss/day"].pending_at is None


def test_a_decrease_applies_at_once_and_cancels_a_pending_increase():
    player = PlayerFactory(balance="100.00")
    set_limit(player, "loss 20/day", when=WEDNESDAY)
    set_limit(player, "loss 50/day", when=WEDNESDAY)

    lowered = set_limit(player, "loss 15/day", when=WEDNESDAY_LATER)

    assert lowered.action == "decrease" and not lowered.pending
    assert lowered.note == "cancels the pending increase to 50.00"
    assert bet("b1", player, "16", when=WEDNESDAY_LATER).reason is Reason.LIMIT_EXCEEDED
    assert bet("b2", player, "16", when=THURSDAY_NOON).reason is Reason.LIMIT_EXCEEDED
    assert show(player, when=THURSDAY_NOON)["loss/day"].amount == Decimal("15")


def test_a_removal_waits_for_the_cooling_off_too():
    player = PlayerFactory(balance="100.00")
    set_limit(player, "wager 10/day", when=WEDNESDAY)

    removal = remove_limit(player, "wager day", when=WEDNESDAY)

    assert removal.action == "remove" and removal.pending
    assert show(player, when=WEDNESDAY)["wager/day"].pending_action == "remove"
    assert bet("b1", player, "20", when=WEDNESDAY_LATER).reason is Reason.LIMIT_EXCEEDED
    assert bet("b2", player, "20", when=THURSDAY_NOON).status is Status.APPLIED
    assert show(player, when=THURSDAY_NOON) == {}


def test_removing_a_limit_that_is_not_there_says_so():
    player = PlayerFactory()
    with pytest.raises(limits.NoSuchLimit, match="no loss/week limit"):
        remove_limit(player, "loss week")


def test_asking_for_the_same_increase_again_does_not_restart_the_cooling_off():
    player = PlayerFactory()
    set_limit(player, "loss 10/day", when=WEDNESDAY)
    first = set_limit(player, "loss 50/day", when=WEDNESDAY)

    again = set_limit(player, "loss 50/day", when=WEDNESDAY_LATER)

    assert again.action == "unchanged" and again.effective_at == first.effective_at


def test_every_change_is_recorded_with_when_old_new_and_who():
    player = PlayerFactory()
    set_limit(player, "loss 10/day", when=WEDNESDAY)
    set_limit(player, "loss 50/day", when=WEDNESDAY)
    set_limit(player, "loss 5/day", when=WEDNESDAY_LATER)
    remove_limit(player, "loss day", when=THURSDAY_NOON)

    changes = run(limits.history, player)

    assert [(c["action"], c["old_amount"], c["new_amount"]) for c in changes] == [
        ("set", None, Decimal("10")),
        ("increase", Decimal("10"), Decimal("50")),
        ("decrease", Decimal("10"), Decimal("5")),
        ("remove", Decimal("5"), None),
    ]
    assert {c["changed_by"] for c in changes} == {"tests"}
    assert changes[0]["requested_at"] == _iso(WEDNESDAY)
    assert changes[3]["effective_at"] == _iso("2031-01-17T12:00:00Z")


def test_the_change_log_cannot_be_rewritten(engine):
    player = PlayerFactory()
    set_limit(player, "loss 10/day")
    with pytest.raises(Exception, match="immutable"), engine.begin() as conn:
        conn.execute(text("UPDATE limit_changes SET new_amount = 1000"))


# --- exclusion and time-outs -------------------------------------------------------------


def test_an_excluded_player_cannot_bet_or_deposit_but_is_always_paid():
    player = PlayerFactory(balance="100.00")
    bet("b1", player, "10")
    exclude(player, duration=_duration("180d"))

    assert bet("b2", player, "1").reason is Reason.PLAYER_EXCLUDED
    assert deposit("d1", player, "1").reason is Reason.PLAYER_EXCLUDED
    assert win("w1", player, "25").status is Status.APPLIED
    assert roll_back("rb1", "b1", player).status is Status.APPLIED
    assert withdraw("wd1", player, "125").status is Status.APPLIED
    assert balance(player) == Decimal("0.00")


def test_wins_and_rollbacks_are_never_refused_for_a_limit():
    player = PlayerFactory(balance="100.00")
    set_limit(player, "loss 10/day")
    bet("b1", player, "10")
    bet("b2", player, "0")  # nothing staked: fits even a spent limit
    assert win("w1", player, "1000").status is Status.APPLIED
    assert roll_back("rb1", "b1", player).status is Status.APPLIED
    assert balance(player) == Decimal("1100.00")


def test_an_exclusion_cannot_be_lifted_before_it_ends():
    player = PlayerFactory()
    made = exclude(player, duration=_duration("6mo"), when=WEDNESDAY)

    with pytest.raises(exclusions.ExclusionInForce, match="until 2031-07-15T10:00:00"):
        run(exclusions.unexclude, player, "ops", when=THURSDAY_NOON)

    assert made.ends_at == _iso("2031-07-15T10:00:00Z")
    reviewed = run(exclusions.unexclude, player, "ops", when="2031-07-15T10:00:00Z")
    assert [(r.id, r.reviewed_by) for r in reviewed] == [(made.id, "ops")]
    assert bet("b1", player, "1", when="2031-07-15T10:00:00Z").status is Status.APPLIED


def test_a_permanent_exclusion_is_never_lifted():
    player = PlayerFactory()
    exclude(player, reason="asked by the player")

    with pytest.raises(exclusions.ExclusionInForce, match="permanently"):
        run(exclusions.unexclude, player, "ops", when="2099-01-01T00:00:00Z")
    assert bet("b1", player, "1", when="2099-01-01T00:00:00Z").reason is Reason.PLAYER_EXCLUDED


def test_a_shorter_exclusion_does_not_shorten_a_longer_one():
    player = PlayerFactory()
    exclude(player, duration=_duration("6mo"), when=WEDNESDAY)
    exclude(player, exclusions.TIMEOUT, duration=_duration("24h"), when=WEDNESDAY)

    assert bet("b1", player, "1", when=THURSDAY_NOON).reason is Reason.PLAYER_EXCLUDED


def test_a_timeout_ends_by_itself():
    player = PlayerFactory()
    exclude(player, exclusions.TIMEOUT, duration=_duration("24h"), when=WEDNESDAY)

    assert bet("b1", player, "1", when=WEDNESDAY_LATER).reason is Reason.PLAYER_EXCLUDED
    assert bet("b2", player, "1", when="2031-01-16T10:00:00Z").status is Status.APPLIED


def test_exclusion_until_a_day_begins_that_day_in_the_limits_zone(london):
    player = PlayerFactory()

    made = exclude(player, until=_iso("2031-07-01T00:00:00Z").date(), when=WEDNESDAY)

    assert made.ends_at == _iso("2031-06-30T23:00:00Z")  # midnight, British Summer Time


def test_durations_read_m_as_minutes_and_mo_as_months():
    from app.core import durations

    assert durations.parse("90m").timedelta().total_seconds() == 5400
    assert durations.parse("2w").days == 14
    assert durations.parse("6mo").months == 6
    with pytest.raises(Exception, match="not a duration"):
        durations.parse("3y")


def _duration(raw: str):
    from app.core import durations

    return durations.parse(raw)


def _iso(raw: str):
    from datetime import datetime

    return datetime.fromisoformat(raw)


@pytest.fixture
def london(engine):
    """LIMITS_TIMEZONE=Europe/London for one test (as `wallet db upgrade` would store it)."""
    run_committed(limits.store_timezone, "Europe/London")
    yield
    run_committed(limits.store_timezone, "UTC")
