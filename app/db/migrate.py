"""Schema migrations, run programmatically (``wallet db upgrade``) and checked by /readyz;
``wallet dev reset`` empties the tables and migrates."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.pool import NullPool

from app.db import sqlalchemy_url

ROOT = Path(__file__).resolve().parents[2]


def alembic_config(database_url: str) -> Config:
    config = Config(str(ROOT / "alembic.ini"))
    config.attributes["database_url"] = database_url
    return config


def upgrade(database_url: str) -> None:
    command.upgrade(alembic_config(database_url), "head")


def head_revision() -> str | None:
    script = ScriptDirectory.from_config(Config(str(ROOT / "alembic.ini")))
    return script.get_current_head()


def is_current(engine: Engine) -> bool:
    with engine.connect() as conn:
        current = MigrationContext.configure(conn).get_current_revision()
    return current == head_revision()


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
