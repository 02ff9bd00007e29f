"""The database role the application runs as: data only, never the schema.

Migrations run as the schema owner (``DATABASE_MIGRATION_URL``); the app and the CLI
connect with ``DATABASE_URL``, which may be a role holding only the grants below.
Ledger rows are append-only for it (``SELECT, INSERT``): no UPDATE, DELETE or
TRUNCATE on postings, journal or provider transactions, and no DDL at all (it owns
nothing, so it cannot ALTER, DROP or disable a trigger). ``wallet db grant-app-role``
applies these grants; a test checks every table is covered, so a new migration's
table without a grant fails.
"""

from __future__ import annotations

import re

from sqlalchemy import Connection, create_engine, make_url, text
from sqlalchemy.pool import NullPool

from app.db import sqlalchemy_url

TABLE_PRIVILEGES: dict[str, str] = {
    "players": "SELECT, INSERT, UPDATE",
    "accounts": "SELECT, INSERT, UPDATE",
    "provider_transactions": "SELECT, INSERT",
    "journal_transactions": "SELECT, INSERT",
    "postings": "SELECT, INSERT",
    "upside_games": "SELECT, INSERT, UPDATE",
    "upside_sessions": "SELECT, INSERT, UPDATE",
    "upside_api_keys": "SELECT, INSERT, UPDATE",
    "upside_used_signatures": "SELECT, INSERT, DELETE",
    "upside_rate_windows": "SELECT, INSERT, UPDATE, DELETE",
    "callbacks": "SELECT, INSERT, DELETE",
    "wallet_settings": "SELECT",
    "player_limits": "SELECT, INSERT, UPDATE, DELETE",
    "limit_usage": "SELECT, INSERT, UPDATE, DELETE",
    "limit_changes": "SELECT, INSERT",
    "player_exclusions": "SELECT, INSERT, UPDATE",
    "balance_snapshots": "SELECT, INSERT, UPDATE, DELETE",
    "balance_snapshot_lines": "SELECT, INSERT, DELETE",
    "balance_snapshot_totals": "SELECT, INSERT, DELETE",
    "alembic_version": "SELECT",
}
_ROLE = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")


def valid_role(role: str) -> bool:
    return bool(_ROLE.fullmatch(role))


def grant_statements(role: str, database: str) -> list[str]:
    """The SQL that gives ``role`` exactly what the wallet needs, nothing more."""
    if not valid_role(role):
        raise ValueError(f"role name {role!r}: use letters, digits and _ (at most 63)")
    quoted_db = '"' + database.replace('"', '""') + '"'
    statements = [
        f"GRANT CONNECT ON DATABASE {quoted_db} TO {role}",
        "REVOKE CREATE ON SCHEMA public FROM PUBLIC",
        f"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {role}",
        f"GRANT USAGE ON SCHEMA public TO {role}",
    ]
    statements += [
        f"GRANT {privileges} ON TABLE {table} TO {role}"
        for table, privileges in TABLE_PRIVILEGES.items()
    ]
    statements.append(f"GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO {role}")
    return statements


def grant(conn: Connection, role: str) -> list[str]:
    """Run the grants as the schema owner; returns the statements run."""
    database = conn.execute(text("SELECT current_database()")).scalar_one()
    statements = grant_statements(role, database)
    for statement in statements:
        conn.execute(text(statement))
    return statements


def grant_as_owner(owner_url: str, role: str) -> list[str]:
    """:func:`grant` on a connection of its own, as the schema owner of ``owner_url``."""
    engine = create_engine(sqlalchemy_url(owner_url), poolclass=NullPool)
    try:
        with engine.begin() as conn:
            return grant(conn, role)
    finally:
        engine.dispose()


def statements_for(url: str, role: str) -> list[str]:
    """:func:`grant_statements` for the database ``url`` names."""
    return grant_statements(role, make_url(sqlalchemy_url(url)).database or "wallet")


def ungranted_tables(conn: Connection) -> list[str]:
    """Tables in ``public`` that :data:`TABLE_PRIVILEGES` does not mention."""
    names = conn.execute(
        text("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1")
    ).scalars()
    return [name for name in names if name not in TABLE_PRIVILEGES]
