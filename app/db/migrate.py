"""Schema migrations, run programmatically (``wallet db upgrade``) and checked by /readyz."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

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
