"""Slow clients do not stop the service: a request has REQUEST_READ_TIMEOUT_S to arrive
whole, and while it arrives no serving thread waits for it (app.worker.BufferingWorker).

Twenty connections trickle their request a byte every 0.25 s, half of them the head and
half the body, against gunicorn with 2 workers x 2 threads on 127.0.0.1: four threads in
all, which the trickles would hold if a thread read a request as it came.
"""

from __future__ import annotations

import socket
import threading
import time

import pytest
import requests

from tests.factories import PlayerFactory, balance
from tests.igpx_helpers import bet, body_of, sign
from tests.live import start_gunicorn

pytestmark = pytest.mark.slow
DEADLINE_S = 2
BUDGET_S = 2  # REQUEST_BUDGET_MS's default: what a provider waits for an answer
DRIP_S = 0.25


class Trickle(threading.Thread):
    """A connection that sends ``opening`` and then one byte every DRIP_S, until the
    server closes it (or ``give_up_s`` passes); ``held_s`` is how long it stayed open."""

    def __init__(self, port: int, opening: bytes, give_up_s: float) -> None:
        super().__init__(daemon=True)
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.sock.sendall(opening)
        self.opened = time.monotonic()
        self.give_up_s = give_up_s
        self.held_s: float | None = None  # None: still open when the test gave up

    def run(self) -> None:
        while time.monotonic() - self.opened < self.give_up_s:
            try:
                self.sock.send(b" ")
                if self.sock.recv(1, socket.MSG_DONTWAIT) == b"":
                    break
            except BlockingIOError:
                pass  # open, and nothing to read: the server is still waiting
            except OSError:
                break  # reset by the server
            time.sleep(DRIP_S)
        else:
            return
        self.held_s = time.monotonic() - self.opened
        self.sock.close()


def trickles(port: int, count: int) -> list[Trickle]:
    head = b"POST /igpx/transaction HTTP/1.1\r\nHost: wallet\r\n"
    openings = [
        head + b"X-Slow-Header:",  # the head never ends
        head + b"Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{",
    ]
    return [Trickle(port, openings[n % 2], give_up_s=DEADLINE_S + 6) for n in range(count)]


def place_bet(base_url: str, player: str, tx: str) -> requests.Response:
    body = body_of(bet(tx, player, "1"))
    headers = {"Content-Type": "application/json", "X-Security-Hash": sign(body)}
    return requests.post(f"{base_url}/igpx/transaction", data=body, headers=headers, timeout=5)


def health(base_url: str) -> requests.Response:
    return requests.get(f"{base_url}/healthz", timeout=5)


def timed(call, *args: str) -> tuple[float, requests.Response]:
    started = time.monotonic()
    response = call(*args)
    return time.monotonic() - started, response


def test_trickling_connections_are_closed_and_others_are_served_meanwhile(app, settings):
    player = PlayerFactory(balance="1000.00")
    env = {key: str(value) for key, value in settings.items()}
    env["REQUEST_READ_TIMEOUT_S"] = str(DEADLINE_S)
    with start_gunicorn(env, workers=2, threads=2) as server:
        port = int(server.url.rsplit(":", 1)[1])
        held = trickles(port, 20)
        for trickle in held:
            trickle.start()
        answers = []
        while time.monotonic() - held[-1].opened < DEADLINE_S - 0.5:
            answers.append(timed(place_bet, server.url, player, f"slow-{len(answers)}"))
            answers.append(timed(health, server.url))
            time.sleep(0.05)
        served_by = time.monotonic()
        for trickle in held:
            trickle.join()

    assert [response.status_code for _, response in answers] == [200] * len(answers)
    assert [r.json() for _, r in answers[::2] if r.json()["error"] is not None] == []
    assert max(seconds for seconds, _ in answers) < BUDGET_S
    assert balance(player) == 1000 - len(answers) // 2
    # Every trickle was still open while the bets were answered, and closed after the
    # deadline (the worker looks once a second).
    assert all(t.held_s is not None for t in held), [t.held_s for t in held]
    assert all(t.opened + t.held_s > served_by for t in held)
    assert all(DEADLINE_S - 0.1 < t.held_s < DEADLINE_S + 2.5 for t in held), [
        t.held_s for t in held
    ]
