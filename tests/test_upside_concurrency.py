"""Races with real parallel connections: threads each POST through their own test client."""

from __future__ import annotations

import threading
from collections import Counter
from decimal import Decimal
from typing import Any

from app.providers.upside import games
from tests.factories import balance, run_committed
from tests.upside_helpers import GAME, WIN, act, bet, make_game, make_key, make_player, payout, send
from tests.upside_helpers import token as mint


def race(app: Any, requests: list[tuple[Any, str, dict[str, Any]]]) -> list[Any]:
    """Send every (worker, jwt, payload) at once, one thread each; return the responses."""
    barrier = threading.Barrier(len(requests))
    responses: list[Any] = [None] * len(requests)

    def run(index: int, worker: Any, jwt: str, payload: dict[str, Any]) -> None:
        client = app.test_client()
        barrier.wait()
        responses[index] = send(client, worker, jwt, payload)

    threads = [
        threading.Thread(target=run, args=(i, *request)) for i, request in enumerate(requests)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return responses


def test_twenty_concurrent_payouts_on_one_session_pay_exactly_once(app, client):
    make_game()
    player = make_player(win=100)
    worker, jwt = make_key(), mint(player)
    act(client, worker, jwt, bet("s-1", 10 * WIN))
    requests = [(worker, jwt, payout("s-1", 20 * WIN, gameData={"try": n})) for n in range(20)]
    responses = race(app, requests)
    statuses = Counter(r.status_code for r in responses)
    assert statuses == {200: 1, 409: 19}, statuses
    for refused in (r for r in responses if r.status_code == 409):
        assert "already processed" in refused.get_json()["error"]["message"]
    assert balance(player, "WIN") == Decimal(110)


def test_twenty_identical_concurrent_payouts_pay_once_and_the_rest_are_replays(app, client):
    """Byte-identical requests signed in the same millisecond are one request sent 20 times."""
    make_game()
    player = make_player(win=100)
    worker, jwt = make_key(), mint(player)
    act(client, worker, jwt, bet("s-1", 10 * WIN))
    responses = race(app, [(worker, jwt, payout("s-1", 20 * WIN))] * 20)
    assert Counter(r.status_code for r in responses) == {200: 1, 409: 19}
    for refused in (r for r in responses if r.status_code == 409):
        assert "already processed" in refused.get_json()["error"]["message"]
    assert balance(player, "WIN") == Decimal(110)


def test_concurrent_bets_never_take_a_player_below_zero(app):
    make_game(pool_win=10_000)
    player = make_player(win=10)
    worker, jwt = make_key(), mint(player)
    responses = race(app, [(worker, jwt, bet(f"s-{n}", WIN)) for n in range(25)])
    statuses = Counter(r.status_code for r in responses)
    assert statuses == {200: 10, 422: 15}, statuses
    assert balance(player, "WIN") == Decimal(0)


def test_concurrent_payouts_never_overdraw_the_pool(app, client):
    make_game("crash", multiplier="10", pool_win=10)
    worker = make_key(("crash",))
    players = [make_player(win=5) for _ in range(5)]
    jwts = [mint(p) for p in players]
    for n, jwt in enumerate(jwts):
        act(client, worker, jwt, bet(f"s-{n}", WIN, game="crash"))
    pool_before = run_committed(games.pool_balance, run_committed(games.find, "crash"))
    assert pool_before == 15 * WIN
    requests = [
        (worker, jwt, payout(f"s-{n}", 10 * WIN, game="crash")) for n, jwt in enumerate(jwts)
    ]
    statuses = Counter(r.status_code for r in race(app, requests))
    assert statuses == {200: 1, 422: 4}, statuses
    pool_after = run_committed(games.pool_balance, run_committed(games.find, "crash"))
    assert pool_after == 5 * WIN


def test_concurrent_bets_with_one_session_id_take_the_stake_once(app):
    make_game(GAME)
    player = make_player(win=100)
    worker, jwt = make_key(), mint(player)
    responses = race(app, [(worker, jwt, bet("same", WIN, clientNonce=str(n))) for n in range(10)])
    assert Counter(r.status_code for r in responses) == {200: 1, 409: 9}
    assert balance(player, "WIN") == Decimal(99)
