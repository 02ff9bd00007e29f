"""A seeded, randomized workload for the live server, the clients that send it as the
providers would (retrying until answered), and the checker that proves the invariants.

The workload is built so that its final state does not depend on how requests race:

* "safe" players hold far more than they can bet, and every rolled-back bet or win nets
  zero whichever arrives first (bet then rollback: applied and reversed; rollback then
  bet: tombstone, then the bet is declined). So each balance is exactly the opening
  balance − bets + wins of the transactions that have no rollback.
* "scarce" players get 2.5× more equal bets than they can pay for: exactly
  ``floor(opening / amount)`` are accepted, whatever the order, and the balance ends at 0.
* Upside sessions: the stake once, the payout once, however many copies race.

Every request is sent one to three times (duplicates and racing replays), all shuffled
(rollbacks before bets, wins before bets) and spread over many threads.
"""

from __future__ import annotations

import json
import random
import threading
import time
import uuid
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import requests
from sqlalchemy import Engine, text

from app.core import ledger
from app.db import UnitOfWork
from app.providers.upside import games
from tests import hypetech_helpers as hypetech
from tests import igpx_helpers as igpx
from tests import upside_helpers as upside
from tests.factories import PlayerFactory

OPENING = Decimal("1000")
SCARCE_OPENING = Decimal("10")
CURRENCY = {"igpx": "USD", "hypetech": "BRL"}
POOL_WIN = 100_000


@dataclass(frozen=True)
class Call:
    """One provider request; ``key`` names its transaction (copies share it)."""

    key: str
    provider: str
    route: str
    body: dict[str, Any]
    player: str


@dataclass
class Workload:
    seed: int
    calls: list[Call] = field(default_factory=list)  # IGPX and Hypetech, shuffled, with copies
    sessions: list[tuple[str, str, int, int]] = field(
        default_factory=list
    )  # id, player, stake, payout
    expected: dict[tuple[str, str], Decimal] = field(default_factory=dict)
    scarce: dict[tuple[str, str], int] = field(default_factory=dict)  # accepted bets expected
    pool: int = POOL_WIN * upside.WIN
    transactions: int = 0

    @property
    def operations(self) -> int:
        return len(self.calls) + sum(2 for _ in self.sessions)


def build(
    seed: int, safe_players: int, per_player: int, scarce_bets: int, sessions: int
) -> Workload:
    """Create the players, game and pool, and the workload to send; ``seed`` replays it."""
    rng = random.Random(seed)
    work = Workload(seed)
    run = f"r{seed % 100_000}"
    logical: list[list[Call]] = []
    upside.make_game(multiplier="2", pool_win=POOL_WIN)
    for n in range(safe_players):
        player = PlayerFactory(
            id=f"{run}-safe{n}", currencies=("USD", "BRL", "WIN"), balance=OPENING
        )
        for provider, currency in CURRENCY.items():
            work.expected[(player, currency)] = OPENING
            for i in range(per_player):
                logical.append(
                    _transaction(rng, work, provider, player, f"{run}-{provider}-{n}-{i}")
                )
        work.expected[(player, "WIN")] = OPENING
        for i in range(sessions):
            stake = rng.randint(1, 20) * upside.WIN
            payout = stake * rng.randint(0, 8) // 4
            work.sessions.append((f"{run}-s{n}-{i}", player, stake, payout))
            work.expected[(player, "WIN")] += Decimal(payout - stake) / upside.WIN
            work.pool += stake - payout
    for n in range(2 if scarce_bets else 0):
        player = PlayerFactory(
            id=f"{run}-scarce{n}", currencies=("USD", "BRL"), balance=SCARCE_OPENING
        )
        for provider, currency in CURRENCY.items():
            work.scarce[(player, currency)] = int(SCARCE_OPENING)
            for i in range(scarce_bets):
                tx = f"{run}-{provider}-scarce{n}-{i}"
                logical.append([_bet(provider, tx, player, "1.00")])
    work.transactions = sum(len(group) for group in logical) + 2 * len(work.sessions)
    for group in logical:
        for call in group:
            work.calls += [call] * rng.choice((1, 1, 2, 3))
    rng.shuffle(work.calls)
    return work


