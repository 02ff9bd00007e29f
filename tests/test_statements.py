"""Balances as of any moment and statements, derived from the postings (issue 19)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from tests import hypetech_helpers as hypetech
from tests.factories import PlayerFactory, balance
from tests.finance_helpers import amounts, as_json, at, booked_at, just_before
from tests.igpx_helpers import bet, post, result, rollback


def _play(client, player: str) -> dict[str, datetime]:
    """A deposit of 100, a bet of 10, a win of 25, the bet rolled back, a Hypetech bet of
    5; returns when each was booked."""
    post(client, "transaction", bet("b1", player, "10"))
    post(client, "transaction", result("r1", player, "25"))
    post(client, "transaction-rollback", rollback("rb1", "b1", player, "10"))
    hypetech.ok(client, "register", hypetech.bet("h1", player, "5.00", currency="USD"))
    return {
        "deposit": booked_at("cashier", f"seed-{player}-USD-100.00"),
        "bet": booked_at("igpx", "b1"),
        "win": booked_at("igpx", "r1"),
        "rollback": booked_at("igpx", "rb1"),
        "hypetech_bet": booked_at("hypetech", "h1"),
    }


def _balance_at(runner, player: str, moment: str) -> dict[str, str]:
    data = as_json(runner(["balance", player, "--as-of", moment, "--json"]))
    return dict(data["balances"])


def test_balance_as_of_follows_deposits_bets_wins_and_rollbacks(client, runner):
    player = PlayerFactory(id="alice", balance="100.00")
    booked = _play(client, player)
    expected = {
        "deposit": "100.00",
        "bet": "90.00",
        "win": "115.00",
        "rollback": "125.00",
        "hypetech_bet": "120.00",
    }
    for step, amount in expected.items():
        assert _balance_at(runner, player, at(booked[step])) == {"USD": amount}, step
    assert _balance_at(runner, player, just_before(booked["bet"])) == {"USD": "100.00"}
    assert _balance_at(runner, player, just_before(booked["deposit"])) == {"USD": "0.00"}


def test_balance_as_of_now_equals_the_cached_balance(client, runner):
    player = PlayerFactory(id="alice", balance="100.00")
    _play(client, player)
    now = _balance_at(runner, player, "now")
    assert Decimal(now["USD"]) == balance(player) == Decimal("120")


def test_balance_without_as_of_keeps_its_shape(client, runner):
    player = PlayerFactory(id="alice", balance="100.00")
    _play(client, player)
    assert as_json(runner(["balance", player, "--json"])) == {
        "player_id": "alice",
        "balances": {"USD": "120.00"},
    }


def test_balance_as_of_a_date_is_the_end_of_that_day(client, runner):
    player = PlayerFactory(id="alice", balance="100.00")
    today = datetime.now(UTC).date()
    assert _balance_at(runner, player, today.isoformat()) == {"USD": "100.00"}
    yesterday = (today - timedelta(days=1)).isoformat()
    assert _balance_at(runner, player, yesterday) == {}  # the wallet was opened today
    assert _balance_at(runner, player, "-1d") == {}


def test_a_moment_that_is_not_one_fails_in_one_line(runner):
    PlayerFactory(id="alice", balance="1")
    result_ = runner(["balance", "alice", "--as-of", "last tuesday"])
    assert result_.exit_code != 0
    assert len(result_.stderr.strip().splitlines()) == 1
    assert "--as-of" in result_.stderr


def test_statement_lines_add_up_from_opening_to_closing(client, runner):
    player = PlayerFactory(id="alice", balance="100.00")
    booked = _play(client, player)
    args = ["statement", player, "--from", at(booked["bet"]), "--to", at(booked["rollback"])]
    data = as_json(runner([*args, "--json"]))
    assert (data["opening_balance"], data["closing_balance"]) == ("100.00", "125.00")
    assert [(e["external_id"], e["amount"], e["running_balance"]) for e in data["entries"]] == [
        ("b1", "-10.00", "90.00"),
        ("r1", "25.00", "115.00"),
        ("rb1", "10.00", "125.00"),
    ]
    moved = amounts([e["amount"] for e in data["entries"]])
    assert moved == Decimal(data["closing_balance"]) - Decimal(data["opening_balance"])
    assert data["complete"] is True


def test_statement_up_to_now_closes_at_the_cached_balance(client, runner):
    player = PlayerFactory(id="alice", balance="100.00")
    _play(client, player)
    data = as_json(runner(["statement", player, "--limit", "3", "--json"]))
    assert Decimal(data["closing_balance"]) == balance(player) == Decimal("120")
    assert [e["external_id"] for e in data["entries"]] == ["r1", "rb1", "h1"]
    moved = amounts([e["amount"] for e in data["entries"]])
    assert moved == Decimal(data["closing_balance"]) - Decimal(data["opening_balance"])
    assert data["opening_balance"] == "90.00"


def test_statement_cut_by_its_limit_says_so_and_still_adds_up(client, runner):
    player = PlayerFactory(id="alice", balance="100.00")
    booked = _play(client, player)
    args = ["statement", player, "--from", at(booked["deposit"]), "--limit", "2", "--json"]
    data = as_json(runner(args))
    assert data["complete"] is False
    assert [e["running_balance"] for e in data["entries"]] == ["100.00", "90.00"]
    assert (data["opening_balance"], data["closing_balance"]) == ("0.00", "90.00")


def test_statement_covers_each_wallet_of_the_player(client, runner):
    player = PlayerFactory(id="alice", balance="10.00", currencies=("USD", "EUR"))
    post(client, "transaction", bet("b1", player, "4", currency="EUR"))
    data = as_json(runner(["statement", player, "--json"]))
    assert data["opening_balances"] == {"EUR": "0.00", "USD": "0.00"}
    assert data["closing_balances"] == {"EUR": "6.00", "USD": "10.00"}
    assert "opening_balance" not in data
    eur = as_json(runner(["statement", player, "--currency", "eur", "--json"]))
    assert [e["running_balance"] for e in eur["entries"]] == ["10.00", "6.00"]


def test_statement_of_an_unknown_player_or_wallet_fails_in_one_line(runner):
    PlayerFactory(id="alice", balance="1")
    for args in (["statement", "ghost"], ["statement", "alice", "--currency", "EUR"]):
        result_ = runner(args)
        assert result_.exit_code == 1
        assert len(result_.stderr.strip().splitlines()) == 1
