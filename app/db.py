"""Engine construction and the unit of work.

The wallet core receives a SQLAlchemy ``Connection`` and never commits; the one
place that decides is :class:`UnitOfWork`, which rolls back unless told to commit.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from types import TracebackType
from typing import Any

import psycopg
from psycopg.pq import TransactionStatus
from psycopg.rows import namedtuple_row
from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.exc import DBAPIError, StatementError

from app import budget, embedded


def resolve_database_url(configured: str | None) -> str:
    """``DATABASE_URL`` when set, else the embedded server's ``wallet`` database."""
    return configured or embedded.database_url()


def sqlalchemy_url(libpq_url: str) -> str:
    """Pick the driver ourselves: ``postgresql://…`` becomes ``postgresql+psycopg://…``."""
    for prefix in ("postgresql+psycopg://", "postgresql://", "postgres://"):
        if libpq_url.startswith(prefix):
            return "postgresql+psycopg://" + libpq_url[len(prefix) :]
    raise ValueError("DATABASE_URL must start with postgresql://")


def make_engine(
    libpq_url: str,
    *,
    pool_size: int = 4,
    lock_timeout_ms: int = 0,
    statement_timeout_ms: int = 0,
    pool_timeout_s: float = 5,
) -> Engine:
    """An engine whose connections fail fast instead of queueing behind a stuck lock."""
    options = f"-c lock_timeout={lock_timeout_ms} -c statement_timeout={statement_timeout_ms}"
    return create_engine(
        sqlalchemy_url(libpq_url),
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_timeout=pool_timeout_s,
        connect_args={"options": options, "connect_timeout": 3},
    )


class UnitOfWork:
    """One database transaction: ``with UnitOfWork(engine) as uow: …; uow.commit()``.

    ``single_statement=True`` promises the work is one statement (which may read before it
    fails, but writes at most once): it then runs in autocommit, PostgreSQL's implicit
    transaction around that statement, saving the ``BEGIN`` and ``COMMIT`` round trips.
    When the request's time budget needs ``SET LOCAL`` timeouts it runs in a transaction
    as usual.

    psycopg's autocommit is a client-side flag (it only stops psycopg sending ``BEGIN``),
    so it is set and restored on the driver connection directly: SQLAlchemy's
    ``isolation_level`` option does the same through its connection-characteristics
    machinery for ~40 k more instructions per callback (``bench/cpu.py``).
    """

    def __init__(self, engine: Engine, *, single_statement: bool = False) -> None:
        self._engine = engine
        self._single_statement = single_statement
        self._autocommit: psycopg.Connection[Any] | None = None
        self.conn: Connection

    def __enter__(self) -> UnitOfWork:
        limits = budget.transaction_limits()  # inside a request: raises once time is up
        self.conn = self._engine.connect()
        if self._single_statement and limits is None:
            self._autocommit = self.conn.connection.driver_connection
            assert self._autocommit is not None
            self._autocommit.autocommit = True
            return self
        self.conn.begin()
        if limits is not None:
            statement_ms, lock_ms = limits
            self.conn.execute(text(f"SET LOCAL statement_timeout = {int(statement_ms)}"))
            self.conn.execute(text(f"SET LOCAL lock_timeout = {int(lock_ms)}"))
        return self

    def commit(self) -> None:
        if self._autocommit is None:  # in autocommit the statement committed itself
            self.conn.commit()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if self._autocommit is not None:
                self._leave_autocommit(self._autocommit)
            self.conn.rollback()
        finally:
            self.conn.close()

    def _leave_autocommit(self, driver: psycopg.Connection[Any]) -> None:
        """Back to transactions before the pool gets the connection; one that cannot be
        (broken) is discarded instead."""
        if not driver.closed and driver.info.transaction_status == TransactionStatus.IDLE:
            driver.autocommit = False
        else:
            self.conn.invalidate()


def fetch_one(conn: Connection, sql: str, params: dict[str, Any]) -> Any:
    """Run one hot-path statement on the psycopg connection under ``conn`` and return
    its first row (a named tuple) or None.

    Used for the few statements every callback runs: SQLAlchemy's per-statement work
    (building, cache keys, parameter and result processing) cost more CPU than the
    database spent on them. The statement joins the unit of work's transaction, and
    psycopg prepares it on the server after a few executions.
    """
    with driver_cursor(conn, sql, row_factory=namedtuple_row) as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()


@contextmanager
def driver_cursor(
    conn: Connection, sql: str, row_factory: Any = None
) -> Iterator[psycopg.Cursor[Any]]:
    """A cursor on the psycopg connection under ``conn``, in its transaction, for what
    SQLAlchemy cannot do (``COPY``) or does at too high a CPU cost; ``sql`` names the
    work in errors, which are SQLAlchemy's (a dead connection is invalidated)."""
    driver = conn.connection.driver_connection
    assert driver is not None
    try:
        with driver.cursor(row_factory=row_factory or driver.row_factory) as cursor:
            yield cursor
    except psycopg.Error as exc:
        raise _as_sqlalchemy_error(conn, driver, sql, exc) from exc


def _as_sqlalchemy_error(
    conn: Connection, driver: Any, sql: str, exc: psycopg.Error
) -> StatementError:
    """What SQLAlchemy would have raised (and done): a dead connection is invalidated so
    the pool replaces it, and callers see the same exception classes either way."""
    if conn.dialect.is_disconnect(exc, driver, None):  # type: ignore[arg-type]
        conn.invalidate(exc)
    return DBAPIError.instance(sql, None, exc, psycopg.Error, hide_parameters=True)
