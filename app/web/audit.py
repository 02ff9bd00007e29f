"""Store every answered provider callback in the audit trail (:mod:`app.web.callbacks`).

An ``after_request`` hook copies what the row needs into an entry and queues it; a
background thread writes the queued entries in their own transactions, and any failure
to store them is logged and swallowed, so the audit trail can never change, slow or
break an answer. ``CALLBACK_AUDIT=off`` turns it off.

Rows are committed without waiting for the WAL flush or a synchronous standby
(``synchronous_commit`` off for these transactions only): a crash of the primary can lose
the last fraction of a second of stored rows (docs/high-availability.md).
``CALLBACK_AUDIT_SYNCHRONOUS_COMMIT=on`` makes them wait like the money does.
"""

from __future__ import annotations

import functools
import os
import threading
import time
from collections import deque
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from flask import Flask, Request, Response, g, request
from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from app import logs
from app.db import HeldConnections, driver_cursor, sqlstate
from app.web import callbacks

log = structlog.get_logger(__name__)
# Sent as one simple query (no parameters): one round trip for both.
_BEGIN_NO_FLUSH_WAIT = "BEGIN; SET LOCAL synchronous_commit TO OFF"
_BEGIN = "BEGIN"
# How long a row may wait before the writer thread stores it. Waking the thread on every
# callback cost a GIL hand-off per request and wrote transactions of one or two rows; a
# transaction's fixed cost (about 0.5 ms of CPU on the 2-core bench machine: checkout,
# BEGIN, SET, COPY, COMMIT) is some 15 rows' worth of row building. At 100 ms a worker
# answering ~110 callbacks a second (the bench: ~440 bets/s over 4 workers) writes ~11
# rows per transaction, twice as many as at 50 ms. Rows still show up within a tenth of
# a second, an idle worker wakes 10 times a second for nothing measurable, and a killed
# worker loses at most that last tenth of a second (a graceful stop flushes it).
WRITE_INTERVAL_S = 0.1


def register(app: Flask, providers: set[str], secret_headers: Iterable[str] = ()) -> None:
    """Store the callbacks answered by the ``providers``' blueprints, with their
    ``secret_headers`` redacted."""
    if not app.config.get("CALLBACK_AUDIT", True):
        return
    writer = AuditWriter(
        app.extensions["wallet.engine"],
        held=app.extensions["wallet.held"],
        secret_headers=secret_headers,
        synchronous_commit=app.config.get("CALLBACK_AUDIT_SYNCHRONOUS_COMMIT", False),
    )
    app.extensions["wallet.audit"] = writer
    body_limit = app.config["MAX_BODY_BYTES"]

    @app.after_request
    def _audit(response: Response) -> Response:
        if request.blueprint in providers:
            try:
                writer.submit(_entry(response, body_limit))
            except Exception as exc:  # the answer must go out whatever happens here
                log.warning("callback not stored in the audit trail", error=type(exc).__name__)
        return response


def flush(app: Flask, timeout_s: float = 10) -> None:
    """Wait until every submitted callback is stored (tests, shutdown)."""
    writer = app.extensions.get("wallet.audit")
    if writer is not None:
        writer.flush(timeout_s)