def _transaction(
    rng: random.Random, work: Workload, provider: str, player: str, tx: str
) -> list[Call]:
    """A bet or a win, and a rollback of it 30% of the time (then it nets zero)."""
    amount = Decimal(rng.randint(1, 2000)) / 100
    is_bet = rng.random() < 0.6
    original = (
        _bet(provider, tx, player, str(amount))
        if is_bet
        else _win(provider, tx, player, str(amount))
    )
    if rng.random() < 0.3:
        return [original, _rollback(provider, f"{tx}-rb", tx, player, str(amount))]
    work.expected[(player, CURRENCY[provider])] += -amount if is_bet else amount
    return [original]


def _bet(provider: str, tx: str, player: str, amount: str) -> Call:
    if provider == "igpx":
        return Call(tx, provider, "transaction", igpx.bet(tx, player, amount), player)
    return Call(tx, provider, "register", hypetech.bet(tx, player, amount, currency="BRL"), player)


def _win(provider: str, tx: str, player: str, amount: str) -> Call:
    if provider == "igpx":
        return Call(tx, provider, "transaction", igpx.result(tx, player, amount), player)
    body = hypetech.win(tx, player, amount, currency="BRL", linked_tx_id=f"{tx}-round")
    return Call(tx, provider, "rewards", body, player)


def _rollback(provider: str, tx: str, original: str, player: str, amount: str) -> Call:
    if provider == "igpx":
        return Call(
            tx,
            provider,
            "transaction-rollback",
            igpx.rollback(tx, original, player, amount),
            player,
        )
    body = hypetech.new_rollback(tx, original, player, amount, currency="BRL")
    return Call(tx, provider, "rollback", body, player)


# --- sending -------------------------------------------------------------------------------


@dataclass
class Tally:
    """What the clients saw, across threads."""

    answers: dict[str, list[Any]] = field(default_factory=lambda: defaultdict(list))
    unanswered: int = 0  # connection reset / no answer (a killed worker)
    internal_errors: int = 0  # the protocol's internal-error answer
    slowest_internal_error_s: float = 0.0
    unexpected: list[Any] = field(default_factory=list)  # any other 5xx or odd answer
    sent: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, **counts: int) -> None:
        with self.lock:
            for name, value in counts.items():
                setattr(self, name, getattr(self, name) + value)


def is_internal_error(provider: str, status: int, body: Any) -> bool:
    if provider == "igpx":
        return status == 200 and body == {"error": "INTERNAL_ERROR"}
    if provider == "hypetech":
        return (
            status in (500, 503)
            and isinstance(body, dict)
            and body.get("code")
            in (
                "INTERNAL_ERROR",
                "SERVICE_UNAVAILABLE",
            )
        )
    error = body.get("error") if isinstance(body, dict) else None
    return status == 503 and isinstance(error, dict) and error.get("code") == "INTERNAL_ERROR"


