"""Kill things on purpose under load, then check every acknowledged bet (``make test-ha``).

A primary and a synchronous hot standby, the product under gunicorn over both
(``postgresql://…@primary,standby/wallet?target_session_attrs=read-write``), IGPX bets
from several connections, each retried as IGPX would until it gets a definitive answer.
In order: the standby dies (and comes back, then dies again and is dropped from
``synchronous_standby_names``); a report runs on the standby while bets go to the
primary; the primary is killed and the standby promoted. After each: every acknowledged
bet is in the books exactly once, no other bet is, every balance is its opening balance
less its acknowledged bets, and no answer was anything but a success, a decline or the
internal error, within the request budget.
"""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import Engine, text

from app import create_app
from app.config import load_config
from tests import hypetech_helpers
from tests.factories import close_app
from tests.ha.bettors import AMOUNT, DECLINED, INTERNAL, OK, Bettors
from tests.ha.conftest import (
    BUDGET_MS,
    OPENING,
    THREADS,
    WALLET,
    WORKERS,
    balances,
    igpx_bets,
    product_env,
    wallet_cli,
)
from tests.ha.pair import Node, Pair
from tests.igpx_helpers import bet, body_of, post, sign
from tests.live import Server, worker_pids

pytestmark = [pytest.mark.ha, pytest.mark.slow]

# Every answer, internal errors included, within the budget; the allowance is for the
# client's side of a loaded 2-core machine shared with other test runs.
ANSWER_WITHIN_S = BUDGET_MS / 1000 + 0.5
# The provider's connections: no more than one worker's threads, since one worker may
# take them all (and a request queued behind a busy thread is late before it starts).
CONNECTIONS = THREADS
PROMOTION_DELAY_S = 1.0  # a failover manager's time to decide the primary is gone
SENT: list[Bettors] = []  # every bettor of the module, for the books' checks
ACKNOWLEDGED: dict[str, str] = {}  # bet → player: the bets acknowledged outside them


def publish(capsys: pytest.CaptureFixture[str], name: str, **figures: Any) -> None:
    """One JSON line of figures on the terminal, even with pytest capturing output."""
    with capsys.disabled():
        print("\n" + json.dumps({"run": name, **figures}))


def bettors(service: Server, players: dict[str, Decimal], prefix: str, threads: int) -> Bettors:
    placed = Bettors(service.url, list(players), threads=threads, prefix=prefix)
    SENT.append(placed)
    return placed


def check_books(books: Engine, players: dict[str, Decimal]) -> dict[str, int]:
    """Every acknowledged bet once, nothing else applied, every balance exact."""
    books.dispose()  # its connections may predate a failover
    stored = igpx_bets(books)
    accepted = dict(ACKNOWLEDGED)
    declined: set[str] = set()
    for placed in SENT:
        assert placed.unsettled() == [], "bets left without a definitive answer"
        accepted |= placed.accepted()
        declined |= placed.declined()
    missing = [tx for tx in accepted if stored.get(tx, {}).get("status") != "applied"]
    assert missing == [], f"acknowledged bets lost: {missing[:10]}"
    assert all(stored[tx]["journals"] == 1 for tx in accepted), "a bet applied twice"
    applied = {tx for tx, row in stored.items() if row["status"] == "applied"}
    assert applied == set(accepted), "bets applied that the provider was never told of"
    assert all(stored[tx]["status"] == "declined" for tx in declined)
    spent = {player: Decimal(0) for player in players}
    for player in accepted.values():
        spent[player] += AMOUNT
    assert balances(books) == {p: opening - spent[p] for p, opening in players.items()}
    return {"acknowledged": len(accepted), "declined": len(declined)}


def answers_of(placed: Bettors) -> dict[str, Any]:
    return {
        "answers": dict(placed.answers()),
        "slowest_internal_error_s": round(placed.slowest(INTERNAL), 2),
        "slowest_answer_s": round(max(a.seconds for a in placed.attempts()), 2),
    }


