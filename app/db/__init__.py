"""Engine construction and the unit of work.

The wallet core receives a SQLAlchemy ``Connection`` and never commits; the one
place that decides is :class:`UnitOfWork`, which rolls back unless told to commit.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import TracebackType
from typing import Any, TypeVar

import psycopg
import structlog
from psycopg.pq import TransactionStatus
from psycopg.rows import namedtuple_row
from sqlalchemy import Connection, Engine, create_engine, event, make_url, text
from sqlalchemy.engine import ExceptionContext
from sqlalchemy.exc import DBAPIError, StatementError

from app.db import budget, embedded, replication
from app.db.replication import CommitUnconfirmed as CommitUnconfirmed
from app.db.urls import for_libpq, needs_the_primary_named
from app.db.urls import sqlalchemy_url as sqlalchemy_url

T = TypeVar("T")
_log = structlog.get_logger(__name__)


def resolve_database_url(configured: str | None) -> str:
    """``DATABASE_URL`` when set, else the embedded server's ``wallet`` database."""
    return configured or embedded.database_url()


def database_name(libpq_url: str) -> str:
    """The database a libpq URL names (``postgresql://host/wallet`` → ``wallet``)."""
    return make_url(sqlalchemy_url(libpq_url)).database or ""


def make_engine(
    libpq_url: str,
    *,
    pool_size: int = 4,
    lock_timeout_ms: int = 0,
    statement_timeout_ms: int = 0,
    pool_timeout_s: float = 5,
    prepare_threshold: int | None = 5,
) -> Engine:
    """An engine whose connections fail fast instead of queueing behind a stuck lock.

    ``prepare_threshold`` is psycopg's: a statement run that many times on a connection is
    prepared on the server; None never prepares (behind a pooler that cannot follow
    prepared statements from one server connection to the next).

    Each connection is opened from ``libpq_url`` as given, so libpq chooses among the
    hosts of a multi-host URL (with ``target_session_attrs=read-write``, the default here
    for several hosts: the primary), and a connection that lost its server, or finds it
    read-only (a standby), is replaced: after a failover the engine follows the new
    primary (docs/high-availability.md).
    """
    options = f"-c lock_timeout={lock_timeout_ms} -c statement_timeout={statement_timeout_ms}"
    connect_args: dict[str, Any] = {
        "options": options,
        "connect_timeout": 3,
        "prepare_threshold": prepare_threshold,
    }
    if needs_the_primary_named(libpq_url):
        connect_args["target_session_attrs"] = "read-write"
    engine = create_engine(
        sqlalchemy_url(libpq_url),
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_timeout=pool_timeout_s,
        connect_args=connect_args,
    )
    event.listen(engine, "do_connect", _connect_to(libpq_url, connect_args))
    event.listen(engine, "connect", replication.note_commit_warnings)
    event.listen(engine, "handle_error", _read_only_is_lost)
    return engine


def _connect_to(libpq_url: str, connect_args: dict[str, Any]) -> Callable[..., Any]:
    """SQLAlchemy's connect, with the URL handed to libpq unchanged: SQLAlchemy's parsed
    parts of it (hosts, ports, database, query) are left out, its own arguments kept."""
    url = for_libpq(libpq_url)
    passed = (*connect_args, "context", "client_encoding")

    def connect(dialect: Any, record: Any, cargs: Any, cparams: dict[str, Any]) -> Any:
        return psycopg.Connection.connect(url, **{k: cparams[k] for k in passed if k in cparams})

    return connect


def _read_only_is_lost(context: ExceptionContext) -> None:
    """A connection whose server is read-only (SQLSTATE 25006: a standby, say a demoted
    primary behind a pooler) is as good as lost: SQLAlchemy then replaces it and every
    pooled connection opened before, and libpq looks for the primary again."""
    if sqlstate(context.original_exception) == READ_ONLY:
        context.is_disconnect = True


