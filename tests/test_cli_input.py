"""Money input the CLI refuses: each bad input is one line on stderr, a non-zero exit and
nothing written."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from sqlalchemy import text

from app.providers.upside import auth
from tests import hypetech_helpers as hype
from tests import igpx_helpers as igpx
from tests import upside_helpers as up
from tests.conftest import UPSIDE_JWT_SECRET
from tests.factories import PlayerFactory, balance, run_committed

POSITIVE = 'amounts are positive, e.g. "10.50"'


COUNTS = text(
    "SELECT (SELECT count(*) FROM players), (SELECT count(*) FROM accounts), "
    "(SELECT count(*) FROM provider_transactions), (SELECT count(*) FROM postings)"
)


def rows_written() -> tuple[int, ...]:
    """Players, accounts, provider transactions and postings in the database."""
    return tuple(run_committed(lambda conn: conn.execute(COUNTS).one()))


def refused(runner, args: list[str]) -> str:
    """Run a command that must fail with one line and write nothing; return that line."""
    before = rows_written()
    result = runner(args)
    assert result.exit_code != 0, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert result.stdout == ""
    assert rows_written() == before
    return lines[0]


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("imp5,USD,1,50", "line 3: 4 columns, the header has 3"),
        ("imp5,USD", "line 3: 2 columns, the header has 3"),
        ("imp5,USD,1e3", "line 3: amount must be a non-negative decimal"),
        ("imp5,USD,+5", "line 3: amount must be a non-negative decimal"),
        ("imp5,USD, 5", "line 3: amount must be a non-negative decimal"),
        ("imp5,USD,", "line 3: amount must be a non-negative decimal"),
        ("imp5,USD,-5", "line 3: amount must be a non-negative decimal"),
        ("imp5,USD,5.", "line 3: amount must be a non-negative decimal"),
        ("imp5,USD,1.001", "line 3: USD amounts have at most 2 decimal places"),
        ("imp5,XYZ,1", "line 3: unknown currency 'XYZ'"),
        (" imp5,USD,1", "line 3: player id ' imp5' must not start or end with a space"),
        (",USD,1", "line 3: a player id must not be empty"),
        ('"imp\t5",USD,1', "line 3: player id 'imp\\t5' must not contain control characters"),
    ],
)
def test_import_refuses_a_bad_row_and_imports_nothing(runner, tmp_path, line, problem):
    csv_file = tmp_path / "players.csv"
    csv_file.write_text(f"player_id,currency,balance\nimp1,USD,10.00\n{line}\nimp9,USD,1\n")
    assert refused(runner, ["players", "import", str(csv_file)]).startswith(f"Error: {problem}")


def test_import_counts_lines_as_written_and_skips_blank_ones(runner, tmp_path):
    csv_file = tmp_path / "players.csv"
    csv_file.write_text("player_id,currency,balance\n\nimp1,USD,10.00\n\nimp2,USD,1,5\n")
    assert refused(runner, ["players", "import", str(csv_file)]).startswith("Error: line 5: ")


def test_import_refuses_a_file_that_is_not_utf8(runner, tmp_path):
    csv_file = tmp_path / "players.csv"
    csv_file.write_bytes(b"player_id,currency,balance\n\xff\xfe,USD,1\n")
    assert refused(runner, ["players", "import", str(csv_file)]) == (
        "Error: players.csv is not UTF-8 text"
    )


def test_import_reads_a_header_with_a_byte_order_mark_and_extra_columns(runner, tmp_path):
    csv_file = tmp_path / "players.csv"
    csv_file.write_text("\ufeffplayer_id,name,currency,balance\nimp1,Ann,USD,10.50\n")
    assert runner(["players", "import", str(csv_file)]).exit_code == 0
    assert balance("imp1") == Decimal("10.50")


@pytest.mark.parametrize("command", ["deposit", "withdraw"])
@pytest.mark.parametrize("amount", ["0", "0.00", "-5", "-0.01", "1e3", "abc", "", " 5"])
def test_cashier_refuses_amounts_that_are_not_positive(runner, command, amount):
    PlayerFactory(id="alice", balance="10")
    args = [command, "alice", amount, "USD", "--reference", "r1"]
    assert refused(runner, args) == f"Error: amount {amount!r}: {POSITIVE}"


def test_a_negative_amount_is_read_as_the_amount_wherever_it_is(runner):
    PlayerFactory(id="alice", balance="10")
    args = ["deposit", "--reference", "r1", "alice", "-5", "USD", "--json"]
    assert refused(runner, args) == f"Error: amount '-5': {POSITIVE}"


@pytest.mark.parametrize("amount", ["-5", "0", "0.0"])
def test_pool_fund_refuses_amounts_that_are_not_positive(runner, amount):
    up.make_game(pool_win=7)
    line = refused(runner, ["upside", "pool", "fund", up.GAME, amount])
    assert line == f"Error: amount {amount!r}: {POSITIVE}"
    pools = json.loads(runner(["upside", "games", "list", "--json"]).stdout)["games"]
    assert pools[0]["pool_balance"] == "7"


def test_pool_fund_refuses_zero_atomic_units(runner):
    up.make_game(pool_win=7)
    line = refused(runner, ["upside", "pool", "fund", up.GAME, "0", "--atomic"])
    assert line == f"Error: AMOUNT_WIN '0': {POSITIVE}"


@pytest.mark.parametrize(
    ("player_id", "problem"),
    [
        ("", "a player id must not be empty"),
        (" spaced ", "player id ' spaced ' must not start or end with a space"),
        ("alice\n", "player id 'alice\\n' must not start or end with a space"),
        ("al\x1bice", "player id 'al\\x1bice' must not contain control characters"),
        ("al\u0085ice", "player id 'al\\x85ice' must not contain control characters"),
        ("p" * 65, "a player id has at most 64 characters"),
    ],
)
def test_players_create_refuses_a_bad_player_id(runner, player_id, problem):
    args = ["players", "create", player_id, "--currency", "USD"]
    assert refused(runner, args) == f"Error: {problem}"


def test_a_player_id_with_inner_spaces_and_any_script_is_fine(runner):
    for player_id in ("ann smith", "игрок-1", "p" * 64):
        assert runner(["players", "create", player_id, "--currency", "USD"]).exit_code == 0


def test_the_adapters_apply_the_same_player_id_rule(client):
    PlayerFactory(id="alice", balance="10")
    answer = igpx.post(client, "transaction", igpx.bet("b1", " alice", "1"))
    assert answer == {"error": "INVALID_REQUEST"}
    problem = hype.problem(client, "register", hype.bet("h1", "alice\t", "1"), 400)
    assert "player id 'alice\\t' must not start or end with a space" in problem["detail"]
    up.make_game()
    worker = up.make_key()
    jwt = auth.mint_token(UPSIDE_JWT_SECRET, "alice ", 300)
    error = up.refused(client, worker, jwt, {"trigger": "checkAuth"}, 401)
    assert error["message"] == "B3-JWT sub must be a player id"
