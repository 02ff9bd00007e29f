"""IGPX bets sent the way IGPX sends them, from several connections at once: each bet is
sent until it gets a definitive answer (accepted or declined), and an internal error or
no answer at all is retried with the same transaction id. Every attempt is kept, with
when it was sent and answered, for the checks and the figures of the failover tests."""

from __future__ import annotations

import itertools
import random
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal

import requests

from tests.igpx_helpers import bet, body_of, sign

AMOUNT = Decimal("1.00")
OK, DECLINED, INTERNAL, NO_ANSWER = "ok", "declined", "internal error", "no answer"
DEFINITIVE = (OK, DECLINED)


@dataclass(frozen=True)
class Attempt:
    sent: float  # time.monotonic()
    answered: float
    outcome: str  # OK, DECLINED, INTERNAL, NO_ANSWER or what else came back

    @property
    def seconds(self) -> float:
        return self.answered - self.sent


@dataclass
class Bet:
    tx: str
    player: str
    attempts: list[Attempt] = field(default_factory=list)

    @property
    def outcome(self) -> str | None:
        """The definitive answer, None while there is none."""
        last = self.attempts[-1].outcome if self.attempts else None
        return last if last in DEFINITIVE else None


def outcome_of(response: requests.Response) -> str:
    """OK, DECLINED or INTERNAL: IGPX's only acceptable answers here; anything else is
    returned as it came (and fails the test)."""
    try:
        error = response.json()["error"] if response.status_code == 200 else "?"
    except (ValueError, KeyError, TypeError):
        error = "?"
    if error is None:
        return OK
    if error == "INSUFFICIENT_FUNDS":
        return DECLINED
    if error == "INTERNAL_ERROR":
        return INTERNAL
    return f"HTTP {response.status_code}: {response.text[:200]}"


class Bettors:
    """``threads`` connections placing bets of :data:`AMOUNT` on random ``players`` until
    :meth:`stop` (then each finishes the bet it holds, retrying until ``give_up_s``)."""

    def __init__(
        self,
        base_url: str,
        players: list[str],
        threads: int,
        prefix: str,
        seed: int = 20,
        timeout_s: float = 15,
        retry_pause_s: float = 0.1,
    ) -> None:
        self.url = f"{base_url}/igpx/transaction"
        self.players = players
        self.bets: list[Bet] = []
        self._ids = (f"{prefix}-{n}" for n in itertools.count())
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._threads = [threading.Thread(target=self._run) for _ in range(threads)]
        self._timeout_s = timeout_s
        self._retry_pause_s = retry_pause_s
        self._give_up_at = float("inf")

    def __enter__(self) -> Bettors:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self, give_up_s: float = 60) -> None:
        """No new bets; wait (at most ``give_up_s``) for those under way to be settled."""
        self._give_up_at = time.monotonic() + give_up_s
        self._stopping.set()
        for thread in self._threads:
            thread.join(give_up_s + self._timeout_s)

    def _next(self) -> Bet:
        with self._lock:
            placed = Bet(next(self._ids), self._rng.choice(self.players))
            self.bets.append(placed)
        return placed

    def _run(self) -> None:
        with requests.Session() as session:
            while not self._stopping.is_set():
                self._settle(session, self._next())

    def _settle(self, session: requests.Session, placed: Bet) -> None:
        body = body_of(bet(placed.tx, placed.player, str(AMOUNT)))
        headers = {"Content-Type": "application/json", "X-Security-Hash": sign(body)}
        while time.monotonic() < self._give_up_at:
            sent = time.monotonic()
            try:
                response = session.post(
                    self.url, data=body, headers=headers, timeout=self._timeout_s
                )
                outcome = outcome_of(response)
            except requests.RequestException:
                outcome = NO_ANSWER
            placed.attempts.append(Attempt(sent, time.monotonic(), outcome))
            if outcome in DEFINITIVE or outcome not in (INTERNAL, NO_ANSWER):
                return
            time.sleep(self._retry_pause_s)

    # --- what happened ---------------------------------------------------------------

    def attempts(self) -> list[Attempt]:
        return [attempt for placed in self.bets for attempt in placed.attempts]

    def count(self, outcome: str, since: float = 0) -> int:
        return sum(1 for a in self.attempts() if a.outcome == outcome and a.answered >= since)

    def answers(self) -> Counter[str]:
        return Counter(attempt.outcome for attempt in self.attempts())

    def unexpected(self) -> list[str]:
        """Answers other than success, decline and internal error (no answer included)."""
        return [a.outcome for a in self.attempts() if a.outcome not in (*DEFINITIVE, INTERNAL)]

    def unsettled(self) -> list[str]:
        return [placed.tx for placed in self.bets if placed.outcome is None]

    def accepted(self) -> dict[str, str]:
        """Transaction id → player of every bet acknowledged to the provider."""
        return {placed.tx: placed.player for placed in self.bets if placed.outcome == OK}

    def declined(self) -> set[str]:
        return {placed.tx for placed in self.bets if placed.outcome == DECLINED}

    def first_acknowledged_after(self, moment: float) -> float | None:
        """When the first bet sent after ``moment`` was acknowledged."""
        times = [a.answered for a in self.attempts() if a.outcome == OK and a.sent >= moment]
        return min(times, default=None)

    def slowest(self, outcome: str) -> float:
        return max((a.seconds for a in self.attempts() if a.outcome == outcome), default=0.0)

    def wait_for(self, outcome: str, count: int, since: float = 0, timeout_s: float = 30) -> None:
        deadline = time.monotonic() + timeout_s
        while self.count(outcome, since) < count:
            if time.monotonic() > deadline:
                raise TimeoutError(f"fewer than {count} {outcome!r} answers in {timeout_s} s")
            time.sleep(0.05)
