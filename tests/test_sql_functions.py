"""The money rules live once, in app/core/sql/: what PostgreSQL runs is what the files say,
and ``ledger_post`` is the only code that writes journal transactions and postings."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import text

from app.core import sql

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("name", sql.FUNCTIONS)
def test_the_installed_function_is_the_file(engine, name):
    with engine.connect() as conn:
        installed = conn.execute(
            text("SELECT prosrc FROM pg_proc WHERE proname = :name"), {"name": name}
        ).scalar_one()
    assert installed == sql.body(name)


@pytest.mark.parametrize("name", sql.FUNCTIONS)
def test_the_installed_function_has_the_files_settings(engine, name):
    """``SET`` clauses (the money functions' generic plans) are installed as written."""
    header = sql.source(name).split("$$", 1)[0]
    declared = sorted(f"{k}={v}" for k, v in re.findall(r"^SET (\w+) = (\w+)$", header, re.M))
    with engine.connect() as conn:
        installed = conn.execute(
            text("SELECT coalesce(proconfig, '{}') FROM pg_proc WHERE proname = :name"),
            {"name": name},
        ).scalar_one()
    assert sorted(installed) == declared
    if name in ("wallet_transfer", "wallet_rollback"):
        assert declared == ["plan_cache_mode=force_generic_plan"]


def test_only_ledger_post_writes_journal_rows():
    """Every other file that would insert a journal transaction or a posting is a second
    writer of the books (migrations included: they install the files)."""
    writes = re.compile(r"INSERT\s+INTO\s+(journal_transactions|postings)\b", re.IGNORECASE)
    writers = sorted(
        str(path.relative_to(ROOT))
        for folder in ("app", "migrations")
        for path in (ROOT / folder).rglob("*")
        if path.suffix in {".py", ".sql"} and writes.search(path.read_text())
    )
    assert writers == ["app/core/sql/ledger_post.sql"]
