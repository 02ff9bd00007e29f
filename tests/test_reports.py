"""`wallet report …`: GGR per provider and day, negative balances, tombstones."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from decimal import Decimal

from app.cli.support import csv_table
from app.core import players
from tests.factories import PlayerFactory, run_committed
from tests.igpx_helpers import bet, post, result, rollback

TODAY = datetime.now(UTC).date().isoformat()


def rows(result_):
    assert result_.exit_code == 0, result_.output
    return json.loads(result_.stdout)["rows"]


def test_ggr_counts_bets_wins_and_rollbacks_once(client, runner):
    player = PlayerFactory(balance="100.00")
    post(client, "transaction", bet("b1", player, "10"))
    post(client, "transaction", bet("b2", player, "20"))
    post(client, "transaction", result("r1", player, "5"))
    post(client, "transaction-rollback", rollback("rb1", "b2", player, "20"))
    post(client, "transaction", bet("b2", player, "20"))  # a replay changes nothing
    report = rows(runner(["report", "ggr", "--from", TODAY, "--to", TODAY, "--json"]))
    assert report == [
        {
            "day": TODAY,
            "provider": "igpx",
            "currency": "USD",
            "bets": 2,
            "bet_amount": "30.00",
            "wins": 1,
            "win_amount": "5.00",
            "rollbacks": 1,
            "rollback_amount": "20.00",
            "ggr": "5.00",
        }
    ]


def test_ggr_filters_and_leaves_cashier_movements_out(client, runner):
    PlayerFactory(balance="100.00")
    assert rows(runner(["report", "ggr", "--from", TODAY, "--to", TODAY, "--json"])) == []
    player = PlayerFactory(balance="100.00")
    post(client, "transaction", bet("b1", player, "10"))
    args = ["report", "ggr", "--from", TODAY, "--to", TODAY, "--json"]
    assert rows(runner([*args, "--provider", "hypetech"])) == []
    assert rows(runner([*args, "--currency", "eur"])) == []
    assert len(rows(runner([*args, "--provider", "igpx", "--currency", "usd"]))) == 1


def test_ggr_as_csv_and_as_a_table(client, runner):
    player = PlayerFactory(balance="100.00")
    post(client, "transaction", bet("b1", player, "10"))
    as_csv = runner(["report", "ggr", "--from", TODAY, "--to", TODAY, "--csv"])
    parsed = list(csv.DictReader(io.StringIO(as_csv.stdout)))
    assert parsed[0]["ggr"] == "10.00"
    assert "ggr" in runner(["report", "ggr", "--from", TODAY, "--to", TODAY]).stdout


def test_ggr_refuses_an_inverted_range(runner):
    result_ = runner(["report", "ggr", "--from", "2026-02-02", "--to", "2026-02-01"])
    assert result_.exit_code != 0


def test_negative_balances_lists_players_below_zero(client, runner):
    player = PlayerFactory(balance="0")
    post(client, "transaction", result("r1", player, "40"))
    post(client, "transaction", bet("b1", player, "30"))
    post(client, "transaction-rollback", rollback("rb1", "r1", player, "40"))
    report = rows(runner(["report", "negative-balances", "--json"]))
    assert report == [
        {"player_id": player, "currency": "USD", "balance": "-30.00", "blocked": False}
    ]


def test_tombstones_lists_rollbacks_whose_original_never_came(client, runner):
    player = PlayerFactory(balance="100.00")
    post(client, "transaction-rollback", rollback("rb1", "never", player, "5"))
    post(client, "transaction-rollback", rollback("rb2", "late", player, "5"))
    post(client, "transaction", bet("late", player, "5"))
    report = rows(runner(["report", "tombstones", "--json"]))
    assert [(r["rollback_id"], r["original_id"]) for r in report] == [("rb1", "never")]


def test_negative_balances_as_csv_write_booleans_as_true_and_false(client, runner):
    for player in ("csv-false", "csv-true"):
        PlayerFactory(balance="0", id=player)
        post(client, "transaction", result(f"r-{player}", player, "40"))
        post(client, "transaction", bet(f"b-{player}", player, "30"))
        post(client, "transaction-rollback", rollback(f"rb-{player}", f"r-{player}", player, "40"))
    run_committed(players.set_blocked, "csv-true", True)
    as_csv = runner(["report", "negative-balances", "--csv"])
    assert as_csv.exit_code == 0, as_csv.output
    parsed = {row["player_id"]: row for row in csv.DictReader(io.StringIO(as_csv.stdout))}
    assert parsed["csv-false"]["blocked"] == "false"
    assert parsed["csv-true"]["blocked"] == "true"


def test_csv_cells_are_written_for_machines_not_as_python_reprs():
    row = {
        "none": None,
        "yes": True,
        "amount": Decimal("1.50"),
        "at": datetime(2026, 11, 30, 12, tzinfo=UTC),
        "games": ["dice", "crash"],
    }
    text = csv_table([row], list(row))
    assert text.splitlines()[1] == ',true,1.50,2026-11-30T12:00:00+00:00,"[""dice"",""crash""]"'