def check_answers(placed: Bettors) -> None:
    assert placed.unexpected() == [], "answers other than success, decline, internal error"
    attempts = sorted(placed.attempts(), key=lambda a: a.seconds)
    start = min(a.sent for a in attempts)
    slow = [(round(a.sent - start, 2), round(a.seconds, 2), a.outcome) for a in attempts[-5:]]
    assert attempts[-1].seconds <= ANSWER_WITHIN_S, f"slowest answers (sent, took, answer): {slow}"


def client_connections(node: Node) -> int:
    rows = node.execute(
        "SELECT count(*) FROM pg_stat_activity "
        "WHERE datname = %s AND backend_type = 'client backend' AND pid <> pg_backend_pid()",
        (WALLET,),
    )
    return int(rows[0][0])


def waiting_for_standby(node: Node) -> int:
    rows = node.execute("SELECT count(*) FROM pg_stat_activity WHERE wait_event = 'SyncRep'")
    return int(rows[0][0])


def audit_rows(books: Engine, prefix: str) -> int:
    """Callbacks in the audit trail whose body names a transaction id with ``prefix``."""
    query = text("SELECT count(*) FROM callbacks WHERE position(:p IN body) > 0")
    with books.connect() as conn:
        return int(conn.execute(query, {"p": f'"{prefix}'.encode()}).scalar_one())


def worker_threads(service: Server) -> dict[int, int]:
    """Each gunicorn worker's thread count, from /proc."""
    counts = {}
    for pid in worker_pids(service.process.pid):
        status = Path(f"/proc/{pid}/status").read_text()
        counts[pid] = int(status.split("Threads:")[1].split()[0])
    return counts


def test_the_standby_lost_while_synchronous(capsys, pair: Pair, service, players, books):
    """Every bet sent while the standby is gone gets the internal error within the
    budget (its commit is cancelled at the end of the budget and left unconfirmed, and
    its retries are not acknowledged either), no thread or connection piles up, and bets
    are acknowledged again once the standby is back, or once the operator drops it from
    synchronous_standby_names."""
    with bettors(service, players, "standby-back", CONNECTIONS) as placed:
        placed.wait_for(OK, 20)
        pair.standby.kill()
        lost_at = time.monotonic()
        time.sleep(1.5)
        pile = [(client_connections(pair.primary), waiting_for_standby(pair.primary))]
        threads = [worker_threads(service)]
        time.sleep(2.0)
        pile.append((client_connections(pair.primary), waiting_for_standby(pair.primary)))
        threads.append(worker_threads(service))
        acknowledged_while_lost = placed.count(OK, since=lost_at + 0.2)
        internal_while_lost = placed.count(INTERNAL, since=lost_at)
        pair.standby.start()
        back_at = time.monotonic()
        placed.wait_for(OK, 20, since=back_at)
    back_in = placed.first_acknowledged_after(back_at)
    check_answers(placed)
    first = answers_of(placed)

    with bettors(service, players, "standby-dropped", CONNECTIONS) as dropped:
        dropped.wait_for(OK, 20)
        pair.standby.kill()
        time.sleep(2.0)
        pair.set_synchronous_standbys("")
        dropped_at = time.monotonic()
        dropped.wait_for(OK, 20, since=dropped_at)
    dropped_in = dropped.first_acknowledged_after(dropped_at)
    check_answers(dropped)
    pair.standby.start()
    pair.make_synchronous()

    counts = check_books(books, players)
    publish(
        capsys,
        "standby-lost",
        **first,
        internal_errors_while_lost=internal_while_lost,
        connections_and_waiting_while_lost=pile,
        worker_threads_while_lost=[list(counts.values()) for counts in threads],
        acknowledged_after_standby_back_s=round((back_in or 0) - back_at, 2),
        acknowledged_after_dropped_from_synchronous_s=round((dropped_in or 0) - dropped_at, 2),
        books=counts,
    )
    assert acknowledged_while_lost == 0, "a bet was acknowledged without the standby"
    assert internal_while_lost > 0
    # Each worker: its main thread, its serving threads, the audit writer, the canceller.
    assert threads[1] == threads[0], "gunicorn's threads piled up"
    assert max(threads[1].values()) <= THREADS + 3
    assert pile[1][0] <= pile[0][0] <= WORKERS * 2 * THREADS, "connections piled up"
    assert max(waiting for _, waiting in pile) <= WORKERS * THREADS
    assert back_in is not None and dropped_in is not None


