"""`wallet export transactions`: every provider transaction and cashier movement, streamed in
time order, for a regulator or a data warehouse (issue 19)."""

from __future__ import annotations

import csv
import io
import json
from collections import defaultdict
from decimal import Decimal

from sqlalchemy import text

from app.core.export import COLUMNS
from tests import hypetech_helpers as hypetech
from tests.factories import PlayerFactory, deposit, run_committed
from tests.finance_helpers import as_json, at, booked_at
from tests.igpx_helpers import bet, post, result, rollback


def _activity(client) -> tuple[str, str]:
    """Money through two providers and the cashier; returns the export window's bounds."""
    PlayerFactory(id="alice", balance="100.00")
    PlayerFactory(id="bob", balance="20.00", currencies=("USD", "EUR"))
    post(client, "transaction", bet("b1", "alice", "10"))
    post(client, "transaction", result("r1", "alice", "30"))
    post(client, "transaction", bet("b2", "bob", "50"))  # declined: no money moves
    post(client, "transaction", bet("b3", "bob", "5", currency="EUR"))
    post(client, "transaction-rollback", rollback("rb1", "b1", "alice", "10"))
    hypetech.ok(client, "register", hypetech.bet("h1", "alice", "7.50", currency="USD"))
    deposit("bob", Decimal("1.00"))
    post(client, "transaction", bet("late", "alice", "1"))  # after the window
    return at(booked_at("igpx", "b1")), at(booked_at("cashier", "seed-bob-USD-1.00"))


def _ledger_movements(start: str, end: str) -> dict[tuple[str, str], Decimal]:
    rows = run_committed(
        lambda conn: conn.execute(
            text(
                "SELECT a.player_id, a.currency, sum(p.amount) AS moved FROM postings p "
                "JOIN journal_transactions j ON j.id = p.journal_id "
                "JOIN accounts a ON a.id = p.account_id "
                "WHERE a.player_id IS NOT NULL AND j.created_at >= :start "
                "AND j.created_at <= :end GROUP BY 1, 2"
            ),
            {"start": start, "end": end},
        ).all()
    )
    return {(r.player_id, r.currency): r.moved for r in rows}


def _export(runner, *args: str) -> list[dict[str, str]]:
    result_ = runner(["export", "transactions", *args])
    assert result_.exit_code == 0, result_.output
    return list(csv.DictReader(io.StringIO(result_.stdout)))


def test_an_export_re_adds_to_the_ledgers_movements_in_the_window(client, runner):
    start, end = _activity(client)
    rows = _export(runner, "--from", start, "--to", end)
    assert [r["transaction_id"] for r in rows] == [
        "b1", "r1", "b2", "b3", "rb1", "h1", "seed-bob-USD-1.00",
    ]  # fmt: skip
    moved: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for row in rows:
        moved[row["player_id"], row["currency"]] += Decimal(row["movement"])
        assert Decimal(row["balance_after"]) - Decimal(row["balance_before"]) == Decimal(
            row["movement"]
        )
        assert bool(row["journal_id"]) == (Decimal(row["movement"]) != 0)
    assert dict(moved) == _ledger_movements(start, end)


def test_each_row_carries_its_status_amounts_and_balances(client, runner):
    start, end = _activity(client)
    rows = {r["transaction_id"]: r for r in _export(runner, "--from", start, "--to", end)}
    assert list(rows["b1"]) == list(COLUMNS)
    declined = rows["b2"]
    assert (declined["status"], declined["reason"], declined["movement"]) == (
        "declined",
        "insufficient_funds",
        "0.00",
    )
    assert (rows["rb1"]["kind"], rows["rb1"]["reference_id"], rows["rb1"]["movement"]) == (
        "rollback",
        "b1",
        "10.00",
    )
    assert (rows["r1"]["balance_before"], rows["r1"]["balance_after"]) == ("90.00", "120.00")
    assert rows["seed-bob-USD-1.00"]["provider"] == "cashier"


def test_json_lines_to_a_file_and_one_provider(client, runner, tmp_path):
    start, end = _activity(client)
    output = tmp_path / "igpx.jsonl"
    args = ["export", "transactions", "--from", start, "--to", end, "--provider", "igpx"]
    summary = as_json(runner([*args, "--format", "jsonl", "--output", str(output), "--json"]))
    lines = [json.loads(line) for line in output.read_text().splitlines()]
    assert summary["rows"] == len(lines) == 5
    assert {line["provider"] for line in lines} == {"igpx"}
    assert lines[0]["amount"] == "10.00"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary left


def test_without_a_period_it_exports_today_and_says_so(client, runner):
    _activity(client)
    result_ = runner(["export", "transactions"])
    assert result_.exit_code == 0
    assert len(list(csv.DictReader(io.StringIO(result_.stdout)))) == 11  # 3 opening deposits
    assert "today by default" in result_.stderr


def test_an_unwritable_output_fails_in_one_line(runner, tmp_path):
    result_ = runner(["export", "transactions", "--output", str(tmp_path / "no" / "file.csv")])
    assert result_.exit_code == 1
    assert result_.stderr.startswith("Error: cannot write")
