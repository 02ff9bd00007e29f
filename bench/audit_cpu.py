"""Python CPU per callback spent on the audit trail, in-process (no gunicorn, no load).

    python -m bench.audit_cpu SERVER_URL [--rows 2000]

SERVER_URL is a PostgreSQL server (``postgresql://postgres@127.0.0.1:5432/postgres``); a
scratch database ``wallet_audit_cpu`` is created on it, migrated, and dropped at the end.
Three figures, each the median of three runs:

- **writer**: ``AuditWriter._write`` (build the rows + store them in one transaction) on
  ``--rows`` IGPX-like entries in batches of 1, 10 and 200; process CPU per row.
- **request side**: the app's audit ``after_request`` hook (build the entry, queue it)
  called back to back in a Flask request context: the calling thread's own CPU per
  call (the writer thread's is not counted; it is in the next figure).
- **end to end**: the same hook paced at 500 calls per second (a busy worker), then
  ``flush``: CPU of the whole process per callback, writer thread included, less the
  CPU of the pacing sleeps alone.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime

import psycopg
import structlog
from flask import Flask, Response, g

from app import create_app
from app.db import embedded, migrate
from app.web import audit, callbacks

DATABASE = "wallet_audit_cpu"
BODY = json.dumps(
    {
        "transaction_id": "tx-0000000001",
        "action": "bet",
        "user_id": "player-000123",
        "currency": "USD",
        "amount": "1.00",
        "round_id": "round-42",
        "game_id": "crash",
    }
).encode()
HEADERS = {
    "Host": "127.0.0.1:8000",
    "User-Agent": "wrk",
    "Accept": "*/*",
    "Connection": "keep-alive",
    "Content-Type": "application/json",
    "Content-Length": str(len(BODY)),
    "X-Security-Hash": "ab" * 32,
}
ANSWER = '{"error":null,"transaction_id":"123456"}'


def entry(number: int) -> callbacks.Entry:
    return callbacks.Entry(
        received_at=datetime.now(UTC),
        request_id=f"{number:032x}",
        provider="igpx",
        method="POST",
        route="/igpx/transaction",
        remote_addr="127.0.0.1",
        headers=HEADERS,
        body=BODY,
        body_note=None,
        status=200,
        answer=ANSWER,
        outcome="applied",
        latency_ms=3.14159,
    )


def median_of(runs: int, measure: Callable[[], float]) -> float:
    return statistics.median(measure() for _ in range(runs))


def writer_us_per_row(writer: audit.AuditWriter, rows: int, batch: int) -> float:
    entries = [entry(n) for n in range(rows)]
    started = time.process_time()
    for start in range(0, rows, batch):
        writer._write(entries[start : start + batch])
    return (time.process_time() - started) / rows * 1e6


def hook(app: Flask, calls: int, pace_s: float) -> tuple[float, float]:
    """(request-thread CPU, whole-process CPU) per call of the app's audit hook, in µs."""
    [audit_hook] = [f for f in app.after_request_funcs[None] if f.__name__ == "_audit"]
    writer = app.extensions["wallet.audit"]
    response = Response(ANSWER, mimetype="application/json")
    with app.test_request_context(
        "/igpx/transaction", method="POST", data=BODY, headers=HEADERS
    ) as context:
        context.request.get_data(cache=True)  # as the adapter did
        g.request_id, g.started = "0" * 32, time.perf_counter()
        structlog.contextvars.bind_contextvars(outcome="applied", wallet_tx_id=1)
        writer.flush(10)
        own, whole = time.thread_time(), time.process_time()
        for _ in range(calls):
            audit_hook(response)
            if pace_s:
                time.sleep(pace_s)
        own = time.thread_time() - own
        writer.flush(30)
        whole = time.process_time() - whole - pacing_cpu(calls, pace_s)
        structlog.contextvars.clear_contextvars()
    return own / calls * 1e6, whole / calls * 1e6


def pacing_cpu(calls: int, pace_s: float) -> float:
    """The CPU the pacing itself costs (a sleep is a system call and a wake-up)."""
    if not pace_s:
        return 0.0
    started = time.process_time()
    for _ in range(calls):
        time.sleep(pace_s)
    return time.process_time() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("server_url")
    parser.add_argument("--rows", type=int, default=2000)
    args = parser.parse_args()
    with psycopg.connect(args.server_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{DATABASE}"')
    url = embedded.with_database(args.server_url, DATABASE)
    try:
        migrate.upgrade(url)
        app = create_app({"DATABASE_URL": url, "LOG_LEVEL": "WARNING"})
        engine = app.extensions["wallet.engine"]
        writer = audit.AuditWriter(engine)
        writer._write([entry(0)])  # warm up: connection, type adaptation, statement caches
        for batch in (1, 10, 200):
            cost = median_of(3, lambda size=batch: writer_us_per_row(writer, args.rows, size))
            print(f"writer, batches of {batch:>3}: {cost:7.1f} µs CPU per row")
        hook(app, 200, 0)  # warm up
        own = median_of(3, lambda: hook(app, args.rows, 0)[0])
        print(f"request side (_entry + submit): {own:7.1f} µs CPU per callback")
        whole = median_of(3, lambda: hook(app, args.rows // 2, 0.002)[1])
        print(f"end to end at 500/s, writer included: {whole:7.1f} µs CPU per callback")
        engine.dispose()
    finally:
        with psycopg.connect(args.server_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')


if __name__ == "__main__":
    main()
