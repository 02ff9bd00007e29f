"""The audit trail of inbound provider callbacks: record, list, show and prune.

Every callback is stored after its answer is computed, in its own short transaction
(never the money transaction), so a request that failed can still be read. Headers
that carry credentials (``Authorization``, cookies, each provider's signature headers
as its registry entry names them, and any header whose name sounds like a credential)
are kept by name only, as ``[redacted]``; body fields with credential-like names are
masked the same way. Flask-free: the web hook (:mod:`app.web.audit`) passes plain values.

This runs for every callback, in the same process (and under the same GIL) as the
requests, so it is kept cheap: rows are written with ``COPY``, each header name is judged
once (cached), and a body is parsed only when its bytes could name a credential.
"""

from __future__ import annotations

import base64
import functools
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, cast

import orjson
import psycopg
from sqlalchemy import (
    BigInteger,
    Connection,
    DateTime,
    Identity,
    Index,
    LargeBinary,
    Numeric,
    SmallInteger,
    String,
    Table,
    Text,
    delete,
    func,
    select,
)
from sqlalchemy.dialects.postgresql import JSON
from sqlalchemy.orm import Mapped, mapped_column

from app.core.models import Base
from app.db import driver_cursor
from app.logs import SECRET_WORDS

REDACTED = "[redacted]"
CREDENTIAL_HEADERS = frozenset(("authorization", "proxy-authorization", "cookie"))
NO_HEADERS: frozenset[str] = frozenset()
_SECRET_NAME = re.compile("|".join(SECRET_WORDS), re.IGNORECASE)


