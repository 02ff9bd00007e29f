"""Fixtures of the failover tests (``make test-ha``; left out of ``make test``): a primary
and a synchronous hot standby (tests/ha/pair.py) holding the wallet's database, its
players, and the product under gunicorn with a two-host ``DATABASE_URL``, shared by the
tests of a module."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from click.testing import CliRunner, Result
from flask.cli import ScriptInfo
from sqlalchemy import Engine, text

from app import create_app
from app.cli.main import cli
from app.config import load_config
from app.db import make_engine, migrate
from tests import factories
from tests.conftest import HYPETECH_BASE_URL, HYPETECH_SECRET, IGPX_SECRET, UPSIDE_JWT_SECRET
from tests.factories import PlayerFactory, close_app
from tests.ha.pair import Pair
from tests.live import Server, start_gunicorn

WALLET = "wallet"
OPENING = Decimal("100000.00")
SCARCE_OPENING = Decimal("5.00")
WORKERS, THREADS = 2, 4
BUDGET_MS = 2000


@pytest.fixture(scope="module")
def pair() -> Iterator[Pair]:
    built = Pair.create()
    try:
        built.primary.execute(f"CREATE DATABASE {WALLET}")
        migrate.upgrade(built.url(WALLET))
        built.make_synchronous()
        yield built
    finally:
        built.destroy()


@pytest.fixture(scope="module")
def books(pair: Pair) -> Iterator[Engine]:
    """An engine on whichever node is the primary, for the players and the checks."""
    engine = make_engine(pair.url(WALLET), pool_size=2)
    factories.bind(engine)
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def players(books: Engine) -> dict[str, Decimal]:
    """Player → opening balance: ten who can pay for anything, two who run out (declines)."""
    opening = {PlayerFactory(balance=OPENING): OPENING for _ in range(10)}
    opening |= {PlayerFactory(balance=SCARCE_OPENING): SCARCE_OPENING for _ in range(2)}
    return opening


def product_env(pair: Pair, **extra: str) -> dict[str, str]:
    return {
        "DATABASE_URL": pair.url(WALLET),
        "IGPX_SECURITY_HASH": IGPX_SECRET,
        "HYPETECH_API_KEY": HYPETECH_SECRET,
        "HYPETECH_WEBHOOK_BASE_URL": HYPETECH_BASE_URL,
        "UPSIDE_JWT_SECRET": UPSIDE_JWT_SECRET,
        "REQUEST_BUDGET_MS": str(BUDGET_MS),
        "LOG_LEVEL": "WARNING",
        **extra,
    }


@pytest.fixture(scope="module")
def service(pair: Pair, players: dict[str, Decimal]) -> Iterator[Server]:
    with start_gunicorn(product_env(pair), workers=WORKERS, threads=THREADS) as server:
        yield server


def wallet_cli(url: str, *args: str, **env: str) -> Result:
    """The ``wallet`` command with ``DATABASE_URL`` ``url`` (in this process: a new one
    takes seconds to start on a loaded machine)."""
    app = create_app(load_config({"DATABASE_URL": url, "LOG_LEVEL": "WARNING", **env}))
    try:
        return CliRunner().invoke(cli, list(args), obj=ScriptInfo(create_app=lambda: app))
    finally:
        replica = app.extensions.get("wallet.read_only_database")
        if replica is not None:
            replica.engine.dispose()
        close_app(app)


def igpx_bets(engine: Engine) -> dict[str, dict[str, Any]]:
    """Every IGPX bet the primary holds: status, player and its journal transactions."""
    query = text(
        "SELECT t.external_id, t.status, t.player_id, count(j.id) AS journals "
        "FROM provider_transactions t LEFT JOIN journal_transactions j "
        "ON j.provider_transaction_id = t.id "
        "WHERE t.provider = 'igpx' AND t.kind = 'bet' GROUP BY t.id"
    )
    with engine.connect() as conn:
        return {row.external_id: dict(row._mapping) for row in conn.execute(query)}


def balances(engine: Engine) -> dict[str, Decimal]:
    query = text("SELECT player_id, balance FROM accounts WHERE player_id IS NOT NULL")
    with engine.connect() as conn:
        return {row.player_id: row.balance for row in conn.execute(query)}
