"""Concurrency torture and fault injection against gunicorn, with the checker after each.

Many client threads send one seeded workload (duplicates, reorderings, racing replays
across IGPX, Hypetech and Upside); ``tests.workload.check`` then proves every
transaction was recorded, none was applied twice, no bet went below zero, every balance
and the pool equal the model, and the ledger verifies. ``WALLET_SOAK=1`` (``make soak``)
makes the workloads larger and the faults more numerous; ``WALLET_TORTURE_SEED`` replays
a run. Each run's figures are printed and, with ``RELIABILITY_REPORT=<file>``, appended
to that file as one JSON line.
"""

from __future__ import annotations

import json
import os
import random
import signal
import threading
import time
from dataclasses import asdict
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import text

from tests import workload
from tests.factories import PlayerFactory, balance
from tests.live import run_gunicorn_process, worker_pids
from tests.upside_helpers import WIN, bet, make_game, make_key

pytestmark = pytest.mark.slow

SOAK = os.environ.get("WALLET_SOAK") == "1"
SIZE = (
    {"safe_players": 12, "per_player": 50, "scarce_bets": 60, "sessions": 12}
    if SOAK
    else {"safe_players": 4, "per_player": 8, "scarce_bets": 25, "sessions": 3}
)
# The fault runs need only enough load to be mid-request when the fault lands.
FAULT_SIZE = (
    SIZE if SOAK else {"safe_players": 3, "per_player": 6, "scarce_bets": 15, "sessions": 2}
)
THREADS = 16 if SOAK else 12
KILLS = 25 if SOAK else 3
WORKERS = 3


def run_seed() -> int:
    chosen = int(os.environ.get("WALLET_TORTURE_SEED") or random.SystemRandom().randrange(2**31))
    print(f"workload seed: WALLET_TORTURE_SEED={chosen}")
    return chosen


def publish(name: str, report: workload.Report, **faults: Any) -> None:
    _write({"run": name, "soak": SOAK, **asdict(report), "faults": faults})


def _write(line: dict[str, Any]) -> None:
    print(json.dumps(line))
    target = os.environ.get("RELIABILITY_REPORT")
    if target:
        with open(target, "a") as out:
            out.write(json.dumps(line) + "\n")


def test_racing_duplicates_and_reorderings_apply_each_transaction_exactly_once(live_server, engine):
    work = workload.build(run_seed(), **SIZE)
    tally = workload.Tally()
    sender = workload.Sender(live_server, tally, make_key(), deadline_s=300)
    workload.send_workload(sender, work, THREADS)
    report = workload.check(engine, work, tally)
    assert (tally.unanswered, tally.internal_errors) == (0, 0)
    publish("torture", report)


def test_workers_killed_mid_request_and_retried_complete_every_transaction_once(settings, engine):
    """SIGKILL random gunicorn workers under load; the clients retry every unanswered
    request until answered; every transaction then happened once, and every answer
    given for a transaction (first, replays, retries) is the same."""
    work = workload.build(run_seed(), **FAULT_SIZE)
    worker = make_key()
    env = {key: str(value) for key, value in settings.items()}
    tally, kills = workload.Tally(), []
    with run_gunicorn_process(env, workers=WORKERS, threads=4) as (base_url, master):
        done = threading.Event()
        killer = threading.Thread(
            target=_kill_workers, args=(master.pid, done, kills, work.seed, tally)
        )
        killer.start()
        try:
            workload.send_workload(workload.Sender(base_url, tally, worker, 300), work, THREADS)
        finally:
            done.set()
            killer.join(timeout=30)
    report = workload.check(engine, work, tally)
    assert kills, "no worker was killed: the workload finished too soon"
    publish("worker-kills", report, sigkills=len(kills))


def _kill_workers(
    master_pid: int, done: threading.Event, kills: list[int], seed: int, tally: workload.Tally
) -> None:
    """Kill a random worker once the load is under way, then every 0.2–0.5 s, while all
    workers are up (gunicorn needs a second or two to boot a replacement): so the service
    always has a worker left. The first kill waits for sends, not for time: on a fast
    machine the whole workload can be answered within half a second."""
    rng = random.Random(seed)
    while tally.sent < 10 and not done.wait(0.005):
        pass
    while len(kills) < KILLS and not done.is_set():
        pids = worker_pids(master_pid)
        if len(pids) >= WORKERS:
            victim = rng.choice(pids)
            os.kill(victim, signal.SIGKILL)
            kills.append(victim)
        done.wait(rng.uniform(0.2, 0.5))


def test_a_lock_held_past_the_lock_timeout_fails_fast_and_the_retry_applies(live_server, engine):
    """An admin session holds the player's account rows longer than DB_LOCK_TIMEOUT_MS
    (1 s here): each provider gets its internal-error answer after about the lock
    timeout instead of hanging; other players are unaffected; once the lock is gone
    the provider's retry applies each transaction once."""
    player = PlayerFactory(currencies=("USD", "BRL", "WIN"), balance="100")
    other = PlayerFactory(currencies=("USD",), balance="100")
    make_game()
    tally = workload.Tally()
    sender = workload.Sender(live_server, tally, make_key(), deadline_s=60)
    calls = [
        workload._bet("igpx", "stall-1", player, "10"),
        workload._bet("hypetech", "stall-2", player, "10"),
        workload.Call("bet:stall-3", "upside", "", bet("stall-3", 10 * WIN), player),
    ]
    waited: list[float] = []
    with engine.connect() as conn, conn.begin():
        conn.execute(text("SELECT 1 FROM accounts WHERE player_id = :p FOR UPDATE"), {"p": player})
        for call in calls:
            started = time.monotonic()
            assert sender.once(call) is None, "expected the internal-error answer"
            waited.append(time.monotonic() - started)
        unaffected = workload._bet("igpx", "stall-other", other, "1")
        answer = sender.once(unaffected)
        assert answer is not None and answer[1]["error"] is None, answer
    assert all(0.5 <= s < 6 for s in waited), waited
    for call in calls:
        status, _ = sender.until_answered(call)
        assert status == 200
    assert balance(player, "USD") == balance(player, "BRL") == balance(player, "WIN") == Decimal(90)
    assert tally.internal_errors == 3 and not tally.unexpected
    line = {"run": "lock-stall", "soak": SOAK, "stalled_requests": len(calls)}
    line["seconds_to_internal_error"] = [round(s, 3) for s in waited]
    _write(line)
