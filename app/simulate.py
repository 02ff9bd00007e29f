"""``wallet simulate``: play a provider against a running wallet and check every balance.

This module owns the run: players with a model of their balance, rounds played in
parallel across players (each player's rounds in order), retries, and a final check of
the model against the ledger. Each provider package brings one small client behind the
:class:`ProviderClient` interface: it prepares what the provider needs in the database
and plays one round, signing as the provider.

The model is exact because only the simulator touches its own players
(``sim-<run>-<n>``): every answer that reports a balance is compared with it, and at the
end every player's ledger balance must equal it. The check reads the wallet's database
(the one this CLI is configured for), so a simulation targets this deployment.
"""

from __future__ import annotations

import itertools
import random
import secrets
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol

import requests
from sqlalchemy import Connection

from app.core import players, wallet

CENT = Decimal("0.01")
MAX_ATTEMPTS = 5
Transact = Callable[..., Any]


@dataclass(frozen=True)
class Options:
    urls: Sequence[str]  # several: requests go to each in turn, as behind a load balancer
    players: int
    rounds: int
    duplicates: float = 0.05
    rollbacks: float = 0.02
    concurrency: int = 8
    seed: int | None = None
    start_balance: Decimal = Decimal(100)
    timeout_s: float = 5.0


@dataclass
class SimPlayer:
    id: str
    modelled: Decimal
    rng: random.Random


