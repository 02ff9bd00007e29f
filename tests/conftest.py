"""Fixtures: a real PostgreSQL database (embedded or DATABASE_URL), migrated once per run,
emptied before each test; the ledger is verified after each test. Every database the run
creates is dropped at its end."""

from __future__ import annotations

import hashlib
import io
import logging
import os
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest
from click.testing import CliRunner
from flask import Flask
from flask.cli import ScriptInfo
from sqlalchemy import Engine, text

from app import create_app, logs
from app.cli.main import cli
from app.core import ledger
from app.db import UnitOfWork, embedded, migrate
from app.web import audit
from tests import factories

IGPX_SECRET = "igpx-test-secret"
HYPETECH_SECRET = "hypetech-test-key"
HYPETECH_BASE_URL = "https://wallet.example.com/webhooks"
UPSIDE_JWT_SECRET = "upside-test-jwt-secret-long-enough-for-hs256"
TABLES = (
    "balance_snapshot_lines, balance_snapshot_totals, balance_snapshots, "
    "callbacks, upside_sessions, upside_api_keys, upside_used_signatures, upside_rate_windows, "
    "upside_games, limit_usage, limit_changes, player_limits, player_exclusions, "
    "provider_transactions, journal_transactions, postings, accounts, players"
)


def _test_database_name() -> str:
    """One test database per checkout, so parallel work trees never share one
    (``WALLET_TEST_DATABASE`` names another, for a test that runs the suite itself)."""
    digest = hashlib.sha256(str(embedded.PROJECT_ROOT).encode()).hexdigest()[:8]
    return os.environ.get("WALLET_TEST_DATABASE") or f"wallet_test_{digest}"


@pytest.fixture(scope="session")
def scratch_databases() -> Iterator[Callable[[str], str]]:
    """``create(suffix)``: an empty database named after the test database (plus
    ``_suffix``), and its URL; every one is dropped when the run ends."""
    server = os.environ.get("DATABASE_URL") or embedded.server_url()
    made: list[str] = []

    def create(suffix: str = "") -> str:
        name = "_".join(filter(None, [_test_database_name(), suffix]))
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
        made.append(name)
        return embedded.with_database(server, name)

    yield create
    with psycopg.connect(server, autocommit=True) as conn:
        for name in made:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def database_url(scratch_databases: Callable[[str], str]) -> str:
    url = scratch_databases("")
    migrate.upgrade(url)
    return url


@pytest.fixture(scope="session")
def settings(database_url: str) -> dict[str, Any]:
    return {
        "DATABASE_URL": database_url,
        "IGPX_SECURITY_HASH": IGPX_SECRET,
        "HYPETECH_API_KEY": HYPETECH_SECRET,
        "HYPETECH_WEBHOOK_BASE_URL": HYPETECH_BASE_URL,
        "UPSIDE_JWT_SECRET": UPSIDE_JWT_SECRET,
        "LOG_LEVEL": "WARNING",
        "DB_POOL_SIZE": 16,
    }


@pytest.fixture(scope="session")
def app(settings: dict[str, Any]) -> Iterator[Flask]:
    app = create_app(settings)
    yield app
    audit.flush(app)
    app.extensions["wallet.held"].dispose()
    app.extensions["wallet.engine"].dispose()


@pytest.fixture(scope="session")
def engine(app: Flask) -> Engine:
    return app.extensions["wallet.engine"]


@pytest.fixture(autouse=True)
def _clean_books(request: pytest.FixtureRequest) -> Iterator[None]:
    """Empty the tables before each database test and check the books after it."""
    if "engine" not in request.fixturenames and not _uses_database(request):
        yield
        return
    engine = request.getfixturevalue("engine")
    # The audit writer stores rows up to 100 ms after their answer: the last test's rows
    # go in now, before the tables are emptied, not into this test's tables.
    audit.flush(request.getfixturevalue("app"))
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {TABLES} RESTART IDENTITY CASCADE"))
    factories.bind(engine, request.getfixturevalue("app"))
    yield
    with UnitOfWork(engine) as uow:
        result = ledger.verify(uow.conn)
    assert result.ok, f"ledger does not verify after the test: {result}"


def _uses_database(request: pytest.FixtureRequest) -> bool:
    return bool({"app", "client", "runner", "live_server"} & set(request.fixturenames))


@pytest.fixture
def client(app: Flask) -> Any:
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> Any:
    """Invoke the ``wallet`` CLI against the test app: ``runner(["balance", "p1"])``."""
    cli_runner = CliRunner()

    def invoke(args: list[str], **kwargs: Any) -> Any:
        audit.flush(app)
        return cli_runner.invoke(cli, args, obj=ScriptInfo(create_app=lambda: app), **kwargs)

    return invoke


@pytest.fixture(scope="session")
def live_server(database_url: str, settings: dict[str, Any]) -> Iterator[str]:
    """The product under gunicorn (2 workers × 16 threads) on a free local port."""
    from tests.live import run_gunicorn

    env = {key: str(value) for key, value in settings.items()}
    with run_gunicorn(env) as base_url:
        yield base_url


@pytest.fixture(scope="module")
def node_stringify() -> Iterator[Any]:
    """One Node process answering ``JSON.stringify(JSON.parse(text))`` (tests.node_js)."""
    from tests.node_js import NodeStringify

    node = NodeStringify()
    yield node
    node.close()


@pytest.fixture
def captured_logs() -> Any:
    """Every log line the app writes, rendered exactly as on stderr, at DEBUG."""
    level = logging.getLevelName(logging.getLogger().level)
    stream = io.StringIO()
    logs.configure("DEBUG", stream)
    yield stream
    logs.configure(level)
