"""What the CLI prints for people: tables and lines without Python values, WIN amounts
trimmed as Upside's ``…Formatted`` fields are; ``--json`` keeps the exact strings."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from decimal import Decimal

from app.cli.support import shown
from tests import igpx_helpers as igpx
from tests import upside_helpers as up
from tests.factories import PlayerFactory

PYTHON_VALUES = re.compile(r"\b(None|True|False)\b|[\[\]{}]|Decimal\(|datetime\(|IPv\dNetwork")


def text_of(runner, *args: str) -> str:
    result = runner(list(args))
    assert result.exit_code == 0, result.output
    assert not PYTHON_VALUES.search(result.stdout), result.stdout
    return str(result.stdout)


def test_tables_and_lines_show_no_python_values(client, runner):
    up.make_game()
    text_of(runner, "upside", "keys", "create", "--game", up.GAME)
    text_of(runner, "upside", "keys", "create", "--game", up.GAME, "--allow-ip", "10.0.0.0/8")
    keys = text_of(runner, "upside", "keys", "list")
    assert "10.0.0.0/8" in keys
    assert "yes" in text_of(runner, "upside", "games", "list")

    player = PlayerFactory(balance="0")
    igpx.post(client, "transaction", igpx.result("r1", player, "40"))
    igpx.post(client, "transaction", igpx.bet("b1", player, "30"))
    igpx.post(client, "transaction-rollback", igpx.rollback("rb1", "r1", player, "40"))
    assert "-30.00" in text_of(runner, "report", "negative-balances")
    text_of(runner, "report", "tombstones")
    text_of(runner, "statement", player)
    text_of(runner, "callbacks", "list")

    worker, gambler = up.make_key(), up.make_player(win=100)
    up.act(client, worker, up.token(gambler), up.bet("s1", 10 * up.WIN))
    sessions = text_of(runner, "upside", "sessions", "reconcile", "s1", "--refund")
    assert "refunded" in sessions


def test_win_amounts_are_trimmed_in_text_and_exact_in_json(client, runner):
    player = up.make_player(win=0)
    runner(["deposit", player, "1097.85", "WIN", "--reference", "d1"])
    assert text_of(runner, "balance", player).splitlines() == [player, "  WIN 1097.85"]
    exact = json.loads(runner(["balance", player, "--json"]).stdout)
    assert exact["balances"] == {"WIN": "1097.850000000000000000"}

    statement = text_of(runner, "statement", player)
    assert "WIN closing 1097.85" in statement.splitlines()
    assert any(line.rstrip().endswith("1097.85  1097.85") for line in statement.splitlines())
    data = json.loads(runner(["statement", player, "--json"]).stdout)
    assert data["closing_balances"] == {"WIN": "1097.850000000000000000"}

    withdrawn = text_of(runner, "withdraw", player, "0.5", "WIN", "--reference", "w1")
    assert withdrawn.strip() == f"withdrawal 0.5 WIN for {player}: balance 1097.35 WIN"


def test_shown_is_the_one_way_a_value_is_written_for_people():
    assert [shown(None), shown(True), shown(False)] == ["", "yes", "no"]
    assert shown(["sim-155b7f", "x"]) == "sim-155b7f, x" and shown([]) == ""
    moment = datetime(2026, 11, 21, 20, 5, 9, 123456, tzinfo=UTC)
    assert shown(moment) == "2026-11-21 20:05:09+00:00"
    assert shown("1097.850000000000000000", "WIN") == "1097.85"
    assert shown("1000.000000000000000000", "WIN") == "1000"
    assert shown("0E-18", "WIN") == shown(Decimal(0), "WIN") == "0"
    assert shown("10.50", "USD") == "10.50"