class Callback(Base):
    __tablename__ = "callbacks"
    __table_args__ = (
        Index("ix_callbacks_received_at_brin", "received_at", postgresql_using="brin"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    received_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    request_id: Mapped[str] = mapped_column(String(128))
    provider: Mapped[str] = mapped_column(String(32))
    method: Mapped[str] = mapped_column(String(16))
    route: Mapped[str] = mapped_column(Text)
    remote_addr: Mapped[str | None] = mapped_column(String(64))
    headers: Mapped[dict[str, Any]] = mapped_column(JSON)
    body: Mapped[bytes] = mapped_column(LargeBinary)
    body_note: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[int] = mapped_column(SmallInteger)
    answer: Mapped[str] = mapped_column(Text)
    outcome: Mapped[str] = mapped_column(String(64))
    latency_ms: Mapped[Decimal] = mapped_column(Numeric(10, 2))
    action: Mapped[str | None] = mapped_column(String(32))


callbacks = cast(Table, Callback.__table__)


@dataclass(frozen=True)
class Entry:
    """One answered callback, as the web hook saw it."""

    received_at: datetime
    request_id: str
    provider: str
    method: str
    route: str
    remote_addr: str | None
    headers: Mapping[str, str]
    body: bytes
    body_note: str | None
    status: int
    answer: str
    outcome: str
    latency_ms: float
    action: str | None = None


def record(conn: Connection, entry: Entry) -> None:
    """One row; the caller's transaction holds nothing else."""
    record_many(conn, [entry])


COLUMNS = (
    "received_at",
    "request_id",
    "provider",
    "method",
    "route",
    "remote_addr",
    "headers",
    "body",
    "body_note",
    "status",
    "answer",
    "outcome",
    "latency_ms",
    "action",
)
_COPY = f"COPY callbacks ({', '.join(COLUMNS)}) FROM STDIN"


def record_many(
    conn: Connection, entries: list[Entry], secret_headers: frozenset[str] = NO_HEADERS
) -> None:
    """Every entry with one ``COPY``, in the caller's transaction.

    ``COPY`` on the psycopg connection under ``conn`` (the transaction SQLAlchemy
    commits): a multi-row ``INSERT`` through SQLAlchemy built a new statement for each
    batch size (never prepared) and processed every parameter in Python; ``COPY``
    streams the rows in one statement and formats them in psycopg's C code.
    """
    with driver_cursor(conn, _COPY) as cursor:
        copy_rows(cursor, entries, secret_headers)


def copy_rows(
    cursor: psycopg.Cursor[Any], entries: list[Entry], secret_headers: frozenset[str] = NO_HEADERS
) -> None:
    """:func:`record_many` on a psycopg cursor, in its transaction. ``secret_headers``
    (lower-case names) are redacted besides :data:`CREDENTIAL_HEADERS`."""
    with cursor.copy(_COPY) as copy:
        for entry in entries:
            copy.write_row(_row(entry, secret_headers))


def _row(entry: Entry, secret_headers: frozenset[str]) -> tuple[Any, ...]:
    """The values in :data:`COLUMNS` order; headers as JSON text."""
    body, note = safe_body(entry.body)
    return (
        entry.received_at,
        entry.request_id[:128],
        entry.provider[:32],
        entry.method[:16],
        entry.route,
        (entry.remote_addr or "")[:64] or None,
        orjson.dumps(safe_headers(entry.headers, secret_headers)).decode(),
        body,
        entry.body_note or note,
        entry.status,
        entry.answer.replace("\x00", "\ufffd"),
        entry.outcome[:64],
        round(Decimal(entry.latency_ms), 2),
        entry.action,
    )


def safe_headers(
    headers: Mapping[str, str], secret_headers: frozenset[str] = NO_HEADERS
) -> dict[str, str]:
    """Every header by name; credential values replaced by ``[redacted]``."""
    return {
        name: REDACTED if _secret_header(name, secret_headers) else _text(value)[:1024]
        for name, value in headers.items()
    }


@functools.lru_cache(maxsize=256)
def _secret_header(name: str, secret_headers: frozenset[str]) -> bool:
    """Cached: a worker sees the same few header names on every request (and a name is
    at most gunicorn's 8 KB header line, so the cache stays small whatever is sent)."""
    lowered = name.lower()
    return lowered in CREDENTIAL_HEADERS or lowered in secret_headers or _secret_name(name)


def _secret_name(name: str) -> bool:
    return _SECRET_NAME.search(name) is not None


def safe_body(raw: bytes) -> tuple[bytes, str | None]:
    """The raw body, unless a JSON object in it names a credential (``session_token``, …):
    then that object re-serialized with those values masked, and a note saying so.

    Most bodies name no credential, and :func:`_may_name_a_secret` says so from the
    bytes alone; only the others are parsed to find out.
    """
    if not _may_name_a_secret(raw):
        return raw, None
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):
        return raw, None
    if not isinstance(data, dict) or not any(_secret_name(str(k)) for k in data):
        return raw, None
    masked = {k: REDACTED if _secret_name(str(k)) else v for k, v in data.items()}
    return json.dumps(masked, ensure_ascii=False).encode(), "credential fields masked"


_SECRET_BYTES = tuple(word.encode() for word in SECRET_WORDS)


def _may_name_a_secret(raw: bytes) -> bool:
    """False only when no key ``json.loads`` could find in ``raw`` matches a secret word.

    In plain ASCII a key is spelled in the bytes as it is decoded, so a case-insensitive
    search for the words is enough. Anything else is left to the parser: a backslash
    (``\\u0074oken`` is ``token``), a NUL byte (``json.loads`` reads UTF-16 and UTF-32)
    and any non-ASCII byte (the pattern's case folding matches ``ſ`` to ``s``).
    """
    if not raw.isascii() or b"\\" in raw or b"\x00" in raw:
        return True
    lowered = raw.lower()
    return any(word in lowered for word in _SECRET_BYTES)


def _text(value: str) -> str:
    return value.encode("utf-8", "replace").decode("utf-8").replace("\x00", "\ufffd")


# --- reading --------------------------------------------------------------------------------

SUMMARY = (
    callbacks.c.id,
    callbacks.c.received_at,
    callbacks.c.provider,
    callbacks.c.route,
    callbacks.c.action,
    callbacks.c.status,
    callbacks.c.outcome,
    callbacks.c.latency_ms,
    callbacks.c.request_id,
)


def find(
    conn: Connection,
    provider: str | None = None,
    since: datetime | None = None,
    outcome: str | None = None,
    limit: int = 50,
) -> list[dict[str, Any]]:
    """The ``limit`` callbacks received last, newest first, filtered by provider, time
    and outcome.

    Rows are stored in the order their answers were written, not quite the order they
    were received, and ``received_at`` has no B-tree to sort by (migration 0005). The
    last ``limit`` rows by id are cheap to find, and the ``limit`` received last can be
    no older than the oldest of them: only rows from that moment on are sorted (the
    BRIN index finds them)."""
    filters = []
    if provider:
        filters.append(callbacks.c.provider == provider)
    if since:
        filters.append(callbacks.c.received_at >= since)
    if outcome:
        filters.append(callbacks.c.outcome == outcome.lower())
    last = (
        select(callbacks.c.received_at)
        .where(*filters)
        .order_by(callbacks.c.id.desc())
        .limit(limit)
        .subquery()
    )
    oldest = select(func.min(last.c.received_at)).scalar_subquery()
    query = (
        select(*SUMMARY)
        .where(*filters, callbacks.c.received_at >= oldest)
        .order_by(callbacks.c.received_at.desc(), callbacks.c.id.desc())
        .limit(limit)
    )
    return [dict(row._mapping) for row in conn.execute(query)]


def get(conn: Connection, callback_id: int) -> dict[str, Any] | None:
    """One callback in full; the body as text when it is UTF-8, else base64."""
    row = conn.execute(select(callbacks).where(callbacks.c.id == callback_id)).first()
    if row is None:
        return None
    data = dict(row._mapping)
    raw = bytes(data.pop("body"))
    try:
        data["body"] = raw.decode("utf-8")
    except UnicodeDecodeError:
        data["body"], data["body_base64"] = None, base64.b64encode(raw).decode()
    return data


def prune(conn: Connection, now: datetime, retention_days: int) -> int:
    """Delete callbacks older than ``retention_days``; returns how many."""
    cutoff = now - timedelta(days=retention_days)
    result = conn.execute(delete(callbacks).where(callbacks.c.received_at < cutoff))
    return int(result.rowcount or 0)
