"""Races over real parallel connections to gunicorn: exactly once, never negative."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any

import pytest
import requests
from sqlalchemy import func, select, text

from app.core.models import provider_transactions
from tests.factories import PlayerFactory, balance, run_committed
from tests.igpx_helpers import bet, body_of, result, rollback, sign

pytestmark = pytest.mark.slow


def send_all(base_url: str, calls: list[tuple[str, dict[str, Any]]]) -> list[dict[str, Any]]:
    """Send every (path, payload) at the same instant, one connection each."""
    barrier = threading.Barrier(len(calls))

    def send(call: tuple[str, dict[str, Any]]) -> dict[str, Any]:
        path, payload = call
        body = body_of(payload)
        headers = {"Content-Type": "application/json", "X-Security-Hash": sign(body)}
        barrier.wait()
        response = requests.post(f"{base_url}/igpx/{path}", data=body, headers=headers, timeout=30)
        assert response.status_code == 200
        answer: dict[str, Any] = response.json()
        return answer

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(send, calls))


def records(external_id: str) -> int:
    query = select(func.count()).where(provider_transactions.c.external_id == external_id)
    return int(run_committed(lambda conn: conn.execute(query).scalar_one()))


def test_same_bet_twenty_times_at_once_applies_once(live_server):
    player = PlayerFactory(balance="100.00")
    answers = send_all(live_server, [("transaction", bet("b1", player, "10"))] * 20)
    assert all(answer == answers[0] for answer in answers)
    assert answers[0]["error"] is None
    assert balance(player) == Decimal("90.00")
    assert records("b1") == 1


def test_same_result_twenty_times_at_once_credits_once(live_server):
    player = PlayerFactory(balance="0")
    answers = send_all(live_server, [("transaction", result("r1", player, "7.77"))] * 20)
    assert len({a["transaction_id"] for a in answers}) == 1
    assert balance(player) == Decimal("7.77")


def test_forty_bets_against_a_balance_for_nineteen_accept_exactly_nineteen(live_server):
    player = PlayerFactory(balance="19.00")
    calls = [("transaction", bet(f"b{i}", player, "1.00")) for i in range(40)]
    answers = send_all(live_server, calls)
    accepted = [a for a in answers if a["error"] is None]
    declined = [a for a in answers if a["error"] == "INSUFFICIENT_FUNDS"]
    assert (len(accepted), len(declined)) == (19, 21)
    assert balance(player) == Decimal("0.00")


def test_a_bet_and_its_rollback_racing_end_with_no_money_moved(live_server):
    player = PlayerFactory(balance="50.00")
    calls = []
    for i in range(15):
        calls.append(("transaction", bet(f"b{i}", player, "3.00")))
        calls.append(("transaction-rollback", rollback(f"rb{i}", f"b{i}", player, "3.00")))
    answers = send_all(live_server, calls)
    assert all(a["error"] in (None, "TRANSACTION_ROLLED_BACK") for a in answers)
    assert balance(player) == Decimal("50.00")


def test_many_rollbacks_of_one_bet_at_once_refund_it_once(live_server):
    player = PlayerFactory(balance="50.00")
    send_all(live_server, [("transaction", bet("b1", player, "20"))])
    calls = [("transaction-rollback", rollback(f"rb{i}", "b1", player, "20")) for i in range(20)]
    answers = send_all(live_server, calls)
    assert all(a["error"] is None for a in answers)
    assert balance(player) == Decimal("50.00")


def test_bets_never_wait_on_the_house_account_row(live_server, engine):
    """A transaction holding the house row locked (longer than the lock timeout) does not
    stop bets: no bet locks, updates or foreign-key-shares the house account."""
    players = [PlayerFactory(balance="10.00") for _ in range(20)]
    send_all(live_server, [("transaction", bet("warm-up", players[0], "1"))])
    with engine.begin() as conn:
        conn.execute(text("SELECT 1 FROM accounts WHERE name = 'house:igpx' FOR UPDATE"))
        calls = [("transaction", bet(f"b-{p}", p, "1")) for p in players[1:]]
        answers = send_all(live_server, calls)
    assert all(a["error"] is None for a in answers)
    assert all(balance(p) == Decimal("9.00") for p in players)
