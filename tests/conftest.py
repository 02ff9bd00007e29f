"""Fixtures: a real PostgreSQL database (embedded or DATABASE_URL), migrated once per run,
emptied before each test; the ledger is verified after each test."""

from __future__ import annotations

import hashlib
import io
import logging
import os
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from click.testing import CliRunner
from flask import Flask
from flask.cli import ScriptInfo
from sqlalchemy import Engine, text

from app import audit, create_app, embedded, ledger, logs, migrate
from app.cli import cli
from app.db import UnitOfWork
from tests import factories

IGPX_SECRET = "igpx-test-secret"
HYPETECH_SECRET = "hypetech-test-key"
HYPETECH_BASE_URL = "https://wallet.example.com/webhooks"
UPSIDE_JWT_SECRET = "upside-test-jwt-secret-long-enough-for-hs256"
TABLES = (
    "balance_snapshot_lines, balance_snapshot_totals, balance_snapshots, "
    "callbacks, upside_sessions, upside_api_keys, upside_used_signatures, upside_rate_windows, "
    "upside_games, "
    "provider_transactions, journal_transactions, postings, accounts, players"
)


def _test_database_name() -> str:
    """One test database per checkout, so parallel work trees never share one."""
    digest = hashlib.sha256(str(embedded.PROJECT_ROOT).encode()).hexdigest()[:8]
    return f"wallet_test_{digest}"


@pytest.fixture(scope="session")
def database_url() -> str:
    server = os.environ.get("DATABASE_URL") or embedded.server_url()
    name = _test_database_name()
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    url = embedded.with_database(server, name)
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
def app(settings: dict[str, Any]) -> Flask:
    return create_app(settings)


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


@pytest.fixture
def captured_logs() -> Any:
    """Every log line the app writes, rendered exactly as on stderr, at DEBUG."""
    level = logging.getLevelName(logging.getLogger().level)
    stream = io.StringIO()
    logs.configure("DEBUG", stream)
    yield stream
    logs.configure(level)
