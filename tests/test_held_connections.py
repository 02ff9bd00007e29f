"""The connection each thread keeps for one-statement units of work (``db.HeldConnections``):
kept between requests, in autocommit, replaced when broken, given back when its thread
ends, and never left in a transaction."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from psycopg.pq import TransactionStatus
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from app.db import HeldConnections, UnitOfWork, fetch_one, make_engine
from tests.factories import PlayerFactory
from tests.igpx_helpers import bet, post


def _backend(held: HeldConnections, engine: Engine) -> tuple[Any, int]:
    """The driver connection and server process a one-statement unit of work runs on."""
    with UnitOfWork(engine, single_statement=True, held=held) as uow:
        driver = uow.conn.connection.driver_connection
        assert driver.autocommit
        pid = fetch_one(uow.conn, "SELECT pg_backend_pid() AS pid", {}).pid
    return driver, pid


def test_a_thread_keeps_one_connection_between_units_of_work(engine: Engine):
    held = HeldConnections()
    before = engine.pool.checkedout()  # type: ignore[attr-defined]
    first = _backend(held, engine)
    assert _backend(held, engine) == first
    assert engine.pool.checkedout() == before + 1  # type: ignore[attr-defined]
    elsewhere: list[tuple[Any, int]] = []
    other = threading.Thread(target=lambda: elsewhere.append(_backend(held, engine)))
    other.start()
    other.join()
    assert elsewhere[0][1] != first[1], "another thread got the same connection"


def test_a_thread_that_ends_gives_its_connection_back_out_of_autocommit(engine: Engine):
    held = HeldConnections()
    before = engine.pool.checkedout()  # type: ignore[attr-defined]
    drivers: list[Any] = []
    worker = threading.Thread(target=lambda: drivers.append(_backend(held, engine)[0]))
    worker.start()
    worker.join()
    assert engine.pool.checkedout() == before  # type: ignore[attr-defined]
    assert not drivers[0].closed
    assert not drivers[0].autocommit


def test_a_broken_kept_connection_fails_once_and_is_replaced(engine: Engine):
    held = HeldConnections()
    before = engine.pool.checkedout()  # type: ignore[attr-defined]
    _, pid = _backend(held, engine)
    with engine.connect() as admin:
        admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    with pytest.raises(DBAPIError), UnitOfWork(engine, single_statement=True, held=held) as uow:
        fetch_one(uow.conn, "SELECT 1 AS one", {})
    _, replacement = _backend(held, engine)
    assert replacement != pid
    assert engine.pool.checkedout() == before + 1  # type: ignore[attr-defined]


def test_after_dispose_or_with_another_engine_a_thread_gets_a_new_connection(app, engine: Engine):
    held = HeldConnections()
    before = engine.pool.checkedout()  # type: ignore[attr-defined]
    _, first = _backend(held, engine)
    held.dispose()
    assert engine.pool.checkedout() == before  # type: ignore[attr-defined]
    _, second = _backend(held, engine)
    assert second != first
    other = make_engine(app.config["DATABASE_URL"], pool_size=1)
    try:
        _, third = _backend(held, other)
        assert engine.pool.checkedout() == before  # type: ignore[attr-defined]
        assert third != second
    finally:
        held.dispose()
        other.dispose()


def test_sqlalchemy_queries_and_failures_leave_no_transaction_behind(engine: Engine):
    """A query through the SQLAlchemy connection begins SQLAlchemy's transaction (in
    autocommit it holds nothing on the server); the unit of work ends it, and a unit of
    work that raised still leaves a reusable connection."""
    held = HeldConnections()
    with UnitOfWork(engine, single_statement=True, held=held) as uow:
        uow.conn.execute(text("SELECT 1"))
        assert uow.conn.in_transaction()
    assert not uow.conn.in_transaction()
    with pytest.raises(RuntimeError), UnitOfWork(engine, single_statement=True, held=held) as uow:
        uow.conn.execute(text("SELECT 1"))
        raise RuntimeError("the work failed")
    driver = uow.conn.connection.driver_connection
    assert not uow.conn.in_transaction()
    assert driver.info.transaction_status == TransactionStatus.IDLE
    assert _backend(held, engine)[0] is driver


def test_callbacks_run_on_the_kept_connection(app, client, engine: Engine):
    """Bets from one thread run on that thread's kept connection, which stays checked out
    (and the pool lends no other) from one answer to the next."""
    player = PlayerFactory(balance="50.00")
    assert post(client, "transaction", bet("held-bet-1", player, "1.00"))["error"] is None
    in_use = engine.pool.checkedout()  # type: ignore[attr-defined]
    assert post(client, "transaction", bet("held-bet-2", player, "1.00"))["error"] is None
    assert engine.pool.checkedout() == in_use  # type: ignore[attr-defined]
    kept = app.extensions["wallet.held"].get(engine).connection.driver_connection
    with engine.connect() as admin:
        last = admin.execute(
            text("SELECT query FROM pg_stat_activity WHERE pid = :pid"),
            {"pid": kept.info.backend_pid},
        ).scalar_one()
    assert "wallet_transfer" in last