class HeldConnections:
    """One connection per thread, checked out once and kept, in autocommit, for the
    one-statement units of work (every bet, win, deposit and withdrawal).

    Checking a connection out of SQLAlchemy's pool and back in (``Connection`` objects,
    the pool's queue and lock, the reset-on-return rollback, switching autocommit on and
    off) cost 7% of a callback's Python instructions (``bench/tools/cpu.py``). A gunicorn
    thread serves one request at a time, so it can keep its connection between requests.
    The pool still owns it (``DB_POOL_SIZE`` covers the threads); it goes back when its
    thread ends, when :meth:`dispose` is called, or when the engine asked for is another;
    one that broke (invalidated by :func:`driver_cursor`, or left in a transaction) is put
    back and replaced on the next request. One broken connection means the server may be
    gone (a restart, a failover), so every thread replaces the connection it kept from
    before that moment on its next request, instead of failing once on it.
    """

    def __init__(self) -> None:
        self._local = threading.local()
        self._all: weakref.WeakSet[_Held] = weakref.WeakSet()
        self._generation = 0  # how many kept connections were found broken

    def get(self, engine: Engine) -> Connection:
        held: _Held | None = getattr(self._local, "held", None)
        if (
            held is None
            or not held.open
            or held.conn.engine is not engine
            or held.generation != self._generation
        ):
            if held is not None:
                held.discard(stale=held.generation != self._generation)
            held = self._local.held = _Held(engine.connect(), self._generation)
            self._all.add(held)
        return held.conn

    def release(self, conn: Connection) -> None:
        """After each unit of work: end SQLAlchemy's implicit transaction (a query made
        through ``conn`` begins one; in autocommit it holds nothing on the server), or
        give up a connection that cannot be reused."""
        if _idle_driver(conn) is None:
            self._generation += 1
            self._local.held.close()
            del self._local.held
        elif conn.in_transaction():
            conn.rollback()

    def dispose(self) -> None:
        """Give every kept connection back to the pool (no request may be running)."""
        for held in list(self._all):
            held.close()


class _Held:
    """A kept connection, handed back to the pool when its thread's storage drops it."""

    def __init__(self, conn: Connection, generation: int) -> None:
        driver = conn.connection.driver_connection
        assert driver is not None
        driver.autocommit = True
        self.conn = conn
        self.generation = generation
        self._finalizer = weakref.finalize(self, _give_back, conn)
        self._finalizer.atexit = False  # at exit the process's sockets close anyway

    @property
    def open(self) -> bool:
        return self._finalizer.alive

    def close(self) -> None:
        self._finalizer()  # once: later calls do nothing

    def discard(self, stale: bool) -> None:
        """Close; a stale connection (kept from before a server was lost) is invalidated
        rather than given back: its server may be gone, and resetting it would fail."""
        if stale and self.open:
            self.conn.invalidate()
        self.close()


def _give_back(conn: Connection) -> None:
    _out_of_autocommit(conn)
    conn.close()


def _idle_driver(conn: Connection) -> psycopg.Connection[Any] | None:
    """The psycopg connection under ``conn`` if it can be used again: open, and in no
    transaction."""
    driver = None if conn.invalidated else conn.connection.driver_connection
    if driver is None or driver.closed or driver.info.transaction_status != TransactionStatus.IDLE:
        return None
    return driver


def _out_of_autocommit(conn: Connection) -> None:
    """Back to transactions before the pool gets ``conn`` again (its next user expects
    one); a connection that cannot be reused is invalidated instead, so the pool
    replaces it."""
    driver = _idle_driver(conn)
    if driver is None:
        conn.invalidate()
    else:
        driver.autocommit = False


class UnitOfWork:
    """One database transaction: ``with UnitOfWork(engine) as uow: …; uow.commit()``.

    ``single_statement=True`` promises the work is one statement (which may read before it
    fails, but writes at most once): it then runs in autocommit, PostgreSQL's implicit
    transaction around that statement, saving the ``BEGIN`` and ``COMMIT`` round trips,
    on the thread's kept connection when ``held`` is given (:class:`HeldConnections`).
    When the request's time budget needs ``SET LOCAL`` timeouts it runs in a transaction
    as usual.

    psycopg's autocommit is a client-side flag (it only stops psycopg sending ``BEGIN``),
    so it is set and restored on the driver connection directly: SQLAlchemy's
    ``isolation_level`` option does the same through its connection-characteristics
    machinery for ~40 k more instructions per callback (``bench/tools/cpu.py``).
    """

    def __init__(
        self,
        engine: Engine,
        *,
        single_statement: bool = False,
        held: HeldConnections | None = None,
    ) -> None:
        self._engine = engine
        self._single_statement = single_statement
        self._held = held
        self._autocommit: psycopg.Connection[Any] | None = None
        self._kept = False
        self.conn: Connection

    def __enter__(self) -> UnitOfWork:
        limits = budget.transaction_limits()  # inside a request: raises once time is up
        if self._single_statement and limits is None and self._held is not None:
            self.conn = self._held.get(self._engine)
            self._kept = True
            return self
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
        """``COMMIT``, bounded by the request's budget; :class:`CommitUnconfirmed` when
        PostgreSQL committed without the synchronous standby's confirmation."""
        if self._autocommit is not None or self._kept:  # autocommit committed already
            return
        pooled = self.conn.connection
        pooled.info.pop(replication.UNCONFIRMED, None)
        with replication.cancelled_at_deadline(pooled.driver_connection):
            self.conn.commit()
        replication.confirm_commit(pooled.info, "COMMIT")

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._kept:
            assert self._held is not None
            self._held.release(self.conn)
            return
        try:
            if self._autocommit is not None:
                _out_of_autocommit(self.conn)
            self.conn.rollback()
        finally:
            self.conn.close()


