"""REQUEST_BUDGET_MS: a callback answers within its budget, or with the provider's
internal error (nothing committed, so the provider's retry is safe)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from psycopg.pq import TransactionStatus
from sqlalchemy import Engine, text

from app import create_app
from app.config import ConfigError, load_config
from app.db import UnitOfWork, budget
from tests import hypetech_helpers
from tests.factories import PlayerFactory, balance, close_app
from tests.igpx_helpers import bet, post


def test_database_timeouts_are_derived_from_the_budget():
    config = load_config({"REQUEST_BUDGET_MS": "800"})
    assert (config["DB_LOCK_TIMEOUT_MS"], config["DB_STATEMENT_TIMEOUT_MS"]) == (400, 600)
    defaults = load_config({})
    assert defaults["REQUEST_BUDGET_MS"] == 2000
    assert (defaults["DB_LOCK_TIMEOUT_MS"], defaults["DB_STATEMENT_TIMEOUT_MS"]) == (1000, 1500)


def test_database_timeouts_must_fit_inside_the_budget():
    with pytest.raises(ConfigError) as raised:
        load_config(
            {
                "REQUEST_BUDGET_MS": "1000",
                "DB_LOCK_TIMEOUT_MS": "1000",
                "DB_STATEMENT_TIMEOUT_MS": "0",
            }
        )
    lines = str(raised.value).splitlines()
    assert [line.split()[0] for line in lines] == ["DB_LOCK_TIMEOUT_MS", "DB_STATEMENT_TIMEOUT_MS"]
    with pytest.raises(ConfigError, match="REQUEST_BUDGET_MS must be between"):
        load_config({"REQUEST_BUDGET_MS": "5"})


def test_a_transaction_late_in_the_budget_gets_what_is_left(engine: Engine):
    budget.start(300, 750, 500)
    try:
        with UnitOfWork(engine) as uow:
            statement = uow.conn.execute(text("SHOW statement_timeout")).scalar_one()
            lock = uow.conn.execute(text("SHOW lock_timeout")).scalar_one()
        budget.start(0, 750, 500)
        with pytest.raises(budget.BudgetExceeded), UnitOfWork(engine):
            pass
    finally:
        budget.clear()
    assert statement == lock
    assert 0 < int(statement.removesuffix("ms")) <= 300


def test_a_single_statement_late_in_the_budget_runs_in_a_transaction(engine: Engine):
    """Autocommit cannot take SET LOCAL timeouts: with little time left, the one-statement
    path runs in a transaction so the shorter timeouts still apply."""
    budget.start(300, 750, 500)
    try:
        with UnitOfWork(engine, single_statement=True) as uow:
            statement = uow.conn.execute(text("SHOW statement_timeout")).scalar_one()
            run_committed = uow.conn.connection.driver_connection.info.transaction_status
    finally:
        budget.clear()
    assert 0 < int(statement.removesuffix("ms")) <= 300
    assert run_committed == TransactionStatus.INTRANS


def test_the_pool_gets_its_connections_back_out_of_autocommit(engine: Engine):
    """A one-statement unit of work switches its connection to autocommit and back, so
    the next unit of work that gets it from the pool is a transaction again."""
    with UnitOfWork(engine, single_statement=True) as uow:
        driver = uow.conn.connection.driver_connection
        assert driver.autocommit
        uow.conn.execute(text("SELECT 1"))
        assert driver.info.transaction_status == TransactionStatus.IDLE  # committed at once
    assert not driver.autocommit
    with pytest.raises(RuntimeError), UnitOfWork(engine, single_statement=True) as uow:
        raise RuntimeError("the work failed")
    assert [driver for driver in _pooled(engine) if driver.autocommit] == []


def _pooled(engine: Engine) -> list[Any]:
    """The psycopg connections the pool holds now (all checked out, then returned)."""
    held = [engine.raw_connection() for _ in range(engine.pool.checkedin())]  # type: ignore[attr-defined]
    drivers = [connection.driver_connection for connection in held]
    for connection in held:
        connection.close()
    return drivers


@pytest.fixture(scope="module")
def tight_app(settings: dict[str, Any]) -> Iterator[Any]:
    """The product with a 400 ms budget: row locks are waited for at most 200 ms."""
    app = create_app(
        {
            **settings,
            "REQUEST_BUDGET_MS": 400,
            "DB_LOCK_TIMEOUT_MS": 200,
            "DB_STATEMENT_TIMEOUT_MS": 300,
        }
    )
    yield app
    close_app(app)


@contextmanager
def row_locked(engine: Engine, player: str) -> Iterator[None]:
    """Hold the player's account row lock, as a stuck concurrent request would."""
    with engine.connect() as conn, conn.begin():
        conn.execute(text("SELECT 1 FROM accounts WHERE player_id = :p FOR UPDATE"), {"p": player})
        yield


def test_a_callback_stuck_on_a_lock_answers_internal_error_within_the_budget(tight_app, engine):
    client = tight_app.test_client()
    player = PlayerFactory(balance="10.00")
    with row_locked(engine, player):
        started = time.monotonic()
        stuck = post(client, "transaction", bet("slow-1", player, "1"))
        elapsed = time.monotonic() - started
        refused = hypetech_helpers.send(
            client, "register", hypetech_helpers.bet("h-1", player, "1")
        )
    assert stuck == {"error": "INTERNAL_ERROR"}
    assert refused.status_code == 503
    assert elapsed < 1.5  # the 400 ms budget, with room for a slow shared machine
    assert balance(player) == 10
    assert post(client, "transaction", bet("slow-1", player, "1"))["error"] is None
    assert balance(player) == 9