def test_a_bet_whose_connection_broke_while_committing_is_applied_once_by_its_retry(
    capsys, pair: Pair, service, players, books
):
    """The bet's backend is terminated while its commit waits for the standby (as an
    operator or a crash would): committed locally, the connection gone, the outcome
    unknown. The provider gets the internal error; its retry is answered from the
    committed row once the standby has it, and the money moved once."""
    player = next(p for p, opening in players.items() if opening == OPENING)
    before = balances(books)[player]
    url = f"{service.url}/igpx/transaction"
    answers: list[Any] = []
    pair.standby.kill()
    try:
        sender = threading.Thread(target=lambda: answers.append(post_bet(url, "cut-1", player)))
        sender.start()
        deadline = time.monotonic() + 10
        while waiting_for_standby(pair.primary) == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        pair.primary.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE wait_event = 'SyncRep'"
        )
        sender.join(10)
    finally:
        pair.standby.start()
        pair.make_synchronous()
    retried = post_bet(url, "cut-1", player)
    stored = igpx_bets(books)["cut-1"]
    publish(capsys, "connection-cut-while-committing", first=answers, retry=retried)
    assert answers == [{"error": "INTERNAL_ERROR"}]
    assert retried["error"] is None
    assert stored["status"] == "applied" and stored["journals"] == 1
    assert balances(books)[player] == before - AMOUNT
    ACKNOWLEDGED["cut-1"] = player


def post_bet(url: str, tx: str, player: str) -> Any:
    body = body_of(bet(tx, player, str(AMOUNT)))
    headers = {"Content-Type": "application/json", "X-Security-Hash": sign(body)}
    return requests.post(url, data=body, headers=headers, timeout=15).json()


def test_a_report_runs_on_the_replica_while_bets_go_to_the_primary(
    capsys, pair: Pair, service, players, books
):
    """``wallet report ggr`` with ``DATABASE_REPLICA_URL`` on the standby and a primary
    it cannot even reach: it reads the standby, while the bets keep going to the primary."""
    today = datetime.now(UTC).date()
    span = ["--from", str(today - timedelta(days=1)), "--to", str(today + timedelta(days=1))]
    with bettors(service, players, "replica", 1) as placed:
        placed.wait_for(OK, 20)
        pair.wait_for_replay()
        acknowledged = sum(len(p.accepted()) for p in SENT)
        started = time.monotonic()
        report = wallet_cli(
            "postgresql://nobody@127.0.0.1:1/unreachable",
            *["report", "ggr", "--provider", "igpx", "--json", *span],
            DATABASE_REPLICA_URL=pair.standby.url(WALLET),
        )
        placed.wait_for(OK, 1, since=time.monotonic())
        while_reporting = placed.count(OK, since=started)
    assert report.exit_code == 0, report.output
    reported = sum(int(row["bets"]) for row in json.loads(report.stdout)["rows"])
    check_answers(placed)
    counts = check_books(books, players)
    publish(
        capsys,
        "report-on-replica",
        bets_reported=reported,
        acknowledged_before=acknowledged,
        acknowledged_while_reporting=while_reporting,
    )
    assert reported >= acknowledged
    assert while_reporting > 0
    assert counts["acknowledged"] >= reported