class Database:
    """What a unit of work needs: the engine, and the threads' kept connections."""

    def __init__(self, engine: Engine, held: HeldConnections | None = None) -> None:
        self.engine = engine
        self.held = held

    def unit_of_work(self, *, single_statement: bool = False) -> UnitOfWork:
        return UnitOfWork(self.engine, single_statement=single_statement, held=self.held)

    def run(self, work: Callable[..., T], *args: Any, single_statement: bool = False) -> T:
        """``work(conn, *args)`` in one unit of work, committed when it returns."""
        with self.unit_of_work(single_statement=single_statement) as uow:
            result = work(uow.conn, *args)
            uow.commit()
        return result


def fetch_one(conn: Connection, sql: str, params: dict[str, Any]) -> Any:
    """Run one hot-path statement on the psycopg connection under ``conn`` and return
    its first row (a named tuple) or None.

    Used for the few statements every callback runs: SQLAlchemy's per-statement work
    (building, cache keys, parameter and result processing) cost more CPU than the
    database spent on them. The statement joins the unit of work's transaction, and
    psycopg prepares it on the server after a few executions.
    """
    pooled = conn.connection
    driver = pooled.driver_connection
    assert driver is not None
    # One cursor per connection, kept in the pool's record of it (a cursor a callback made
    # and closed was 2% of its CPU), and no driver_cursor(): its generator context manager
    # was 4%. A connection serves one thread at a time, and so does its cursor.
    info = pooled.info
    cursor = info.get(_CURSOR)
    if cursor is None or cursor.connection is not driver:
        cursor = info[_CURSOR] = driver.cursor(row_factory=namedtuple_row)
    info.pop(replication.UNCONFIRMED, None)
    deadline = budget.cancel_at()
    if deadline is not None:
        replication.CANCELLER.watch(driver, deadline)
    try:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    except psycopg.Error as exc:
        raise _as_sqlalchemy_error(conn, driver, sql, exc) from exc
    finally:
        if deadline is not None:
            replication.CANCELLER.done(driver)
    if driver.autocommit:  # the statement committed itself
        replication.confirm_commit(info, sql)
    return row


_CURSOR = "wallet.fetch_one.cursor"


@contextmanager
def driver_cursor(
    conn: Connection, sql: str, name: str | None = None
) -> Iterator[psycopg.Cursor[Any]]:
    """A cursor on the psycopg connection under ``conn``, in its transaction, for what
    SQLAlchemy cannot do (``COPY``, a server-side cursor when ``name`` is given) or does
    at too high a CPU cost; ``sql`` names the work in errors, which are SQLAlchemy's (a
    dead connection is invalidated)."""
    driver = conn.connection.driver_connection
    assert driver is not None
    try:
        with driver.cursor(name=name) if name else driver.cursor() as cursor:
            yield cursor
    except psycopg.Error as exc:
        raise _as_sqlalchemy_error(conn, driver, sql, exc) from exc


# SQLSTATEs of a prepared statement missing on the server connection, or of one of the same
# name already there: what a pooler in transaction mode does to statements prepared on
# another server connection (docs/scaling.md).
LOST_PREPARED_STATEMENT = frozenset({"26000", "42P05"})
# A write on a read-only server: a standby (read_only_sql_transaction).
READ_ONLY = "25006"


def sqlstate(exc: BaseException) -> str | None:
    """The SQLSTATE of a database error (SQLAlchemy's or psycopg's), None for others."""
    return getattr(getattr(exc, "orig", exc), "sqlstate", None)


def _as_sqlalchemy_error(
    conn: Connection, driver: Any, sql: str, exc: psycopg.Error
) -> StatementError:
    """What SQLAlchemy would have raised (and done): a dead connection is invalidated so
    the pool replaces it, and callers see the same exception classes either way. So is one
    whose prepared statements the server no longer has: psycopg would go on using them,
    and every later request on it would fail."""
    lost = exc.sqlstate in LOST_PREPARED_STATEMENT
    disconnected = conn.dialect.is_disconnect(exc, driver, None)  # type: ignore[arg-type]
    server_lost = disconnected or exc.sqlstate == READ_ONLY
    if server_lost:
        # What SQLAlchemy does on a disconnect it sees itself: this connection and every
        # pooled one opened before now are replaced.
        conn.engine.pool._invalidate(conn.connection, exc)
    if lost or server_lost:
        conn.invalidate(exc)
    return DBAPIError.instance(
        sql, None, exc, psycopg.Error, hide_parameters=True, connection_invalidated=server_lost
    )
