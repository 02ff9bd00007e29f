"""Rows read a batch at a time through a server-side cursor, for reads too big to hold,
and ``COPY`` in and out.

``conn`` must be inside a transaction (a server-side cursor lives in one). Errors are
SQLAlchemy's (:func:`app.db.driver_cursor`), as everywhere else, so the CLI reports them
in one line.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from typing import IO, Any, cast

import psycopg
from sqlalchemy import Connection

from app.db import driver_cursor

BATCH = 10_000
_names = itertools.count(1)


def rows(conn: Connection, sql: str, params: dict[str, Any], batch: int = BATCH) -> Iterator[Any]:
    """Every row of ``sql`` (psycopg's ``%(name)s`` parameters) as a tuple, ``batch`` rows
    per round trip; the client never holds more than one batch."""
    with driver_cursor(conn, sql, name=f"wallet_stream_{next(_names)}") as cursor:
        server_side = cast(psycopg.ServerCursor[Any], cursor)  # a name makes one
        server_side.itersize = batch
        server_side.execute(sql, params)
        yield from server_side


def copy(
    conn: Connection, sql: str, values: Iterable[tuple[Any, ...]], types: list[str] | None = None
) -> int:
    """``COPY … FROM STDIN`` of every tuple in ``values`` (streamed: psycopg sends a
    buffer at a time; binary when ``types`` names the columns' types); return how many
    rows."""
    count = 0
    with driver_cursor(conn, sql) as cursor, cursor.copy(sql) as copy:
        if types:
            copy.set_types(types)
        for row in values:
            copy.write_row(row)
            count += 1
    return count


def copy_out(conn: Connection, sql: str, params: dict[str, Any], out: IO[str]) -> int:
    """``COPY … TO STDOUT`` written to ``out`` as it arrives; return how many rows."""
    with driver_cursor(conn, sql) as cursor:
        with cursor.copy(sql, params) as copy:
            for chunk in copy:
                out.write(bytes(chunk).decode())
        return max(cursor.rowcount, 0)
