"""Store every answered provider callback in the audit trail (:mod:`app.callbacks`).

An ``after_request`` hook: the answer is already computed, the row goes in with one
INSERT in its own transaction, and any failure to store it is logged and swallowed,
so the audit trail can never change or break an answer. ``CALLBACK_AUDIT=off``
turns it off.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from flask import Flask, Response, current_app, g, request
from sqlalchemy import text

from app import callbacks

log = structlog.get_logger(__name__)
_NO_FLUSH_WAIT = text("SET LOCAL synchronous_commit TO OFF")


def register(app: Flask, providers: set[str]) -> None:
    if not app.config.get("CALLBACK_AUDIT", True):
        return

    @app.after_request
    def _audit(response: Response) -> Response:
        if request.blueprint in providers:
            try:
                store(_entry(response))
            except Exception as exc:  # the answer must go out whatever happens here
                log.warning("callback not stored in the audit trail", error=type(exc).__name__)
        return response


def store(entry: callbacks.Entry) -> None:
    with current_app.extensions["wallet.engine"].begin() as conn:
        # An audit row lost in a crash's last milliseconds costs nothing that matters; a
        # WAL flush wait on every callback costs latency. Money transactions keep theirs.
        conn.execute(_NO_FLUSH_WAIT)
        callbacks.record(conn, entry)


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
