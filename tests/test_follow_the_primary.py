"""The database side of a failover, without a standby (tests/ha/ runs the real one):
multi-host URLs reach libpq unchanged, a lost or read-only server's connections are
replaced, a commit PostgreSQL only warned about is an unknown outcome, and a statement
still running at the end of its request's budget is cancelled, the audit trail's writer
carries on after its connection was lost, and reports read the replica while callbacks
never do."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import psycopg
import pytest
from click.testing import CliRunner
from flask.cli import ScriptInfo
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError, OperationalError

from app import create_app
from app.cli.main import cli
from app.db import (
    CommitUnconfirmed,
    HeldConnections,
    UnitOfWork,
    budget,
    fetch_one,
    make_engine,
    migrate,
    replication,
    sqlalchemy_url,
)
from app.web import audit, callbacks
from tests import hypetech_helpers, upside_helpers
from tests.factories import PlayerFactory, balance, close_app
from tests.igpx_helpers import bet, post


def two_hosts(url: str) -> str:
    """``url``'s server behind a first host where nothing listens, in libpq's multi-host
    form (a Unix socket directory percent-encoded, as libpq reads it)."""
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    host = quote(query["host"][0], safe="") if "host" in query else parts.hostname
    port = query.get("port", [str(parts.port or 5432)])[0]
    hosts = f"127.0.0.1:1,{host}:{port}"
    return f"postgresql://{parts.username}@{hosts}{parts.path}?target_session_attrs=read-write"


def test_sqlalchemy_reads_a_multi_host_url_from_its_query():
    url = "postgresql://wallet:pw@h1:5432,h2:5433/wallet?target_session_attrs=read-write"
    assert sqlalchemy_url(url) == (
        "postgresql+psycopg://wallet:pw@/wallet?host=h1:5432&host=h2:5433"
        "&target_session_attrs=read-write"
    )
    single = "postgresql://wallet@/wallet?host=/run/postgresql"
    assert sqlalchemy_url(single) == "postgresql+psycopg://wallet@/wallet?host=/run/postgresql"
    unnamed = "postgresql://wallet@h1,h2/wallet"
    assert sqlalchemy_url(unnamed) == (
        "postgresql+psycopg://wallet@/wallet?host=h1&host=h2&target_session_attrs=read-write"
    )


def test_the_engine_hands_libpq_the_url_as_given(database_url, monkeypatch):
    url = two_hosts(database_url)
    given: list[tuple[str, Any]] = []
    connect = psycopg.Connection.connect

    def spy(conninfo: str = "", **kwargs: Any) -> Any:
        given.append((conninfo, kwargs.get("target_session_attrs")))
        return connect(conninfo, **kwargs)

    monkeypatch.setattr(psycopg.Connection, "connect", spy)
    engine = make_engine(url, pool_size=1)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SELECT current_database()")).scalar_one() in url
    finally:
        engine.dispose()
    unnamed = url.replace("?target_session_attrs=read-write", "")
    engine = make_engine(unnamed.replace("postgresql://", "postgresql+psycopg://"), pool_size=1)
    try:
        engine.connect().close()
    finally:
        engine.dispose()
    assert given == [(url, None), (unnamed, "read-write")]  # several hosts: the primary


def test_libpq_skips_a_host_that_does_not_answer_for_callbacks_and_migrations(
    database_url, settings, engine
):
    url = two_hosts(database_url)
    migrate.upgrade(url)  # the `wallet db upgrade` path: SQLAlchemy's own parse of the URL
    app = create_app({**settings, "DATABASE_URL": url})
    try:
        player = PlayerFactory(balance="10.00")
        answer = post(app.test_client(), "transaction", bet("multi-host-1", player, "1"))
        assert answer["error"] is None
        assert app.test_client().get("/readyz").status_code == 200
    finally:
        close_app(app)
    assert balance(player) == 9


def _warn_at_commit(conn: Any) -> None:
    """A function that warns as PostgreSQL does when a wait for the synchronous standby
    is cancelled (same SQLSTATE, 01000)."""
    conn.execute(
        text(
            "CREATE OR REPLACE FUNCTION pg_temp.sync_wait_cancelled() RETURNS int LANGUAGE plpgsql "
            "AS $$ BEGIN RAISE WARNING 'canceling wait for synchronous replication due to "
            "user request'; RETURN 1; END $$"
        )
    )


def test_a_statement_that_committed_with_a_warning_has_an_unknown_outcome(engine: Engine):
    held = HeldConnections()
    with UnitOfWork(engine, single_statement=True, held=held) as uow:
        _warn_at_commit(uow.conn)
    with (
        pytest.raises(CommitUnconfirmed) as raised,
        UnitOfWork(engine, single_statement=True, held=held) as uow,
    ):
        fetch_one(uow.conn, "SELECT pg_temp.sync_wait_cancelled() AS one", {})
    assert isinstance(raised.value, OperationalError)  # every provider's internal error
    with UnitOfWork(engine, single_statement=True, held=held) as uow:
        assert fetch_one(uow.conn, "SELECT 1 AS one", {}).one == 1  # the connection is fine
    held.dispose()


def test_a_warning_before_the_commit_does_not_make_the_commit_unknown(engine: Engine):
    with UnitOfWork(engine) as uow:
        _warn_at_commit(uow.conn)
        fetch_one(uow.conn, "SELECT pg_temp.sync_wait_cancelled() AS one", {})
        uow.commit()


def test_a_statement_still_running_at_the_end_of_its_budget_is_cancelled(engine: Engine):
    held = HeldConnections()
    budget.start(1000, 100, 100)  # the connection's own statement_timeout is longer
    started = time.monotonic()
    try:
        with (
            pytest.raises(DBAPIError) as raised,
            UnitOfWork(engine, single_statement=True, held=held) as uow,
        ):
            fetch_one(uow.conn, "SELECT pg_sleep(5) AS slept", {})
    finally:
        budget.clear()
        held.dispose()
    assert raised.value.orig.sqlstate == "57014"  # query_canceled
    assert 0.85 < time.monotonic() - started < 1.5


def _kept_backend(held: HeldConnections, engine: Engine) -> int:
    with UnitOfWork(engine, single_statement=True, held=held) as uow:
        return int(fetch_one(uow.conn, "SELECT pg_backend_pid() AS pid", {}).pid)


def test_once_a_kept_connection_is_found_broken_every_thread_replaces_its_own(engine: Engine):
    held = HeldConnections()
    mine = _kept_backend(held, engine)
    theirs: list[int] = []
    go, done = threading.Event(), threading.Event()

    def other_thread() -> None:
        theirs.append(_kept_backend(held, engine))
        done.set()
        go.wait(10)
        theirs.append(_kept_backend(held, engine))

    thread = threading.Thread(target=other_thread)
    thread.start()
    done.wait(10)
    with engine.connect() as admin:  # as a server restart or a failover would
        admin.execute(text("SELECT pg_terminate_backend(:a)"), {"a": mine})
        admin.execute(text("SELECT pg_terminate_backend(:b)"), {"b": theirs[0]})
    with pytest.raises(DBAPIError), UnitOfWork(engine, single_statement=True, held=held) as uow:
        fetch_one(uow.conn, "SELECT 1 AS one", {})  # the first to notice fails once
    go.set()
    thread.join(10)
    assert len(theirs) == 2 and theirs[1] != theirs[0], "the other thread failed or kept it"
    held.dispose()


def test_a_server_found_read_only_is_a_lost_connection(engine: Engine):
    held = HeldConnections()
    with UnitOfWork(engine, single_statement=True, held=held) as uow:
        uow.conn.execute(text("SET default_transaction_read_only = on"))  # as on a standby
        pid = fetch_one(uow.conn, "SELECT pg_backend_pid() AS pid", {}).pid
    with (
        pytest.raises(DBAPIError) as raised,
        UnitOfWork(engine, single_statement=True, held=held) as uow,
    ):
        fetch_one(uow.conn, "CREATE TEMPORARY SEQUENCE written", {})
    assert raised.value.orig.sqlstate == "25006" and raised.value.connection_invalidated
    assert _kept_backend(held, engine) != pid
    with engine.connect() as conn:
        conn.execute(text("SET TRANSACTION READ ONLY"))
        with pytest.raises(DBAPIError) as raised:
            conn.execute(text("CREATE TEMPORARY SEQUENCE written"))
        assert raised.value.connection_invalidated
    held.dispose()


def _audit_entry(request_id: str) -> callbacks.Entry:
    return callbacks.Entry(
        received_at=datetime.now(UTC),
        request_id=request_id,
        provider="igpx",
        method="POST",
        route="/igpx/transaction",
        remote_addr=None,
        headers={},
        body=b"{}",
        body_note=None,
        status=200,
        answer="{}",
        outcome="ok",
        latency_ms=1.0,
    )


def test_the_audit_writer_keeps_a_batch_its_connection_lost_and_stores_it_on_a_new_one(
    database_url, engine: Engine
):
    separator = "&" if "?" in database_url else "?"
    writer_engine = make_engine(f"{database_url}{separator}application_name=audit-under-test")
    writer = audit.AuditWriter(writer_engine, interval_s=0.05)
    writer.submit(_audit_entry("before"))
    writer.flush(10)
    with engine.connect() as admin:  # as a failover would
        admin.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE application_name = 'audit-under-test'"
            )
        )
    writer.submit(_audit_entry("after"))
    writer.flush(10)
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT request_id FROM callbacks ORDER BY id")).scalars()
        assert list(stored) == ["before", "after"]


def test_reports_read_the_replica_and_callbacks_never_do(settings, engine):
    unreachable = "postgresql://nobody@127.0.0.1:1/replica"
    app = create_app({**settings, "DATABASE_REPLICA_URL": unreachable})
    try:
        player = PlayerFactory(balance="10.00")
        assert post(app.test_client(), "transaction", bet("r1", player, "1"))["error"] is None
        obj = ScriptInfo(create_app=lambda: app)
        ggr = ["report", "ggr", "--from", "2026-01-01", "--to", "2026-01-02"]
        report = CliRunner().invoke(cli, ggr, obj=obj)
        assert report.exit_code == 1 and "database error" in report.output
        assert CliRunner().invoke(cli, ["balance", player, "--json"], obj=obj).exit_code == 0
    finally:
        close_app(app)


def _warned(info: Any, sql: str) -> None:
    """What a commit whose wait for the synchronous standby was cancelled comes back as:
    committed, with a warning."""
    raise CommitUnconfirmed(sql, None, psycopg.OperationalError("canceling wait"))


def test_an_unconfirmed_bet_is_an_internal_error_and_its_retry_replays_it(client, monkeypatch):
    player = PlayerFactory(balance="10.00", currencies=("USD", "BRL"))
    hypetech_bet = hypetech_helpers.bet("unconfirmed-2", player, "1", currency="BRL")
    monkeypatch.setattr(replication, "confirm_commit", _warned)
    assert post(client, "transaction", bet("unconfirmed-1", player, "1")) == {
        "error": "INTERNAL_ERROR"
    }
    assert hypetech_helpers.send(client, "register", hypetech_bet).status_code == 503
    monkeypatch.undo()
    retried = post(client, "transaction", bet("unconfirmed-1", player, "1"))
    assert retried["error"] is None
    assert hypetech_helpers.ok(client, "register", hypetech_bet)["new_balance"] == "9.00"
    assert (balance(player), balance(player, "BRL")) == (9, 9)  # each applied once


def test_an_unconfirmed_upside_bet_is_503(client, monkeypatch):
    upside_helpers.make_game()
    player = upside_helpers.make_player(win=100)
    worker, jwt = upside_helpers.make_key(), upside_helpers.token(player)
    monkeypatch.setattr(replication, "confirm_commit", _warned)
    error = upside_helpers.refused(client, worker, jwt, upside_helpers.bet("u-1"), 503)
    assert error["code"] == "INTERNAL_ERROR"
