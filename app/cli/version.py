"""``wallet --version``: the wallet's version, and with ``--json`` every version support
asks for: Python, the libraries that serve and store money, the PostgreSQL server and
the schema's migration (the code's head and the database's)."""

from __future__ import annotations

import json
import platform
from importlib.metadata import version
from typing import Any

import click

PACKAGE = "seamless-wallet"
LIBRARIES = ("flask", "sqlalchemy", "psycopg", "gunicorn")
CONNECT_TIMEOUT_S = 2  # libpq's shortest


def print_version(as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(versions()))
    else:
        click.echo(f"wallet {version(PACKAGE)}")


def versions() -> dict[str, Any]:
    found: dict[str, Any] = {"wallet": version(PACKAGE), "python": platform.python_version()}
    found.update((library, version(library)) for library in LIBRARIES)
    return {**found, **_database()}


def _database() -> dict[str, str | None]:
    """The migration head, and the server's version and the database's migration when
    ``DATABASE_URL`` answers within a couple of seconds. With no ``DATABASE_URL`` the
    embedded server is not started just to be asked."""
    import psycopg

    from app.config import ConfigError, load_config
    from app.db import migrate

    found: dict[str, str | None] = {
        "migration_head": migrate.head_revision(),
        "postgresql": None,
        "database_revision": None,
    }
    try:
        url = load_config(providers=())["DATABASE_URL"]
    except ConfigError:
        url = None
    if not url:
        return found
    try:
        with psycopg.connect(url, connect_timeout=CONNECT_TIMEOUT_S, autocommit=True) as conn:
            found["postgresql"] = _one(conn, "SHOW server_version")
            found["database_revision"] = _one(conn, "SELECT version_num FROM alembic_version")
    except psycopg.Error:
        pass  # unreachable, or not migrated: what was found is shown
    return found


def _one(conn: Any, query: str) -> str | None:
    row = conn.execute(query).fetchone()
    return None if row is None else str(row[0])
