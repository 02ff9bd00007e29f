"""Rows read a batch at a time through a server-side cursor, for reads too big to hold.

``conn`` must be inside a transaction (a server-side cursor lives in one). Errors are
SQLAlchemy's, as everywhere else, so the CLI reports them in one line.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from typing import IO, Any

import psycopg
from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError

BATCH = 10_000
_names = itertools.count(1)


def rows(conn: Connection, sql: str, params: dict[str, Any], batch: int = BATCH) -> Iterator[Any]:
    """Every row of ``sql`` (psycopg's ``%(name)s`` parameters) as a tuple, ``batch`` rows
    per round trip; the client never holds more than one batch."""
    driver = conn.connection.driver_connection
    assert driver is not None
    try:
        with driver.cursor(name=f"wallet_stream_{next(_names)}") as cursor:
            cursor.itersize = batch
            cursor.execute(sql, params)
            yield from cursor
    except psycopg.Error as exc:
        raise DBAPIError.instance(sql, None, exc, psycopg.Error, hide_parameters=True) from exc


def copy(
    conn: Connection, sql: str, values: Iterable[tuple[Any, ...]], types: list[str] | None = None
) -> int:
    """``COPY … FROM STDIN`` of every tuple in ``values`` (streamed: psycopg sends a
    buffer at a time; binary when ``types`` names the columns' types); return how many
    rows."""
    driver = conn.connection.driver_connection
    assert driver is not None
    count = 0
    try:
        with driver.cursor() as cursor, cursor.copy(sql) as copy:
            if types:
                copy.set_types(types)
            for row in values:
                copy.write_row(row)
                count += 1
    except psycopg.Error as exc:
        raise DBAPIError.instance(sql, None, exc, psycopg.Error, hide_parameters=True) from exc
    return count


def copy_out(conn: Connection, sql: str, params: dict[str, Any], out: IO[str]) -> int:
    """``COPY … TO STDOUT`` written to ``out`` as it arrives; return how many rows."""
    driver = conn.connection.driver_connection
    assert driver is not None
    try:
        with driver.cursor() as cursor:
            with cursor.copy(sql, params) as copy:
                for chunk in copy:
                    out.write(bytes(chunk).decode())
            return max(cursor.rowcount, 0)
    except psycopg.Error as exc:
        raise DBAPIError.instance(sql, None, exc, psycopg.Error, hide_parameters=True) from exc
