"""The `wallet` admin CLI: JSON on request, one-line errors, idempotent cashier and import."""

from __future__ import annotations

import json
from decimal import Decimal

from tests.factories import PlayerFactory, balance


def as_json(result):
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_players_create_and_balance(runner):
    created = as_json(
        runner(["players", "create", "alice", "--currency", "USD", "--currency", "eur", "--json"])
    )
    assert created == {"player_id": "alice", "balances": {"EUR": "0.00", "USD": "0.00"}}
    assert as_json(runner(["balance", "alice", "--currency", "USD", "--json"])) == {
        "player_id": "alice",
        "balances": {"USD": "0.00"},
    }


def test_creating_an_existing_player_fails_with_one_line(runner):
    runner(["players", "create", "alice", "--currency", "USD"])
    result = runner(["players", "create", "alice", "--currency", "USD"])
    assert result.exit_code == 1
    assert result.stderr.strip() == "Error: player 'alice' already exists"


def test_unknown_currency_is_refused(runner):
    result = runner(["players", "create", "bob", "--currency", "XYZ"])
    assert result.exit_code == 1
    assert "unknown currency" in result.stderr


def test_deposit_is_idempotent_on_its_reference(runner):
    PlayerFactory(id="alice", balance="0")
    first = as_json(runner(["deposit", "alice", "25.50", "USD", "--reference", "d1", "--json"]))
    again = as_json(runner(["deposit", "alice", "25.50", "USD", "--reference", "d1", "--json"]))
    assert (first["balance"], again["balance"], again["replayed"]) == ("25.50", "25.50", True)
    assert balance("alice") == Decimal("25.50")


def test_deposit_with_a_reused_reference_and_other_amount_fails(runner):
    PlayerFactory(id="alice", balance="0")
    runner(["deposit", "alice", "1", "USD", "--reference", "d1"])
    result = runner(["deposit", "alice", "2", "USD", "--reference", "d1"])
    assert result.exit_code == 1
    assert "different payload" in result.stderr


def test_withdraw_never_below_zero(runner):
    PlayerFactory(id="alice", balance="10.00")
    result = runner(["withdraw", "alice", "10.01", "USD", "--reference", "w1"])
    assert result.exit_code == 1
    assert "insufficient_funds" in result.stderr
    assert (
        as_json(runner(["withdraw", "alice", "10", "USD", "--reference", "w2", "--json"]))[
            "balance"
        ]
        == "0.00"
    )


def test_bad_amount_is_a_one_line_error(runner):
    PlayerFactory(id="alice", balance="0")
    result = runner(["deposit", "alice", "1.001", "USD", "--reference", "d1"])
    assert result.exit_code == 1
    assert len(result.stderr.strip().splitlines()) == 1


def test_block_and_unblock(runner, client):
    from tests.igpx_helpers import bet, post

    PlayerFactory(id="alice", balance="10")
    assert runner(["players", "block", "alice"]).exit_code == 0
    assert post(client, "transaction", bet("b1", "alice", "1")) == {"error": "USER_BLOCKED"}
    assert runner(["players", "unblock", "alice"]).exit_code == 0
    assert post(client, "transaction", bet("b2", "alice", "1"))["error"] is None
    assert runner(["players", "block", "ghost"]).exit_code == 1


def test_balance_of_unknown_player_fails(runner):
    result = runner(["balance", "ghost", "--json"])
    assert result.exit_code == 1
    assert result.stdout == ""
    assert "does not exist" in result.stderr


def test_import_creates_wallets_with_opening_balances_and_is_idempotent(runner, tmp_path):
    csv_file = tmp_path / "players.csv"
    lines = ["player_id,currency,balance"] + [f"p{i},USD,{i}.50" for i in range(3000)]
    lines.append("p0,EUR,7")
    csv_file.write_text("\n".join(lines) + "\n")
    first = as_json(runner(["players", "import", str(csv_file), "--json"]))
    assert (first["rows"], first["new_deposits"]) == (3001, 3001)
    again = as_json(runner(["players", "import", str(csv_file), "--json"]))
    assert (again["new_deposits"], again["already_imported"]) == (0, 3001)
    assert balance("p2999") == Decimal("2999.50")
    assert balance("p0", "EUR") == Decimal("7")
    assert as_json(runner(["ledger", "verify", "--json"]))["ok"] is True


def test_import_refuses_a_bad_file_and_changes_nothing(runner, tmp_path):
    csv_file = tmp_path / "players.csv"
    csv_file.write_text("player_id,currency,balance\np1,USD,1\np2,USD,-5\n")
    result = runner(["players", "import", str(csv_file)])
    assert result.exit_code == 1
    assert "line 3" in result.stderr
    assert runner(["balance", "p1"]).exit_code == 1


def test_statement_lists_the_latest_postings_oldest_first(runner, client):
    from tests.igpx_helpers import bet, post, result

    PlayerFactory(id="alice", balance="100")
    post(client, "transaction", bet("b1", "alice", "10"))
    post(client, "transaction", result("r1", "alice", "25"))
    entries = as_json(runner(["statement", "alice", "--limit", "2", "--json"]))["entries"]
    assert [(e["kind"], e["external_id"], e["amount"]) for e in entries] == [
        ("bet", "b1", "-10.00"),
        ("win", "r1", "25.00"),
    ]
    assert "r1" in runner(["statement", "alice"]).stdout


def test_transactions_show(runner, client):
    from tests.igpx_helpers import bet, post, rollback

    PlayerFactory(id="alice", balance="100")
    post(client, "transaction", bet("b1", "alice", "10"))
    post(client, "transaction-rollback", rollback("rb1", "b1", "alice", "10"))
    shown = as_json(runner(["transactions", "show", "igpx", "b1", "--json"]))
    assert shown["status"] == "applied"
    assert [p["amount"] for p in shown["postings"]] == ["-10.00", "10.00"]
    assert (shown["balance_before"], shown["balance_after"]) == ("100.00", "90.00")
    assert shown["rolled_back_by"] == [{"external_id": "rb1", "status": "applied"}]
    assert runner(["transactions", "show", "igpx", "nope"]).exit_code == 1


def test_ledger_verify_fails_when_the_books_are_wrong(runner, engine):
    from sqlalchemy import text

    PlayerFactory(id="alice", balance="10")
    assert runner(["ledger", "verify"]).exit_code == 0
    with engine.begin() as conn:
        conn.execute(text("UPDATE accounts SET balance = 9 WHERE player_id = 'alice'"))
    try:
        result = runner(["ledger", "verify", "--json"])
        assert result.exit_code == 1
        assert json.loads(result.stdout)["mismatched_balances"][0]["player_id"] == "alice"
    finally:
        with engine.begin() as conn:
            conn.execute(text("UPDATE accounts SET balance = 10 WHERE player_id = 'alice'"))
