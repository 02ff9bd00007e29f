"""Pre-signed request files for wrk: one file per wrk thread, so every id is unique.

Each line is one HTTP request, ``METHOD<TAB>PATH<TAB>HEADERS<TAB>BODY``, where HEADERS
are ``Name: value`` pairs joined by ``\\x1f``. ``bench/wrk.lua`` reads the file of its
thread and sends its lines in order. Everything is generated and signed here, before
the measurement, so the load generator spends no CPU on JSON or HMAC.

A provider is a class with ``bet``, ``win`` and ``rollback`` (and ``balance`` when the
protocol has a read route) returning :class:`Call`; adding Hypetech or Upside to the mix
is one class and one entry in :data:`PROVIDERS`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import random
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

AMOUNT = "1.00"


@dataclass(frozen=True)
class Call:
    """One signed HTTP request."""

    method: str
    path: str
    headers: tuple[tuple[str, str], ...]
    body: bytes

    def line(self) -> str:
        headers = "\x1f".join(f"{name}: {value}" for name, value in self.headers)
        body = self.body.decode()
        assert "\t" not in body and "\n" not in body, "bodies must be single-line JSON"
        return f"{self.method}\t{self.path}\t{headers}\t{body}"


class Provider(Protocol):
    name: str

    def bet(self, tx: str, player: str, amount: str) -> Call: ...
    def win(self, tx: str, player: str, amount: str, bet_tx: str) -> Call: ...
    def rollback(self, tx: str, player: str, amount: str, original_tx: str) -> Call: ...
    def balance(self, player: str) -> Call | None: ...


class Igpx:
    """IGPX sportsbook: hex HMAC-SHA256 of the raw body in ``X-Security-Hash``."""

    name = "igpx"

    def __init__(self, secret: str, currency: str = "USD") -> None:
        self._key = secret.encode()
        self._currency = currency

    def bet(self, tx: str, player: str, amount: str) -> Call:
        return self._post("/igpx/transaction", tx, "bet", player, amount)

    def win(self, tx: str, player: str, amount: str, bet_tx: str) -> Call:
        return self._post("/igpx/transaction", tx, "result", player, amount)

    def rollback(self, tx: str, player: str, amount: str, original_tx: str) -> Call:
        extra = {"rollback_transaction_id": original_tx}
        return self._post("/igpx/transaction-rollback", tx, "rollback", player, amount, extra)

    def balance(self, player: str) -> Call | None:
        return None  # IGPX has no balance route

    def _post(
        self, path: str, tx: str, action: str, player: str, amount: str, extra: dict | None = None
    ) -> Call:
        payload = {
            "transaction_id": tx,
            "action": action,
            "user_id": player,
            "currency": self._currency,
            "amount": amount,
            **(extra or {}),
        }
        body = json.dumps(payload, separators=(",", ":")).encode()
        signature = hmac.new(self._key, body, hashlib.sha256).hexdigest()
        headers = (("Content-Type", "application/json"), ("X-Security-Hash", signature))
        return Call("POST", path, headers, body)


PROVIDERS: dict[str, Callable[[str], Provider]] = {"igpx": Igpx}


@dataclass(frozen=True)
class Mix:
    """Shares of each operation; ``duplicate`` replays an earlier line of the same file."""

    bet: float = 0.55
    win: float = 0.30
    rollback: float = 0.05
    balance: float = 0.05
    duplicate: float = 0.05


LAG = 200  # a win, rollback or replay refers to a line at least this far back


class Stream:
    """Requests of one wrk thread: ``next_line()`` forever; ids carry ``prefix``."""

    def __init__(self, prefix: str, providers: list[Provider], players: list[str], seed: int):
        self._prefix = prefix
        self._providers = providers
        self._players = players
        self._rng = random.Random(seed)
        self._count = 0
        self._lines: list[str] = []
        self._open_bets: list[tuple[Provider, str, str]] = []

    def _tx(self) -> str:
        self._count += 1
        return f"{self._prefix}-{self._count}"

    def _emit(self, call: Call) -> str:
        line = call.line()
        self._lines.append(line)
        return line

    def bet(self) -> str:
        provider = self._rng.choice(self._providers)
        player = self._rng.choice(self._players)
        tx = self._tx()
        self._open_bets.append((provider, tx, player))
        return self._emit(provider.bet(tx, player, AMOUNT))

    def mixed(self, mix: Mix) -> str:
        """One request of ``mix``; settles or reverses only bets at least LAG lines old."""
        draw = self._rng.random()
        settled = len(self._open_bets) > LAG
        if draw < mix.duplicate and len(self._lines) > LAG:
            line = self._lines[self._rng.randrange(len(self._lines) - LAG)]
            self._lines.append(line)
            return line
        draw -= mix.duplicate
        if draw < mix.win and settled:
            provider, bet_tx, player = self._open_bets.pop(0)
            return self._emit(provider.win(self._tx(), player, AMOUNT, bet_tx))
        draw -= mix.win
        if draw < mix.rollback and settled:
            provider, bet_tx, player = self._open_bets.pop(0)
            return self._emit(provider.rollback(self._tx(), player, AMOUNT, bet_tx))
        draw -= mix.rollback
        if draw < mix.balance:
            provider = self._rng.choice(self._providers)
            call = provider.balance(self._rng.choice(self._players))
            if call is not None:
                return self._emit(call)
        return self.bet()


def transaction_id(line: str) -> str:
    """The provider's transaction id in one request line (a JSON body's)."""
    return str(json.loads(line.rsplit("\t", 1)[1])["transaction_id"])


def write_files(
    directory: Path,
    name: str,
    threads: int,
    per_thread: int,
    make_line: Callable[[Stream], str],
    providers: list[Provider],
    players: list[str],
) -> Path:
    """Write ``threads`` files ``<name>.<t>.txt``; return the prefix wrk.lua is given."""
    for thread in range(threads):
        stream = Stream(
            f"{name}-t{thread}", providers, players, seed=zlib.crc32(f"{name}.{thread}".encode())
        )
        lines = (make_line(stream) for _ in range(per_thread))
        _write(directory / f"{name}.{thread}.txt", lines)
    return directory / name


def write_pool(directory: Path, name: str, threads: int, lines: list[str]) -> Path:
    """Split fixed ``lines`` (e.g. already-applied bets) disjointly over the threads."""
    for thread in range(threads):
        _write(directory / f"{name}.{thread}.txt", iter(lines[thread::threads]))
    return directory / name


def _write(path: Path, lines: Iterator[str]) -> None:
    with path.open("w", encoding="utf-8") as handle:
        for line in lines:
            handle.write(line)
            handle.write("\n")
