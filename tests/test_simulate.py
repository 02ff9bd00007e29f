"""`wallet simulate` plays each provider against the product under gunicorn and checks
every balance it expected against the ledger."""

from __future__ import annotations

import json
import threading
from decimal import Decimal

import pytest

from app.simulate import runner
from app.simulate.igpx import IgpxClient
from tests.conftest import IGPX_SECRET
from tests.factories import deposit, in_transaction

pytestmark = pytest.mark.slow


def simulate(cli_runner, url: str, provider: str, *more: str):
    args = ["simulate", provider, "--url", url, "--players", "3", "--rounds", "6"]
    return cli_runner([*args, "--duplicates", "25%", "--rollbacks", "25%", "--seed", "7", *more])


@pytest.mark.parametrize("provider", ["igpx", "hypetech", "upside"])
def test_simulation_moves_money_and_every_balance_matches_the_ledger(runner, live_server, provider):
    result = simulate(runner, live_server, provider, "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["ok"], summary
    assert summary["balances_checked"] == 3
    assert summary["mismatched_balances"] == []
    assert summary["requests"] >= 3 * 6
    assert summary["duplicates"] > 0
    assert summary["rollbacks"] + summary["abandoned_sessions"] > 0


def test_simulation_summary_for_people(runner, live_server):
    result = simulate(runner, live_server, "igpx")
    assert result.exit_code == 0, result.output
    assert "3 checked against the ledger, 0 mismatched" in result.stdout
    assert result.stdout.rstrip().endswith("OK")


def test_a_balance_changed_behind_the_simulators_back_is_a_mismatch(engine, live_server):
    options = runner.Options(live_server, players=2, rounds=4, seed=1, concurrency=2)
    moved: list[str] = []
    lock = threading.Lock()

    def tamper() -> None:  # after the first round, someone else credits a sim player
        with lock:
            if not moved:
                moved.append(in_transaction(_first_sim_player))
                deposit(moved[0], Decimal("1.00"))

    summary = runner.simulate(IgpxClient(IGPX_SECRET), options, in_transaction, tamper)
    assert not summary.ok
    assert [m["player_id"] for m in summary.mismatches] == moved


def _first_sim_player(conn) -> str:
    from sqlalchemy import text

    return str(conn.execute(text("SELECT min(id) FROM players WHERE id LIKE 'sim-%'")).scalar())


def test_answers_signed_with_the_wrong_secret_fail_the_run(app, runner, live_server):
    app.config["IGPX_SECURITY_HASH"] = "not-the-servers-secret"
    try:
        result = simulate(runner, live_server, "igpx", "--json")
    finally:
        app.config["IGPX_SECURITY_HASH"] = IGPX_SECRET
    assert result.exit_code == 1
    assert "INVALID_SIGNATURE" in json.loads(result.stdout)["problems"][0]


def test_no_wallet_at_the_url_is_one_line(runner):
    result = runner(["simulate", "igpx", "--url", "http://127.0.0.1:9", "--players", "1"])
    assert result.exit_code == 1
    assert "no wallet answers at http://127.0.0.1:9" in result.output