def test_on_a_standby_callbacks_get_their_internal_error_and_readyz_is_503(pair: Pair, players):
    """A ``DATABASE_URL`` that reaches only a standby: writes fail with SQLSTATE 25006,
    which each provider answers as the database being unavailable."""
    app = create_app(load_config(product_env(pair, DATABASE_URL=pair.standby.url(WALLET))))
    try:
        client = app.test_client()
        ready = client.get("/readyz")
        assert ready.status_code == 503 and "read-only" in ready.get_json()["reason"]
        player = next(iter(players))
        assert post(client, "transaction", bet("on-standby-1", player, "1")) == {
            "error": "INTERNAL_ERROR"
        }
        body = hypetech_helpers.bet("on-standby-2", player, "1")
        answer = hypetech_helpers.problem(client, "register", body, 503)
        assert answer["code"] == "SERVICE_UNAVAILABLE"
    finally:
        close_app(app)


class ReadyzProbe:
    """``GET /readyz`` every 50 ms from a thread: (time, status) of each answer."""

    def __init__(self, base_url: str) -> None:
        self.url = f"{base_url}/readyz"
        self.seen: list[tuple[float, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run)

    def __enter__(self) -> ReadyzProbe:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(10)

    def _run(self) -> None:
        with requests.Session() as session:
            while not self._stop.wait(0.05):
                try:
                    status = session.get(self.url, timeout=10).status_code
                except requests.RequestException:
                    status = 0
                self.seen.append((time.monotonic(), status))

    def first(self, status: int, since: float) -> float | None:
        return min((t for t, s in self.seen if s == status and t >= since), default=None)


def test_the_primary_killed_and_the_standby_promoted_under_load(
    capsys, pair: Pair, service, players, books
):
    """kill -9 of the primary's postmaster mid-load, pg_ctl promote of the standby a
    second later: the product follows the new primary by itself, nothing acknowledged is
    lost, nothing is applied twice, and bets are acknowledged again within 10 s."""
    with (
        ReadyzProbe(service.url) as ready,
        bettors(service, players, "failover", CONNECTIONS) as placed,
    ):
        placed.wait_for(OK, 50)
        pair.primary.kill()
        killed_at = time.monotonic()
        time.sleep(PROMOTION_DELAY_S)
        pair.standby.promote()
        promoted_at = time.monotonic()
        placed.wait_for(OK, 50, since=promoted_at)
    first_ack = placed.first_acknowledged_after(killed_at)
    check_answers(placed)
    counts = check_books(books, players)
    time.sleep(1)  # each worker's audit writer stores what it holds within 0.1 s
    audited = audit_rows(books, "failover-")
    verify = wallet_cli(pair.url(WALLET), "ledger", "verify", "--json")
    unready, ready_again = ready.first(503, killed_at), ready.first(200, promoted_at)
    publish(
        capsys,
        "primary-killed",
        failover_gap_s=round((first_ack or 0) - killed_at, 2),
        promoted_after_s=round(promoted_at - killed_at, 2),
        acknowledged_after_promotion_s=round((first_ack or 0) - promoted_at, 2),
        readyz_503_after_s=round((unready or 0) - killed_at, 2),
        readyz_200_after_promotion_s=round((ready_again or 0) - promoted_at, 2),
        bets=len(placed.bets),
        retried=sum(1 for p in placed.bets if len(p.attempts) > 1),
        **answers_of(placed),
        books=counts,
        audit_rows_lost=len(placed.attempts()) - audited,
    )
    assert verify.exit_code == 0, verify.output
    assert json.loads(verify.stdout)["ok"]
    assert first_ack is not None and first_ack - killed_at < 10
    assert placed.count(INTERNAL, since=killed_at) > 0, "the load missed the failover"
    assert placed.count(DECLINED) > 0, "no decline: the scarce players were never hit"
    assert unready is not None and ready_again is not None
