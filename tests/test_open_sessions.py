"""`wallet report open-sessions` and `wallet upside sessions reconcile`: the operator
finishes sessions a worker abandoned, exactly once, with the books balanced."""

from __future__ import annotations

import csv
import io
import json
from concurrent.futures import ThreadPoolExecutor

import pytest

from app.db import UnitOfWork
from app.errors import WalletError
from app.providers.upside import games
from app.providers.upside import sessions as game_sessions
from tests.factories import balance, run_committed
from tests.upside_helpers import (
    GAME,
    WIN,
    act,
    bet,
    make_game,
    make_key,
    make_player,
    payout,
    token,
)
from tests.upside_helpers import refused as refused_action


@pytest.fixture
def table():
    make_game(pool_win=1000)
    return make_key()


def open_bet(client, worker, session_id: str, stake_win: int = 10, win: int = 100) -> str:
    player = make_player(win=win)
    act(client, worker, token(player), bet(session_id, stake_win * WIN))
    return player


def report(runner, *args: str) -> list[dict]:
    result = runner(["report", "open-sessions", *args, "--json"])
    assert result.exit_code == 0, result.output
    return list(json.loads(result.stdout)["rows"])


def reconcile(runner, *args: str):
    return runner(["upside", "sessions", "reconcile", *args, "--json"])


def pool() -> int:
    return int(run_committed(lambda conn: games.pool_balance(conn, games.find(conn, GAME))))


def test_open_sessions_lists_bets_without_payout_older_than_the_threshold(client, runner, table):
    player = open_bet(client, table, "s-open")
    settled = open_bet(client, table, "s-settled")
    act(client, table, token(settled), payout("s-settled", 0))
    rows = report(runner, "--older-than", "0s")
    assert [(r["session_id"], r["player_id"], r["bet"]) for r in rows] == [("s-open", player, "10")]
    assert rows[0]["bet_atomic"] == str(10 * WIN)
    assert report(runner, "--older-than", "5m") == []
    assert report(runner, "--older-than", "0s", "--game", "other") == []
    as_csv = runner(["report", "open-sessions", "--older-than", "0", "--csv"]).stdout
    assert list(csv.DictReader(io.StringIO(as_csv)))[0]["session_id"] == "s-open"
    assert "s-open" in runner(["report", "open-sessions", "--older-than", "0s"]).stdout


def test_refund_gives_the_stake_back_once_and_closes_the_session(client, runner, table):
    player = open_bet(client, table, "s-1")
    assert (balance(player, "WIN"), pool()) == (90, 1010 * WIN)
    result = reconcile(runner, "s-1", "--refund")
    assert result.exit_code == 0, result.output
    row = json.loads(result.stdout)["sessions"][0]
    assert (row["action"], row["amount"], row["balance"], row["player_id"]) == (
        "refunded",
        "10",
        "100",
        player,
    )
    assert (balance(player, "WIN"), pool()) == (100, 1000 * WIN)
    again = reconcile(runner, "s-1", "--refund")
    assert again.exit_code == 1
    assert "already finished" in json.loads(again.stdout)["sessions"][0]["error"]
    late = refused_action(client, table, token(player), payout("s-1", 20 * WIN), 409)
    assert "refunded" in late["message"]
    assert report(runner, "--older-than", "0s") == []
    assert balance(player, "WIN") == 100


def test_settle_pays_what_the_game_owed_once_within_its_limits(client, runner, table):
    player = open_bet(client, table, "s-1")
    too_much = reconcile(runner, "s-1", "--settle-payout", "21")
    assert too_much.exit_code == 1
    assert "above stake" in json.loads(too_much.stdout)["sessions"][0]["error"]
    result = reconcile(runner, "s-1", "--settle-payout", "20")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["sessions"][0]["balance"] == "110"
    assert reconcile(runner, "s-1", "--settle-payout", "20").exit_code == 1
    history = act(client, table, token(player), {"trigger": "getHistory"})
    assert history["sessions"][0]["payoutAmount"] == str(20 * WIN)
    assert balance(player, "WIN") == 110


def test_bulk_refund_finishes_every_open_session_older_than_the_threshold(client, runner, table):
    first, second = open_bet(client, table, "s-1"), open_bet(client, table, "s-2", stake_win=5)
    assert reconcile(runner, "--older-than", "1h", "--refund").stdout.count("refunded") == 0
    result = reconcile(runner, "--older-than", "0s", "--refund")
    assert result.exit_code == 0, result.output
    assert [r["session_id"] for r in json.loads(result.stdout)["sessions"]] == ["s-1", "s-2"]
    assert (balance(first, "WIN"), balance(second, "WIN")) == (100, 100)


@pytest.mark.parametrize(
    "args",
    [
        ["s-1"],
        ["s-1", "--refund", "--settle-payout", "1"],
        ["--refund"],
        ["s-1", "--refund", "--older-than", "5m"],
        ["--older-than", "5m", "--settle-payout", "1"],
        ["unknown-session", "--refund"],
    ],
)
def test_reconcile_refuses_unclear_requests_in_one_line(runner, table, args):
    result = reconcile(runner, *args)
    assert result.exit_code != 0
    assert "Traceback" not in result.output


def test_a_refund_racing_payouts_applies_exactly_once(client, engine, table):
    player = open_bet(client, table, "s-race")

    def attempt(n: int) -> str:
        try:
            with UnitOfWork(engine) as uow:
                if n % 2:
                    game_sessions.refund_open(uow.conn, "s-race")
                else:
                    game_sessions.settle_open(uow.conn, "s-race", 20 * WIN)
                uow.commit()
            return "refund" if n % 2 else "settle"
        except WalletError:
            return "refused"

    with ThreadPoolExecutor(8) as pool_:
        outcomes = list(pool_.map(attempt, range(16)))
    winners = [o for o in outcomes if o != "refused"]
    assert len(winners) == 1
    assert balance(player, "WIN") == (100 if winners == ["refund"] else 110)
