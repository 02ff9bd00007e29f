"""`wallet simulate` plays each provider against the product under gunicorn and checks
every balance it expected against the ledger."""

from __future__ import annotations

import json
import threading
from decimal import Decimal

import pytest
import requests

from app import simulate as runner
from app.providers.igpx.simulator import IgpxClient
from tests.conftest import IGPX_SECRET
from tests.factories import deposit, run_committed
from tests.live import run_gunicorn

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


def test_requests_spread_over_several_hosts_still_apply_once(runner, live_server, settings):
    """Two gunicorn hosts on one database, as behind a load balancer: every request,
    retry and duplicate goes to the next host, and every balance still matches."""
    env = {key: str(value) for key, value in settings.items()}
    env["PROMETHEUS_MULTIPROC_DIR"] = ""  # the second host's own metrics
    with run_gunicorn(env, workers=1, threads=4) as second:
        result = simulate(runner, live_server, "igpx", "--url", second, "--json")
        answered = _igpx_callbacks(second)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["ok"], summary
    assert summary["urls"] == [live_server, second]
    assert summary["duplicates"] > 0
    # Round robin: the second host answered about half of the requests (the first is
    # shared with other tests, so only the second's count is exact).
    assert summary["requests"] // 2 - 1 <= answered <= summary["requests"] // 2 + 1


def _igpx_callbacks(base_url: str) -> int:
    text = requests.get(f"{base_url}/metrics", timeout=5).text
    return round(
        sum(
            float(line.rsplit(" ", 1)[1])
            for line in text.splitlines()
            if line.startswith("wallet_callbacks_total{") and 'provider="igpx"' in line
        )
    )


def test_a_balance_changed_behind_the_simulators_back_is_a_mismatch(engine, live_server):
    options = runner.Options([live_server], players=2, rounds=4, seed=1, concurrency=2)
    moved: list[str] = []
    lock = threading.Lock()

    def tamper() -> None:  # after the first round, someone else credits a sim player
        with lock:
            if not moved:
                moved.append(run_committed(_first_sim_player))
                deposit(moved[0], Decimal("1.00"))

    summary = runner.simulate(IgpxClient(IGPX_SECRET), options, run_committed, tamper)
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