class Tally:
    """Counters and problems, shared by every player's thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.counts: Counter[str] = Counter()
        self.problems: list[str] = []

    def count(self, name: str, n: int = 1) -> None:
        with self._lock:
            self.counts[name] += n

    def problem(self, text: str) -> None:
        with self._lock:
            self.problems.append(text)


@dataclass
class Answer:
    status: int
    body: Any
    attempts: int


class Transport:
    """POST with retries: a timeout, a lost connection or an internal-error answer is
    retried (up to 5 attempts, backing off), as providers do. ``headers`` is called for
    every attempt so a protocol with timestamped signatures can sign afresh.

    With several wallet URLs every POST, retries and duplicates included, goes to the next
    one in turn, as a round-robin load balancer would send them to different hosts."""

    def __init__(self, base_urls: Sequence[str], timeout_s: float, tally: Tally) -> None:
        self.base_urls = [url.rstrip("/") for url in base_urls]
        self._turn = itertools.count()  # next() is atomic: threads share it
        self._timeout = timeout_s
        self._tally = tally
        self._local = threading.local()

    def post(
        self,
        path: str,
        body: bytes,
        headers: Callable[[], Mapping[str, str]],
        retry_if: Callable[[Answer], bool] = lambda answer: answer.status >= 500,
    ) -> Answer:
        for attempt in range(1, MAX_ATTEMPTS + 1):
            self._tally.count("requests")
            try:
                base_url = self.base_urls[next(self._turn) % len(self.base_urls)]
                response = self._session().post(
                    base_url + path, data=body, headers=dict(headers()), timeout=self._timeout
                )
                answer = Answer(response.status_code, _json(response), attempt)
                if not retry_if(answer):
                    return answer
                failure = f"HTTP {answer.status}: {answer.body}"
            except requests.RequestException as exc:
                failure = type(exc).__name__
            if attempt < MAX_ATTEMPTS:
                self._tally.count("retries")
                time.sleep(0.05 * 2**attempt)
        raise RuntimeError(f"POST {path} failed {MAX_ATTEMPTS} times, last: {failure}")

    def _session(self) -> requests.Session:
        if not hasattr(self._local, "session"):
            self._local.session = requests.Session()
        session: requests.Session = self._local.session
        return session


def _json(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return response.text[:200]


@dataclass
class Round:
    """One round of one player: what a client needs to play it and check the answers."""

    player: SimPlayer
    tx: str
    options: Options
    transport: Transport
    tally: Tally

    def chance(self, probability: float) -> bool:
        return self.player.rng.random() < probability

    def duplicate(self) -> bool:
        hit = self.chance(self.options.duplicates)
        if hit:
            self.tally.count("duplicates")
        return hit

    def rollback(self) -> bool:
        return self.chance(self.options.rollbacks)

    def stake(self) -> Decimal:
        return Decimal(self.player.rng.randint(100, 1000)) * CENT

    def win(self, stake: Decimal, max_multiplier: int = 3) -> Decimal:
        factors = ["0", "0", "0", "0.5", "1", "2", str(max_multiplier)]
        factor = Decimal(self.player.rng.choice(factors))
        return (stake * factor).quantize(CENT)

    def expect(self, ok: bool, what: str, answer: Answer | None = None) -> bool:
        if not ok:
            got = "" if answer is None else f": got HTTP {answer.status} {answer.body}"
            self.tally.problem(f"{self.player.id} {self.tx}: modelled {what}{got}")
        return ok


class ProviderClient(Protocol):
    name: str
    currency: str

    def prepare(self, conn: Connection, run: str, player_ids: list[str], options: Options) -> None:
        """Create what the provider needs besides funded players (Upside: game, key…)."""

    def play_round(self, round_: Round) -> None:
        """Play one round, updating ``round_.player.modelled`` as the wallet should."""


@dataclass
class Summary:
    provider: str
    run: str
    urls: Sequence[str]
    players: int
    rounds: int
    counts: Counter[str]
    problems: list[str]
    mismatches: list[dict[str, str]] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.problems and not self.mismatches

    def as_dict(self) -> dict[str, Any]:
        requests_sent = self.counts["requests"]
        return {
            "ok": self.ok,
            "provider": self.provider,
            "run": self.run,
            "urls": list(self.urls),
            "players": self.players,
            "rounds": self.rounds,
            **{name: self.counts[name] for name in COUNTED},
            "balances_checked": self.players,
            "mismatched_balances": self.mismatches,
            "problems": self.problems[:20],
            "problem_count": len(self.problems),
            "seconds": round(self.seconds, 3),
            "requests_per_second": round(requests_sent / self.seconds) if self.seconds else None,
        }


COUNTED = (
    "requests",
    "retries",
    "duplicates",
    "rollbacks",
    "rollbacks_before_bet",
    "declined",
    "abandoned_sessions",
)


def simulate(
    client: ProviderClient,
    options: Options,
    transact: Transact,
    on_round: Callable[[], None] = lambda: None,
) -> Summary:
    """Create and fund the players, play every round, then check every balance."""
    run = secrets.token_hex(3)
    seed = options.seed if options.seed is not None else random.randrange(2**32)
    sim_players = [
        SimPlayer(f"sim-{run}-{n}", options.start_balance, random.Random(seed + n))
        for n in range(options.players)
    ]
    transact(_create_players, client, sim_players, run, options)
    tally = Tally()
    transport = Transport(options.urls, options.timeout_s, tally)
    started = time.monotonic()

    def play(player: SimPlayer) -> None:
        for number in range(options.rounds):
            round_ = Round(player, f"{player.id}-r{number}", options, transport, tally)
            try:
                client.play_round(round_)
            except Exception as exc:  # the model no longer knows this player: stop it
                tally.problem(f"{round_.tx}: {exc}")
                return
            finally:
                on_round()

    with ThreadPoolExecutor(max(1, options.concurrency)) as pool:
        list(pool.map(play, sim_players))
    summary = Summary(
        client.name,
        run,
        options.urls,
        options.players,
        options.rounds,
        tally.counts,
        tally.problems,
    )
    summary.seconds = time.monotonic() - started
    summary.mismatches = transact(_mismatches, client.currency, sim_players)
    return summary


def _create_players(
    conn: Connection,
    client: ProviderClient,
    sim_players: list[SimPlayer],
    run: str,
    options: Options,
) -> None:
    for player in sim_players:
        players.create(conn, player.id, [client.currency])
        deposit = wallet.Request(
            provider=wallet.CASHIER,
            external_id=f"{player.id}-deposit",
            kind=wallet.Kind.DEPOSIT,
            player_id=player.id,
            currency=client.currency,
            amount=options.start_balance,
            counterparty=wallet.CASHIER,
        )
        wallet.execute(conn, deposit)
    client.prepare(conn, run, [p.id for p in sim_players], options)


def _mismatches(conn: Connection, currency: str, sim_players: list[SimPlayer]) -> list[dict]:
    found = []
    for player in sim_players:
        actual = wallet.balances(conn, player.id, currency).get(currency, Decimal(0))
        if actual != player.modelled:
            found.append(
                {"player_id": player.id, "expected": str(player.modelled), "actual": str(actual)}
            )
    return found
