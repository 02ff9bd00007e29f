"""The player-funds report (MGA's Player Funds: what the operator held for players at a month
end) and the balance snapshots it starts from."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from app.core import book
from tests import hypetech_helpers as hypetech
from tests import upside_helpers as upside
from tests.factories import PlayerFactory, deposit, run_committed
from tests.finance_helpers import as_json, at, booked_at
from tests.igpx_helpers import bet, post, result, rollback

WIN_ZERO = "." + "0" * 18


@pytest.fixture
def november(client):
    """The month before the month end: deposits, bets, wins, a rollback leaving a player
    negative, an Upside bet into a funded pool. Returns the month end (the last booking)."""
    PlayerFactory(id="alice", balance="100.00")
    PlayerFactory(id="bob", balance="50.00")
    PlayerFactory(id="carol", balance="0")
    upside.make_game(pool_win=1000)
    dave = upside.make_player(win=100, id="dave")
    upside.act(client, upside.make_key(), upside.token(dave), upside.bet("s1"))
    post(client, "transaction", bet("a1", "alice", "10"))
    hypetech.ok(client, "rewards", hypetech.win("h1", "bob", "5.00"))
    post(client, "transaction", result("c1", "carol", "40"))
    post(client, "transaction", bet("c2", "carol", "30"))
    post(client, "transaction-rollback", rollback("c3", "c1", "carol", "40"))
    return booked_at("igpx", "c3")


def _december(client):
    post(client, "transaction", bet("a2", "alice", "20"))
    deposit("bob", Decimal("100.00"))


def test_player_funds_at_a_past_month_end(client, runner, november):
    _december(client)
    data = as_json(runner(["report", "player-funds", "--as-of", at(november), "--json"]))
    assert data["currencies"]["USD"] == {
        "player_funds": "145.00",  # alice 90 + bob 55
        "negative_balances": "-30.00",  # carol's win, rolled back after she bet it
        "net": "115.00",
        "players": 3,
        "players_in_credit": 2,
        "players_in_debit": 1,
    }
    assert data["currencies"]["WIN"]["player_funds"] == "99" + WIN_ZERO
    assert data["house"] == {"hypetech": {"USD": "-5.00"}, "igpx": {"USD": "40.00"}}
    assert data["pools"] == {upside.GAME: {"WIN": "1001" + WIN_ZERO}}
    assert data["system"]["cashier"] == {"USD": "-150.00", "WIN": "-100" + WIN_ZERO}


def test_player_funds_now_include_what_came_after(client, runner, november):
    _december(client)
    data = as_json(runner(["report", "player-funds", "--json"]))
    assert data["as_of"] is None
    assert data["currencies"]["USD"]["player_funds"] == "225.00"  # alice 70 + bob 155
    assert data["house"]["igpx"] == {"USD": "60.00"}


def test_player_funds_before_any_wallet_existed_are_empty(runner, november):
    yesterday = (datetime.now(UTC).date() - timedelta(days=1)).isoformat()
    data = as_json(runner(["report", "player-funds", "--as-of", yesterday, "--json"]))
    assert (data["currencies"], data["house"], data["pools"]) == ({}, {}, {})


def test_a_snapshot_at_the_month_end_gives_the_same_report(client, runner, november):
    _december(client)
    args = ["report", "player-funds", "--as-of", at(november), "--json"]
    from_postings = as_json(runner(args))
    month_end = november + timedelta(microseconds=1)  # "as of" includes the moment itself
    taken = run_committed(book.take_snapshot, month_end, month_end + timedelta(hours=1))
    assert (taken.created, taken.accounts) == (True, 10)
    from_snapshot = as_json(runner(args))
    assert from_snapshot["snapshot"] == month_end.isoformat()
    assert {**from_snapshot, "snapshot": None} == from_postings
    now = as_json(runner(["report", "player-funds", "--json"]))
    assert now["snapshot"] == month_end.isoformat()
    assert now["currencies"]["USD"]["player_funds"] == "225.00"


def test_a_snapshot_builds_on_the_previous_one(client, november):
    first = november + timedelta(microseconds=1)
    run_committed(book.take_snapshot, first, first + timedelta(hours=1))
    _december(client)
    second = booked_at("cashier", "seed-bob-USD-100.00") + timedelta(microseconds=1)
    taken = run_committed(book.take_snapshot, second, second + timedelta(hours=1))
    assert taken.based_on == first
    funds = run_committed(book.player_funds, second)
    assert funds.currencies["USD"]["player_funds"] == Decimal("225")


def test_a_snapshot_too_recent_is_refused_and_a_taken_one_is_kept(runner):
    recent = runner(["ledger", "snapshot", "--at", "now"])
    assert recent.exit_code == 1
    assert "minutes in the past" in recent.stderr
    first = as_json(runner(["ledger", "snapshot", "--at", "2026-01-31", "--json"]))
    again = as_json(runner(["ledger", "snapshot", "--at", "2026-01-31", "--json"]))
    assert (first["created"], again["created"]) == (True, False)
    assert first["taken_at"] == "2026-02-01T00:00:00+00:00"  # the close of January 31