class AuditWriter:
    """Stores audit rows from one background thread per process, many per transaction.

    Writing each callback's row in its own transaction on the request path cost as much
    CPU and time as the money movement itself. Here the request only appends the entry
    to a deque (atomic under the GIL: no lock, no thread woken); the thread wakes every
    :data:`WRITE_INTERVAL_S`, takes everything queued and writes it with ``COPY``,
    committing without waiting for the WAL flush. Rows appear within that interval; a
    crash can lose the last few, never a money movement. Past ``max_queue`` waiting
    rows, new ones are dropped with a warning rather than slow down answers.
    """

    def __init__(
        self,
        engine: Engine,
        max_queue: int = 10_000,
        max_batch: int = 500,
        interval_s: float = WRITE_INTERVAL_S,
        held: HeldConnections | None = None,
        secret_headers: Iterable[str] = (),
        synchronous_commit: bool = False,
    ) -> None:
        self._engine = engine
        self._secret_headers = frozenset(name.lower() for name in secret_headers)
        self._begin = _BEGIN if synchronous_commit else _BEGIN_NO_FLUSH_WAIT
        self._held = held or HeldConnections()
        self._max_queue = max_queue
        self._max_batch = max_batch
        self._interval_s = interval_s
        self._pid: int | None = None
        # Entries, and the events of flush() calls waiting for the entries before them.
        self._pending: deque[callbacks.Entry | threading.Event] = deque()
        self._wake = threading.Event()
        self._start_lock = threading.Lock()

    def submit(self, entry: callbacks.Entry) -> None:
        self._ensure_thread()
        if len(self._pending) >= self._max_queue:
            log.warning("audit trail queue full: callback not stored", route=entry.route)
            return
        self._pending.append(entry)

    def flush(self, timeout_s: float) -> None:
        """Wait until every entry submitted before the call is stored (or failed to be).

        A marker queued behind those entries is set once they are written; the thread
        is woken at once rather than at its next interval.
        """
        if self._pid != os.getpid():
            return  # nothing was submitted in this process
        written = threading.Event()
        self._pending.append(written)
        self._wake.set()
        if not written.wait(timeout_s):
            log.warning("audit trail rows not stored yet", queued=len(self._pending) - 1)

    def _ensure_thread(self) -> None:
        """One thread per process: gunicorn forks workers, and threads do not survive it."""
        if self._pid == os.getpid():
            return
        with self._start_lock:
            if self._pid != os.getpid():
                self._pending = deque()  # the parent's entries are the parent's to write
                threading.Thread(target=self._run, name="audit-writer", daemon=True).start()
                self._pid = os.getpid()

    def _run(self) -> None:
        while True:
            self._wake.wait(self._interval_s)
            self._wake.clear()
            self._drain()

    def _drain(self) -> None:
        """Write everything queued, ``max_batch`` rows per transaction.

        A batch the database cannot take for now (no connection to a primary, or the
        connection lost: a restart, a failover) goes back to the head of the queue, with
        the flush markers behind it, and is written at a later wake-up; the queue's bound
        still holds (new rows are then dropped, with a warning). A batch the database
        refused is dropped, and logged with its count."""
        while self._pending:
            batch, flushes = self._take()
            if batch and not self._store(batch):
                self._pending.extendleft(reversed([*batch, *flushes]))
                return
            for event in flushes:
                event.set()

    def _take(self) -> tuple[list[callbacks.Entry], list[threading.Event]]:
        batch: list[callbacks.Entry] = []
        flushes: list[threading.Event] = []
        while self._pending and len(batch) < self._max_batch:
            item = self._pending.popleft()
            if isinstance(item, threading.Event):
                flushes.append(item)
            else:
                batch.append(item)
        return batch, flushes

    def _store(self, batch: list[callbacks.Entry]) -> bool:
        """Write ``batch``; False when it is to be written again later."""
        try:
            self._write(batch)
        except _NotNow:
            return False
        except Exception as exc:  # noqa: BLE001 - the trail must never stop the thread
            log.warning(
                "callbacks not stored in the audit trail",
                count=len(batch),
                error=type(exc).__name__,
                sqlstate=sqlstate(exc),
            )
        return True

    def _write(self, batch: list[callbacks.Entry]) -> None:
        """One transaction on the thread's kept connection (:class:`HeldConnections`, in
        autocommit): ``BEGIN`` with its ``SET LOCAL`` in one round trip, the ``COPY``,
        ``COMMIT``. A batch that fails leaves the transaction open, and the connection
        is then given up and replaced. :class:`_NotNow` when no connection could be had,
        or it was lost before the ``COMMIT`` was sent; one lost during the ``COMMIT`` may
        or may not have stored its rows, which is logged."""
        try:
            conn = self._held.get(self._engine)
        except SQLAlchemyError as exc:
            raise _NotNow from exc
        committing = False
        try:
            with driver_cursor(conn, _WRITE) as cursor:
                cursor.execute(self._begin)
                callbacks.copy_rows(cursor, batch, self._secret_headers)
                committing = True
                cursor.execute("COMMIT")
        except DBAPIError as exc:
            if not exc.connection_invalidated:
                raise
            if not committing:
                raise _NotNow from exc
            log.warning("audit trail connection lost while committing", count=len(batch))
        finally:
            self._held.release(conn)


