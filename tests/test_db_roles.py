"""The app runs as a data-only role: it moves money, and cannot change the schema."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import psycopg
import pytest
from sqlalchemy import make_url, text

from app import create_app
from app.db import embedded
from app.db import roles as db_roles
from tests import igpx_helpers
from tests.factories import PlayerFactory, close_app, run_committed


@pytest.fixture(scope="module")
def app_role(database_url: str) -> Iterator[str]:
    """A login role with only the grants `wallet db grant-app-role` gives (one per checkout)."""
    role = "wallet_app_" + hashlib.sha256(str(embedded.PROJECT_ROOT).encode()).hexdigest()[:8]
    with psycopg.connect(database_url, autocommit=True) as conn:
        _drop(conn, role)
        conn.execute(f"CREATE ROLE {role} LOGIN")
    yield role
    with psycopg.connect(database_url, autocommit=True) as conn:
        _drop(conn, role)


def _drop(conn: psycopg.Connection, role: str) -> None:
    exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role]).fetchone()
    if exists:
        conn.execute(f"DROP OWNED BY {role}")
        conn.execute(f"DROP ROLE {role}")


def _as_role(database_url: str, role: str) -> str:
    return make_url(database_url).set(username=role).render_as_string(hide_password=False)


def test_every_table_has_a_grant(engine):
    with engine.connect() as conn:
        assert db_roles.ungranted_tables(conn) == []


def test_the_app_role_moves_money_and_cannot_alter_the_schema(
    runner, settings, database_url, app_role
):
    granted = runner(["db", "grant-app-role", app_role])
    assert granted.exit_code == 0, granted.output

    app = create_app({**settings, "DATABASE_URL": _as_role(database_url, app_role)})
    with app.app_context():
        engine = app.extensions["wallet.engine"]
        with engine.connect() as conn:
            assert conn.execute(text("SELECT current_user")).scalar_one() == app_role
    player = PlayerFactory()
    client = app.test_client()
    answer = igpx_helpers.post(client, "transaction", igpx_helpers.bet("r-1", player, "10.00"))
    assert answer["error"] is None
    assert client.get("/readyz").status_code == 200

    for ddl in (
        "CREATE TABLE intruder (id int)",
        "ALTER TABLE postings DROP CONSTRAINT ck_postings_amount_not_zero",
        "ALTER TABLE postings DISABLE TRIGGER USER",
        "DROP TABLE callbacks",
        "TRUNCATE postings",
        "UPDATE postings SET amount = amount",
        "DELETE FROM provider_transactions",
    ):
        with engine.connect() as conn, pytest.raises(Exception, match="permission denied|owner"):
            conn.execute(text(ddl))
    close_app(app)
    assert run_committed(lambda conn: conn.execute(text("SELECT count(*) FROM postings")))


def test_grant_sql_can_be_printed_for_a_dba(runner):
    printed = runner(["db", "grant-app-role", "wallet_app", "--sql"])
    assert printed.exit_code == 0
    assert "GRANT SELECT, INSERT ON TABLE postings TO wallet_app;" in printed.output
    refused = runner(["db", "grant-app-role", "bad; DROP TABLE x"])
    assert refused.exit_code == 1 and "role name" in refused.output


def test_upgrade_runs_as_the_migration_url(runner, app, monkeypatch, database_url):
    used: list[str] = []
    monkeypatch.setattr("app.db.migrate.upgrade", lambda url: used.append(url) or [])
    monkeypatch.setattr("app.cli.limits.store_timezone", lambda url, zone: used.append(url))
    monkeypatch.setitem(app.config, "DATABASE_MIGRATION_URL", database_url + "?owner=1")
    assert runner(["db", "upgrade"]).exit_code == 0
    assert used == [database_url + "?owner=1"] * 2  # the schema, then LIMITS_TIMEZONE