class Sender:
    """Sends requests as a provider does: on no answer or an internal error, it retries
    the same request (re-signed for Upside) until it gets an answer."""

    def __init__(
        self, base_url: str, tally: Tally, worker: upside.Worker | None, deadline_s: float
    ):
        self.base_url, self.tally, self.worker = base_url, tally, worker
        self.deadline = time.monotonic() + deadline_s
        self.local = threading.local()
        self.jwts: dict[str, str] = {}
        self.opened: list[requests.Session] = []

    def session(self) -> requests.Session:
        if getattr(self.local, "session", None) is None:
            self.local.session = requests.Session()
            self.opened.append(self.local.session)
        return self.local.session  # type: ignore[no-any-return]

    def close(self) -> None:
        """Close every keep-alive connection, so gunicorn can stop at once."""
        for session in self.opened:
            session.close()

    def once(self, call: Call) -> tuple[int, Any] | None:
        url, data, headers = self._request(call)
        self.tally.add(sent=1)
        started = time.monotonic()
        try:
            response = self.session().post(url, data=data, headers=headers, timeout=30)
        except requests.RequestException:
            self.tally.add(unanswered=1)
            self.local.session = None
            return None
        try:
            body = response.json()
        except ValueError:
            body = response.text
        if is_internal_error(call.provider, response.status_code, body):
            with self.tally.lock:
                self.tally.internal_errors += 1
                elapsed = time.monotonic() - started
                self.tally.slowest_internal_error_s = max(
                    self.tally.slowest_internal_error_s, elapsed
                )
            return None
        if response.status_code >= 500:
            with self.tally.lock:
                self.tally.unexpected.append((call.key, response.status_code, body))
        return response.status_code, body

    def until_answered(self, call: Call) -> tuple[int, Any]:
        while True:
            answer = self.once(call)
            if answer is not None:
                with self.tally.lock:
                    self.tally.answers[call.key].append(answer)
                return answer
            if time.monotonic() > self.deadline:
                raise AssertionError(f"{call.key}: no answer before the deadline")
            time.sleep(0.05)

    def _request(self, call: Call) -> tuple[str, bytes, dict[str, str]]:
        if call.provider == "igpx":
            body = igpx.body_of(call.body)
            headers = {"Content-Type": "application/json", "X-Security-Hash": igpx.sign(body)}
            return f"{self.base_url}/igpx/{call.route}", body, headers
        if call.provider == "hypetech":
            body = hypetech.stringify(call.body)
            signature = hypetech.sign(hypetech.url_of(call.route), body)
            headers = {"Content-Type": "application/json", "Hype-Hash": signature}
            return self.base_url + hypetech.PATHS[call.route], body, headers
        assert self.worker is not None
        jwt = self.jwts.setdefault(call.player, upside.token(call.player, ttl_s=3600))
        body = json.dumps({**call.body, "gameData": {"attempt": uuid.uuid4().hex}}).encode()
        return f"{self.base_url}/upside/game-actions", body, upside.headers(self.worker, jwt, body)

    # --- Upside sessions: the stake, then the payout, each until it has happened -------

    def play_session(self, session_id: str, player: str, stake: int, payout: int) -> None:
        bet = Call(f"bet:{session_id}", "upside", "", upside.bet(session_id, stake), player)
        self._until_done(bet, done={"SESSION_ALREADY_USED"})
        pay = Call(f"payout:{session_id}", "upside", "", upside.payout(session_id, payout), player)
        self._until_done(
            pay,
            done={"PAYOUT_ALREADY_PROCESSED"},
            again={"PAYOUT_IN_PROGRESS", "SESSION_NOT_FOUND"},
        )

    def _until_done(
        self, call: Call, done: set[str], again: frozenset[str] | set[str] = frozenset()
    ) -> None:
        """200, or a 409 saying another copy (or a lost first attempt) already did it."""
        while True:
            status, body = self.until_answered(call)
            code = None if status == 200 else body["error"]["code"]
            if code is None or code in done:
                return
            if code not in again:
                raise AssertionError(f"{call.key}: unexpected answer {status} {body}")
            if time.monotonic() > self.deadline:
                raise AssertionError(f"{call.key}: still {code} at the deadline")
            time.sleep(0.05)


def send_workload(sender: Sender, work: Workload, threads: int, session_copies: int = 2) -> None:
    """Every call and every session task on ``threads`` threads; session tasks are
    duplicated ``session_copies`` times so stakes and payouts race."""
    tasks: list[Any] = [(sender.until_answered, (call,)) for call in work.calls]
    for session in work.sessions:
        tasks += [(sender.play_session, session)] * session_copies
    random.Random(work.seed).shuffle(tasks)
    try:
        with ThreadPoolExecutor(max_workers=threads) as pool:
            for future in [pool.submit(task, *args) for task, args in tasks]:
                future.result()
    finally:
        sender.close()


# --- checking -------------------------------------------------------------------------------


@dataclass
class Report:
    transactions: int
    recorded: int
    doubled: int
    lost: int
    negative: int
    balances_checked: int
    figures: dict[str, Any]


