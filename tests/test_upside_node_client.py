"""The guide's own worker client, run in Node against the wallet served on 127.0.0.1."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from werkzeug.serving import make_server

from tests import upside_node
from tests.factories import balance
from tests.upside_helpers import GAME, WIN, make_game, make_key, make_player, token

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(upside_node.node() is None, reason="node is not installed"),
]


@pytest.fixture
def live_server(app) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)


@pytest.fixture
def worker_env(live_server) -> dict[str, Any]:
    make_game(pool_win=1000)
    player = make_player(win=100)
    worker = make_key()
    env = {**worker.env, "UPSIDE_API_BASE_URL": live_server}
    return {"env": env, "jwt": token(player), "game": GAME, "player": player}


def scenario(setup: dict[str, Any], *batches: list[dict[str, Any]]) -> dict[str, Any]:
    steps = {"env": setup["env"], "jwt": setup["jwt"], "game": setup["game"]}
    return upside_node.run({**steps, "steps": list(batches)})


def action(name: str, **body: Any) -> dict[str, Any]:
    return {"name": name, "body": body}


def test_every_trigger_through_the_guides_client(worker_env):
    bet_amount = str(WIN)
    results = scenario(
        worker_env,
        [action("checkAuth", trigger="checkAuth"), action("getUser", trigger="getUser")],
        [action("getBalance", trigger="getBalance")],
        [action("getMaxBet", trigger="getMaxBet", gameType=GAME)],
        [action("placeBet", trigger="placeBet", gameType=GAME, betAmount=bet_amount)],
        [action("getActive", trigger="getActive", gameType=GAME)],
        [
            {
                **action(
                    "processPayout",
                    trigger="processPayout",
                    gameType=GAME,
                    payoutAmount=str(2 * WIN),
                    result="win",
                    gameData={"prediction": "heads", "result": "heads"},
                ),
                "sessionFrom": {"sessionId": "placeBet"},
            }
        ],
        [action("getHistory", trigger="getHistory", gameType=GAME)],
    )
    failed = {name: r["error"] for name, r in results.items() if not r["ok"]}
    assert not failed
    value = {name: r["value"] for name, r in results.items()}
    assert value["checkAuth"]["userId"] == worker_env["player"]
    assert value["getBalance"]["balanceFormatted"] == "100"
    assert value["getMaxBet"]["maxBetAmountFormatted"] == "500"
    assert value["placeBet"]["userBalanceFormatted"] == "99"
    session = value["placeBet"]["sessionId"]
    assert [s["sessionId"] for s in value["getActive"]["sessions"]] == [session]
    assert value["processPayout"]["userBalance"] == str(101 * WIN)
    assert value["getHistory"]["total"] == 1
    assert value["getHistory"]["sessions"][0]["gameData"]["prediction"] == "heads"
    assert balance(worker_env["player"], "WIN") == Decimal(101)


def test_settle_with_retry_reconciles_an_already_processed_payout(worker_env):
    payout = {"payoutAmount": str(2 * WIN), "result": "win", "gameData": {"n": 1}}
    results = scenario(
        worker_env,
        [
            action(
                "placeBet", trigger="placeBet", gameType=GAME, sessionId="s-1", betAmount=str(WIN)
            )
        ],
        [{"name": "first", "settleWithRetry": {"sessionId": "s-1", **payout}}],
        [{"name": "retry", "settleWithRetry": {"sessionId": "s-1", **payout}}],
    )
    assert results["first"]["value"]["trigger"] == "processPayout"
    retried = results["retry"]["value"]
    assert retried["trigger"] == "getHistory"
    assert [s["sessionId"] for s in retried["sessions"]] == ["s-1"]
    assert balance(worker_env["player"], "WIN") == Decimal(101)


def test_failures_reach_the_client_as_non_2xx_errors(worker_env):
    results = scenario(
        worker_env,
        [action("tooBig", trigger="placeBet", gameType=GAME, betAmount=str(501 * WIN))],
        [
            action(
                "noSession", trigger="processPayout", gameType=GAME, sessionId="x", payoutAmount="0"
            )
        ],
        [action("otherGame", trigger="getMaxBet", gameType="no-such-game")],
    )
    assert results["tooBig"]["error"].startswith("Upside API 422:")
    assert results["noSession"]["error"].startswith("Upside API 404:")
    assert results["otherGame"]["error"].startswith("Upside API 404:")


def test_twenty_parallel_payouts_from_node_pay_once(worker_env):
    setup = scenario(
        worker_env,
        [
            action(
                "placeBet", trigger="placeBet", gameType=GAME, sessionId="s-1", betAmount=str(WIN)
            )
        ],
    )
    assert setup["placeBet"]["ok"]
    payouts = [
        {
            "name": f"p{n}",
            "settleWithRetry": {
                "sessionId": "s-1",
                "payoutAmount": str(2 * WIN),
                "result": "win",
                "gameData": {"n": n},
            },
        }
        for n in range(20)
    ]
    results = scenario(worker_env, payouts)
    triggers = [r["value"]["trigger"] for r in results.values() if r["ok"]]
    # Losers reconcile through getHistory. Two identical getHistory calls signed in the same
    # millisecond carry the same signature, and a signature is accepted once: the second is
    # refused as a replay. That refusal is correct, so it is tolerated here.
    refused = [r["error"] for r in results.values() if not r["ok"]]
    assert all("REPLAYED_REQUEST" in error for error in refused), refused
    assert triggers.count("processPayout") == 1
    assert triggers.count("getHistory") == 19 - len(refused)
    assert balance(worker_env["player"], "WIN") == Decimal(101)
