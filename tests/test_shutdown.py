"""A SIGTERM lets gunicorn finish the callbacks it is serving before it exits."""

from __future__ import annotations

import signal
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests
from sqlalchemy import Engine, text

from tests.factories import PlayerFactory, balance
from tests.igpx_helpers import bet, body_of, sign
from tests.live import start_gunicorn

pytestmark = pytest.mark.slow
IN_FLIGHT = 3


def send_bet(url: str, tx: str, player: str) -> dict[str, Any]:
    body = body_of(bet(tx, player, "1"))
    headers = {"Content-Type": "application/json", "X-Security-Hash": sign(body)}
    response = requests.post(f"{url}/igpx/transaction", data=body, headers=headers, timeout=60)
    answer: dict[str, Any] = response.json()
    return answer


def wait_for(condition: Any, what: str, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def waiting_on_locks(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND wait_event_type = 'Lock'"
                )
            ).scalar_one()
        )


def refuses_new_requests(url: str) -> bool:
    try:
        requests.get(f"{url}/healthz", timeout=1)
    except requests.RequestException:
        return True
    return False


def test_sigterm_finishes_in_flight_callbacks(settings, engine):
    player = PlayerFactory(balance="10.00")
    env = {key: str(value) for key, value in settings.items()}
    slow = {"REQUEST_BUDGET_MS": "30000", "DB_LOCK_TIMEOUT_MS": "25000"}
    with (
        start_gunicorn({**env, **slow}, workers=1, threads=IN_FLIGHT + 1) as server,
        ThreadPoolExecutor(IN_FLIGHT) as pool,
    ):
        with engine.connect() as holder, holder.begin():
            holder.execute(
                text("SELECT 1 FROM accounts WHERE player_id = :p FOR UPDATE"), {"p": player}
            )
            futures = [pool.submit(send_bet, server.url, f"t{n}", player) for n in range(IN_FLIGHT)]
            wait_for(lambda: waiting_on_locks(engine) >= IN_FLIGHT, "callbacks to be in flight")
            server.process.send_signal(signal.SIGTERM)
            wait_for(lambda: refuses_new_requests(server.url), "gunicorn to stop accepting")
            assert server.process.poll() is None  # still finishing what it started
        answers = [future.result(timeout=30) for future in futures]
        assert server.process.wait(timeout=30) == 0
    assert all(answer["error"] is None for answer in answers), answers
    assert balance(player) == 10 - IN_FLIGHT
