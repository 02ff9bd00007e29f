"""`wallet reconcile`: a provider's transaction report against the wallet (issue 19)."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests import hypetech_helpers as hypetech
from tests import upside_helpers as upside
from tests.factories import PlayerFactory
from tests.finance_helpers import as_json
from tests.igpx_helpers import bet, post, result, rollback

IGPX_HEADER = ["transaction_id", "action", "user_id", "currency", "amount", "created_at", "status"]


def write_csv(path: Path, header: list[str], rows: list[list[object]]) -> Path:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    path.write_text(buffer.getvalue(), encoding="utf-8")
    return path


def stamp(moment: datetime) -> str:
    return moment.isoformat()


@pytest.fixture
def igpx_day(client):
    """A day at IGPX: what the wallet did, and the report IGPX sends with one row missing on
    each side, an amount mismatch, a bet refused here and accepted there, an amount written
    differently, and a bet rolled back here that IGPX reports as cancelled."""
    opened = datetime.now(UTC) - timedelta(seconds=1)
    PlayerFactory(id="alice", balance="100.00")
    PlayerFactory(id="bob", balance="100.00")
    PlayerFactory(id="poor", balance="1.00")
    post(client, "transaction", bet("b1", "alice", "10"))
    post(client, "transaction", bet("b2", "alice", "5"))  # absent from the report
    post(client, "transaction", result("r1", "alice", "20"))  # reported as 25
    assert post(client, "transaction", bet("b3", "poor", "50"))["error"] == "INSUFFICIENT_FUNDS"
    post(client, "transaction", bet("b4", "bob", "10"))  # reported as 10.00
    post(client, "transaction", bet("b5", "bob", "7"))
    post(client, "transaction-rollback", rollback("rb5", "b5", "bob", "7"))
    assert post(client, "transaction", bet("x2", "ghost", "3"))["error"] == "USER_NOT_FOUND"
    closed = datetime.now(UTC) + timedelta(seconds=1)
    rows = [
        ["b1", "bet", "alice", "USD", "10", stamp(opened), ""],
        ["r1", "result", "alice", "USD", "25.00", stamp(opened), "ok"],
        ["b3", "bet", "poor", "USD", "50", stamp(opened), "ok"],
        ["b4", "bet", "bob", "USD", "10.00", stamp(opened), "ok"],
        ["b5", "bet", "bob", "USD", "7", stamp(opened), "cancelled"],
        ["x1", "bet", "alice", "USD", "3", stamp(opened), "ok"],  # never sent to us
        ["x2", "bet", "ghost", "USD", "3", stamp(closed), "ok"],  # refused: unknown player
    ]
    return rows


def reconcile(runner, tmp_path, rows, *extra, header=IGPX_HEADER, provider="igpx", code=1):
    report = write_csv(tmp_path / "report.csv", header, rows)
    return as_json(runner(["reconcile", provider, str(report), *extra, "--json"]), code)


def test_reconciliation_sorts_every_row(runner, tmp_path, igpx_day):
    data = reconcile(runner, tmp_path, igpx_day)
    assert data["ok"] is False
    assert data["counts"] == {"matched": 3, "missing_here": 2, "missing_there": 1, "mismatched": 2}
    assert [r["id"] for r in data["matched"]] == ["b1", "b4", "b5"]
    assert [r["id"] for r in data["missing_there"]] == ["b2"]
    assert data["missing_there"][0]["amount"] == "5.00"
    mismatched = {r["id"]: r for r in data["mismatched"]}
    assert mismatched["r1"]["differences"] == ["amount"]
    assert mismatched["r1"]["here"]["amount"] == "20.00"
    assert mismatched["b3"]["differences"] == ["status"]
    assert mismatched["b3"]["note"] == "declined here (insufficient_funds), accepted there"
    assert data["window"]["source"] == "report"


def test_missing_here_says_refused_or_never_reached_from_the_audit_trail(
    runner, tmp_path, igpx_day
):
    data = reconcile(runner, tmp_path, igpx_day)
    missing = {r["id"]: r for r in data["missing_here"]}
    assert missing["x1"]["reason"] == "never_reached"
    assert missing["x1"]["callback"] is None
    assert missing["x2"]["reason"] == "refused"
    assert missing["x2"]["callback"]["outcome"] == "user_not_found"
    assert missing["x2"]["line"] == 8
    assert data["missing_here_reasons"] == {"never_reached": 1, "refused": 1}


def test_an_amount_written_differently_and_a_cancelled_bet_rolled_back_here_match(
    runner, tmp_path, igpx_day
):
    data = reconcile(runner, tmp_path, igpx_day)
    matched = {r["id"]: r for r in data["matched"]}
    assert matched["b4"]["amount"] == "10.00"
    assert matched["b5"]["note"] == "cancelled there, rolled back here by rb5"
    assert "rb5" not in [r["id"] for r in data["missing_there"]]


def test_a_report_that_agrees_exits_zero(client, runner, tmp_path):
    PlayerFactory(id="alice", balance="100.00")
    post(client, "transaction", bet("b1", "alice", "10"))
    post(client, "transaction", result("r1", "alice", "2.5"))
    post(client, "transaction-rollback", rollback("rb1", "b1", "alice", "10"))
    now = stamp(datetime.now(UTC))
    rows = [
        ["b1", "bet", "alice", "USD", "10", now, ""],
        ["r1", "result", "alice", "usd", "2.50", now, ""],
        ["rb1", "rollback", "alice", "USD", "", now, ""],
    ]
    window = ["--from", "-1h", "--to", "now"]
    data = reconcile(runner, tmp_path, rows, *window, code=0)
    assert (data["ok"], data["counts"]["matched"]) == (True, 3)
    assert data["window"]["source"] == "options"
    text = runner(["reconcile", "igpx", str(tmp_path / "report.csv"), *window])
    assert text.exit_code == 0
    assert "matched 3" in text.stdout


def test_json_lines_with_numbers_and_strings(client, runner, tmp_path):
    PlayerFactory(id="alice", balance="100.00")
    post(client, "transaction", bet("b1", "alice", "10"))
    post(client, "transaction", bet("b2", "alice", "0.5"))
    now = stamp(datetime.now(UTC))
    lines = [
        '{"transaction_id": "b1", "action": "bet", "user_id": "alice", "currency": "USD", '
        f'"amount": 10.00, "created_at": "{now}"}}',
        '{"transaction_id": "b2", "action": "bet", "user_id": "alice", "currency": "USD", '
        f'"amount": "5E-1", "created_at": "{now}", "extra": [1, 2]}}',
    ]
    report = tmp_path / "report.jsonl"
    report.write_text("\n".join(lines) + "\n")
    data = as_json(runner(["reconcile", "igpx", str(report), "--json"]))
    assert data["counts"]["matched"] == 2


def test_columns_named_otherwise_are_mapped(client, runner, tmp_path):
    PlayerFactory(id="alice", balance="100.00")
    post(client, "transaction", bet("b1", "alice", "10"))
    header = ["Txn", "Type", "Player", "Ccy", "Stake", "When"]
    rows = [["b1", "BET", "alice", "USD", "10", stamp(datetime.now(UTC))]]
    columns = "id=Txn,kind=Type,player=Player,currency=Ccy,amount=Stake,time=When"
    data = reconcile(runner, tmp_path, rows, "--columns", columns, header=header, code=0)
    assert data["counts"]["matched"] == 1


def test_hypetech_report_with_an_old_style_rollback(client, runner, tmp_path):
    PlayerFactory(id="alice", balance="100.00")
    hypetech.ok(client, "register", hypetech.bet("h1", "alice", "10.00"))
    hypetech.ok(client, "rollback", hypetech.old_rollback("h1", "alice"))
    hypetech.ok(client, "rewards", hypetech.win("h2", "alice", "4.00"))
    now = stamp(datetime.now(UTC))
    header = ["provider_tx_id", "action", "user_id", "currency", "amount", "created_at"]
    rows = [
        ["h1", "bet", "alice", "USD", "10", now],
        ["h1", "rollback", "alice", "USD", "10", now],
        ["h2", "win", "alice", "USD", "4", now],
    ]
    data = reconcile(runner, tmp_path, rows, header=header, provider="hypetech", code=0)
    assert data["counts"]["matched"] == 3


def test_upside_report_in_atomic_units_by_session(client, runner, tmp_path):
    upside.make_game()
    player = upside.make_player(win=100)
    worker, jwt = upside.make_key(), upside.token(player)
    upside.act(client, worker, jwt, upside.bet("s1", amount=2 * upside.WIN))
    upside.act(client, worker, jwt, upside.payout("s1", 3 * upside.WIN))
    now = stamp(datetime.now(UTC))
    header = ["sessionId", "trigger", "userId", "amount", "createdAt"]
    rows = [
        ["s1", "placeBet", player, str(2 * upside.WIN), now],
        ["s1", "processPayout", player, str(3 * upside.WIN), now],
    ]
    data = reconcile(runner, tmp_path, rows, header=header, provider="upside", code=0)
    assert [r["id"] for r in data["matched"]] == ["s1", "s1"]


# --- hostile reports ----------------------------------------------------------------------


def refused(runner, report: Path) -> str:
    result_ = runner(["reconcile", "igpx", str(report), "--json"])
    assert result_.exit_code != 0
    assert result_.stdout == ""
    assert "Traceback" not in result_.output
    lines = result_.stderr.strip().splitlines()
    assert len(lines) == 1, result_.stderr
    return lines[0]


def good_row(tx: str, amount: str = "10") -> str:
    return f"{tx},bet,alice,USD,{amount},2026-12-01T10:00:00Z,ok"


HEADER = ",".join(IGPX_HEADER)


def test_a_report_in_another_encoding_is_refused_naming_the_line(runner, tmp_path):
    PlayerFactory(id="alice", balance="1")
    latin1 = tmp_path / "latin1.csv"
    latin1.write_bytes(
        f"{HEADER}\n{good_row('b1')}\n".encode() + "b2,bet,jos\xe9".encode("latin-1")
    )
    assert "line 3: not UTF-8" in refused(runner, latin1)
    utf16 = tmp_path / "utf16.csv"
    utf16.write_bytes(f"{HEADER}\n{good_row('b1')}\n".encode("utf-16"))
    assert "line 1: not UTF-8" in refused(runner, utf16)


def test_a_report_without_a_needed_column_is_refused(runner, tmp_path):
    PlayerFactory(id="alice", balance="1")
    report = tmp_path / "no-amount.csv"
    report.write_text("transaction_id,action,user_id,currency,created_at\nb1,bet,alice,USD,now\n")
    message = refused(runner, report)
    assert "line 1: no column for amount" in message
    assert "--columns amount=" in message


def test_a_malformed_amount_is_refused_naming_the_row(runner, tmp_path):
    PlayerFactory(id="alice", balance="1")
    report = tmp_path / "amount.csv"
    report.write_text(f"{HEADER}\n{good_row('b1')}\n{good_row('b2', 'ten')}\n")
    assert refused(runner, report).endswith("line 3 (row 2, id 'b2'): amount 'ten' is not a number")
    for amount in ("-5", "1,5", "NaN", "1e30", "0.0000000000000000001"):
        report.write_text(f"{HEADER}\n{good_row('b1', json.dumps(amount))}\n")
        assert "line 2 (row 1, id 'b1'): amount" in refused(runner, report)


def test_a_duplicated_id_is_refused_naming_both_lines(runner, tmp_path):
    PlayerFactory(id="alice", balance="1")
    report = tmp_path / "twice.csv"
    report.write_text(f"{HEADER}\n{good_row('b1')}\n{good_row('b2')}\n{good_row('b1')}\n")
    assert refused(runner, report).endswith(
        "line 4 (row 3, id 'b1'): the id appears twice (first on line 2)"
    )


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("", "line 1: the report is empty"),
        (f"{HEADER}\nb1,bet,alice\n", "line 2: 3 fields where the header has 7"),
        (f"{HEADER}\n{good_row('b1').replace('bet', 'spin')}\n", "kind 'spin' is not one of"),
        (f"{HEADER}\n{good_row('b1').replace('ok', 'maybe')}\n", "status 'maybe' is not one"),
        (f"{HEADER}\n{good_row('b1').replace('2026-12-01T10:00:00Z', 'noon')}\n", "time 'noon'"),
        (f"{HEADER}\n{good_row('b1').replace('USD', 'XXX')}\n", "unknown currency 'XXX'"),
        (f"{HEADER}\nb1,bet,alice,USD,1,2026-12-01,ok\x00\n", "line 2: contains a NUL character"),
        ('{"transaction_id": "b1"\n', "line 1: not a JSON object"),
        ('{"transaction_id": "b1", "amount": NaN}\n', "line 1: not a JSON object"),
        (
            '{"transaction_id": "b1", "action": ["bet"], "user_id": "alice", "currency": "USD", '
            '"amount": 1, "created_at": "2026-12-01"}\n',
            "kind ['bet'] is not one of",
        ),
    ],
)
def test_other_unreadable_reports_are_refused_in_one_line(runner, tmp_path, content, expected):
    PlayerFactory(id="alice", balance="1")
    report = tmp_path / "bad.csv"
    report.write_text(content)
    assert expected in refused(runner, report)


def test_a_columns_option_that_is_not_one_is_refused(runner, tmp_path):
    report = tmp_path / "r.csv"
    report.write_text(f"{HEADER}\n")
    result_ = runner(["reconcile", "igpx", str(report), "--columns", "stake"])
    assert result_.exit_code != 0
    assert "--columns 'stake'" in result_.stderr