class _NotNow(Exception):
    """The database could not be reached; the batch is to be written later."""


_WRITE = "BEGIN; COPY callbacks …; COMMIT"  # names the work in errors


def _entry(response: Response, body_limit: int) -> callbacks.Entry:
    """Plain copies of what the row needs, taken cheaply: this runs on every request.

    The request is looked up once (each ``request.x`` goes through a context-local
    proxy), the headers are copied from the WSGI environ under their HTTP names, and
    the redaction and row formatting are left to the writer thread. Nothing in the
    entry refers to the request, the response or the WSGI environ.
    """
    req: Request = request._get_current_object()  # type: ignore[attr-defined]
    seconds = time.perf_counter() - g.get("started", time.perf_counter())
    status = response.status_code
    answer = response.get_data(as_text=True) if not response.is_streamed else ""
    body, note = _body(req, body_limit)
    bound = logs.bound()  # the request log hook bound the outcome (app.web.outcomes)
    return callbacks.Entry(
        received_at=datetime.now(UTC) - timedelta(seconds=seconds),
        request_id=str(g.get("request_id", "")),
        provider=str(req.blueprint),
        method=req.method,
        route=req.path,
        remote_addr=req.remote_addr,
        headers=_headers(req.environ),
        body=body,
        body_note=note,
        status=status,
        answer=answer,
        action=_action(bound.get("action")),
        outcome=str(bound.get("outcome") or "ok"),
        latency_ms=seconds * 1000,
    )


def _body(req: Request, limit: int) -> tuple[bytes, str | None]:
    """The body as read by the adapter; an oversized one is not read again."""
    length = req.content_length
    if length is not None and length > limit:
        return b"", f"not stored: {length} bytes, over the limit"
    try:
        body = req.get_data(cache=True)
    except Exception:  # over the limit while streaming, or a broken connection
        return b"", "not stored: unreadable or over the limit"
    if len(body) > limit:  # a chunked body: the adapter read one byte past the limit
        return b"", f"not stored: more than {limit} bytes, over the limit"
    return body, None


def _headers(environ: Mapping[str, Any]) -> dict[str, str]:
    """``dict(request.headers.items())``, without werkzeug's per-header renaming."""
    kept = {}
    for key, value in environ.items():
        name = _header_name(key)
        if name is not None and (value or not key.startswith("CONTENT_")):
            kept[name] = value
    return kept


@functools.lru_cache(maxsize=256)
def _header_name(environ_key: str) -> str | None:
    """The name werkzeug's ``EnvironHeaders`` gives an environ key (``HTTP_X_SECURITY_HASH``
    is ``X-Security-Hash``), None for a key that is not a header. Cached: a worker sees
    the same few keys on every request."""
    if environ_key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
        return environ_key.replace("_", "-").title()
    if environ_key.startswith("HTTP_") and environ_key not in _CONTENT_AS_HTTP:
        return environ_key[5:].replace("_", "-").title()
    return None


_CONTENT_AS_HTTP = ("HTTP_CONTENT_TYPE", "HTTP_CONTENT_LENGTH")


def _action(action: Any) -> str | None:
    """The action the adapter bound (``bet``, an Upside trigger, …), if it read one."""
    return str(action)[:32] if action else None
