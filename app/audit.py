"""Store every answered provider callback in the audit trail (:mod:`app.callbacks`).

An ``after_request`` hook: the answer is already computed, the row goes in with one
INSERT in its own transaction, and any failure to store it is logged and swallowed,
so the audit trail can never change or break an answer. ``CALLBACK_AUDIT=off``
turns it off.
"""

from __future__ import annotations

import json
import os
import queue
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from flask import Flask, Response, current_app, g, request
from sqlalchemy import Engine

from app import callbacks
from app.db import driver_cursor

log = structlog.get_logger(__name__)
_NO_FLUSH_WAIT = "SET LOCAL synchronous_commit TO OFF"


def register(app: Flask, providers: set[str]) -> None:
    if not app.config.get("CALLBACK_AUDIT", True):
        return
    writer = AuditWriter(app.extensions["wallet.engine"])
    app.extensions["wallet.audit"] = writer

    @app.after_request
    def _audit(response: Response) -> Response:
        if request.blueprint in providers:
            try:
                writer.submit(_entry(response))
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
    CPU and time as the money movement itself. Here the request only queues the row;
    the thread takes everything queued, writes it with one COPY and commits without
    waiting for the WAL flush. Rows appear within milliseconds; a crash can lose the
    last few, never a money movement. A full queue drops rows with a warning rather
    than slow down answers.
    """

    def __init__(self, engine: Engine, max_queue: int = 10_000, max_batch: int = 500) -> None:
        self._engine = engine
        self._max_queue = max_queue
        self._max_batch = max_batch
        self._pid: int | None = None
        self._queue: queue.Queue[callbacks.Entry] = queue.Queue(max_queue)
        self._start_lock = threading.Lock()

    def submit(self, entry: callbacks.Entry) -> None:
        self._ensure_thread()
        try:
            self._queue.put_nowait(entry)
        except queue.Full:
            log.warning("audit trail queue full: callback not stored", route=entry.route)

    def flush(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while self._queue.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.005)

    def _ensure_thread(self) -> None:
        """One thread per process: gunicorn forks workers, and threads do not survive it."""
        if self._pid == os.getpid():
            return
        with self._start_lock:
            if self._pid != os.getpid():
                self._queue = queue.Queue(self._max_queue)
                threading.Thread(target=self._run, name="audit-writer", daemon=True).start()
                self._pid = os.getpid()

    def _run(self) -> None:
        while True:
            batch = [self._queue.get()]
            while len(batch) < self._max_batch and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            try:
                self._write(batch)
            except Exception as exc:  # noqa: BLE001 - the trail must never stop the thread
                log.warning(
                    "callbacks not stored in the audit trail",
                    count=len(batch),
                    error=type(exc).__name__,
                )
            finally:
                for _ in batch:
                    self._queue.task_done()

    def _write(self, batch: list[callbacks.Entry]) -> None:
        with self._engine.begin() as conn:
            with driver_cursor(conn, _NO_FLUSH_WAIT) as cursor:
                cursor.execute(_NO_FLUSH_WAIT)
            callbacks.record_many(conn, batch)


def _entry(response: Response) -> callbacks.Entry:
    seconds = time.perf_counter() - g.get("started", time.perf_counter())
    body, note = _body()
    answer = response.get_data(as_text=True) if not response.is_streamed else ""
    return callbacks.Entry(
        received_at=datetime.now(UTC) - timedelta(seconds=seconds),
        request_id=str(g.get("request_id", "")),
        provider=str(request.blueprint),
        method=request.method,
        route=request.path,
        remote_addr=request.remote_addr,
        headers=dict(request.headers.items()),
        body=body,
        body_note=note,
        status=response.status_code,
        answer=answer,
        outcome=outcome(response.status_code, answer),
        latency_ms=seconds * 1000,
    )


def _body() -> tuple[bytes, str | None]:
    """The body as read by the adapter; an oversized one is not read again."""
    limit = current_app.config["MAX_BODY_BYTES"]
    if request.content_length is not None and request.content_length > limit:
        return b"", f"not stored: {request.content_length} bytes, over the limit"
    try:
        return request.get_data(cache=True), None
    except Exception:  # over the limit while streaming, or a broken connection
        return b"", "not stored: unreadable or over the limit"


def outcome(status: int, answer: str) -> str:
    """What the request came to: the error code the provider was answered, else the
    outcome the adapter noted (``applied``, ``ok``, …), else the HTTP status."""
    code = _error_code(answer)
    if code:
        return code
    bound = structlog.contextvars.get_contextvars().get("outcome")
    if bound:
        return str(bound)
    return "ok" if status < 400 else f"http_{status}"


def _error_code(answer: str) -> str | None:
    try:
        data: Any = json.loads(answer)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    error = data.get("error")
    if isinstance(error, dict):
        error = error.get("code")
    found = error or data.get("code")
    return str(found) if found else None