def check(engine: Engine, work: Workload, tally: Tally) -> Report:
    """Prove the invariants; raise AssertionError naming the first one broken."""
    assert not tally.unexpected, (
        f"5xx other than the protocol's internal error: {tally.unexpected[:5]}"
    )
    for key, answers in tally.answers.items():
        if not key.startswith(("bet:", "payout:")):
            assert all(a == answers[0] for a in answers), f"{key}: replays differ: {answers}"
    with UnitOfWork(engine) as uow:
        conn = uow.conn
        keys = {call.key for call in work.calls} | {
            f"{step}:{s[0]}" for s in work.sessions for step in ("bet", "payout")
        }
        recorded = {
            row.external_id: row.n
            for row in conn.execute(
                text("SELECT external_id, count(*) AS n FROM provider_transactions GROUP BY 1")
            )
        }
        lost = sorted(keys - set(recorded))
        assert not lost, f"transactions never recorded: {lost[:10]}"
        doubled = conn.execute(
            text(
                "SELECT count(*) FROM (SELECT provider_transaction_id FROM journal_transactions "
                "WHERE provider_transaction_id IS NOT NULL GROUP BY 1 HAVING count(*) > 1) d"
            )
        ).scalar_one()
        doubled += conn.execute(
            text(
                "SELECT count(*) FROM (SELECT provider, reference_id FROM provider_transactions "
                "WHERE kind = 'rollback' AND status = 'applied' "
                "GROUP BY 1, 2 HAVING count(*) > 1) d"
            )
        ).scalar_one()
        assert doubled == 0, f"{doubled} transactions applied more than once"
        negative = conn.execute(
            text(
                "SELECT count(*) FROM provider_transactions "
                "WHERE kind = 'bet' AND status = 'applied' AND balance_after < 0"
            )
        ).scalar_one()
        negative += conn.execute(
            text("SELECT count(*) FROM accounts WHERE player_id IS NOT NULL AND balance < 0")
        ).scalar_one()
        assert negative == 0, "a bet took a balance below zero"
        balances = {
            (row.player_id, row.currency): row.balance
            for row in conn.execute(
                text(
                    "SELECT player_id, currency, balance FROM accounts WHERE player_id IS NOT NULL"
                )
            )
        }
        for account, expected in work.expected.items():
            assert balances[account] == expected, (account, balances[account], expected)
        accepted = _scarce_accepted(conn)
        for account, count in work.scarce.items():
            assert accepted[account] == count, (account, accepted[account], count)
            assert balances[account] == 0, (account, balances[account])
        pool = games.pool_balance(conn, games.find(conn, upside.GAME))
        assert pool == work.pool, (pool, work.pool)
        settled = conn.execute(
            text("SELECT count(*) FROM upside_sessions WHERE status = 'settled'")
        ).scalar_one()
        assert settled == len(work.sessions), (settled, len(work.sessions))
        verification = ledger.verify(conn)
        assert verification.ok, verification
    statuses = Counter(a[0] for answers in tally.answers.values() for a in answers)
    return Report(
        transactions=len(keys),
        recorded=len(keys),
        doubled=0,
        lost=0,
        negative=0,
        balances_checked=len(work.expected) + len(work.scarce),
        figures={
            "seed": work.seed,
            "requests_sent": tally.sent,
            "unanswered": tally.unanswered,
            "internal_errors": tally.internal_errors,
            "slowest_internal_error_s": round(tally.slowest_internal_error_s, 3),
            "other_5xx": len(tally.unexpected),
            "answers_by_status": dict(sorted(statuses.items())),
        },
    )


def _scarce_accepted(conn: Any) -> Counter[tuple[str, str]]:
    rows = conn.execute(
        text(
            "SELECT player_id, currency, count(*) AS n FROM provider_transactions "
            "WHERE kind = 'bet' AND status = 'applied' AND player_id LIKE '%-scarce%' GROUP BY 1, 2"
        )
    )
    return Counter({(row.player_id, row.currency): row.n for row in rows})
