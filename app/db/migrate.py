"""Schema migrations, run programmatically (``wallet db upgrade``) and checked by /readyz;
``wallet dev reset`` empties the tables and migrates."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, pool, text
from sqlalchemy.pool import NullPool

from app.db import sqlalchemy_url

ROOT = Path(__file__).resolve().parents[2]


def alembic_config(database_url: str) -> Config:
    config = Config(str(ROOT / "alembic.ini"))
    config.attributes["database_url"] = database_url
    return config


def upgrade(database_url: str) -> list[str]:
    """Apply every pending migration; return them, oldest first, as ``"0007 what it does"``."""
    engine = create_engine(sqlalchemy_url(database_url), poolclass=pool.NullPool)
    try:
        before = current_revision(engine)
    finally:
        engine.dispose()
    pending = list(_script().iterate_revisions("head", before or "base"))
    command.upgrade(alembic_config(database_url), "head")
    return [f"{revision.revision} {revision.doc}" for revision in reversed(pending)]


def _script() -> ScriptDirectory:
    return ScriptDirectory.from_config(Config(str(ROOT / "alembic.ini")))


def head_revision() -> str | None:
    return _script().get_current_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def is_current(engine: Engine) -> bool:
    return current_revision(engine) == head_revision()


def reset(database_url: str) -> list[str]:
    """Empty every table of the schema but alembic's, then upgrade: the data is gone, the
    schema and its grants stay. Returns the tables emptied."""
    engine = create_engine(sqlalchemy_url(database_url), poolclass=NullPool)
    try:
        with engine.begin() as conn:
            tables = list(conn.execute(text(_TABLES)).scalars())
            if tables:
                conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
    finally:
        engine.dispose()
    upgrade(database_url)
    return tables


_TABLES = """
SELECT format('%I', tablename) FROM pg_tables
WHERE schemaname = current_schema() AND tablename <> 'alembic_version' ORDER BY 1
"""
