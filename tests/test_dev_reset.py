"""``wallet dev reset``: development data emptied and the schema kept, never in
production, never without a yes."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import text

from app.cli import db as db_cli
from app.config import ConfigError, load_config
from app.db import migrate
from tests import upside_helpers as up
from tests.factories import PlayerFactory, run_committed

COUNTS = text(
    "SELECT (SELECT count(*) FROM players), (SELECT count(*) FROM postings), "
    "(SELECT count(*) FROM upside_games)"
)


def counts() -> tuple[int, ...]:
    return tuple(run_committed(lambda conn: conn.execute(COUNTS).one()))


@pytest.fixture
def data() -> tuple[int, ...]:
    PlayerFactory(id="sim-155b7f", balance="10")
    up.make_game()
    return counts()


def test_reset_empties_every_table_and_keeps_the_schema(runner, data):
    assert 0 not in data
    result = runner(["dev", "reset", "--yes"])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("database wallet_test_")
    assert counts() == (0, 0, 0)
    revision = run_committed(
        lambda conn: conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    )
    assert revision == migrate.head_revision()
    assert json.loads(runner(["ledger", "verify", "--json"]).stdout)["ok"] is True
    assert runner(["players", "create", "sim-155b7f", "--currency", "USD"]).exit_code == 0


def test_reset_is_refused_in_production(app, runner, data, monkeypatch):
    monkeypatch.setitem(app.config, "WALLET_ENV", "production")
    result = runner(["dev", "reset", "--yes"])
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == [
        "Error: WALLET_ENV is production: dev reset empties development databases only"
    ]
    assert counts() == data


def test_reset_without_yes_refuses_when_nobody_can_answer(runner, data):
    result = runner(["dev", "reset"])
    assert result.exit_code == 1
    assert len(result.stderr.strip().splitlines()) == 1
    assert "add --yes" in result.stderr
    assert counts() == data


def test_reset_without_yes_asks_first(runner, data, monkeypatch):
    monkeypatch.setattr(db_cli, "can_ask", lambda: True)
    declined = runner(["dev", "reset"], input="n\n")
    assert declined.exit_code == 1
    assert counts() == data
    accepted = runner(["dev", "reset"], input="y\n")
    assert accepted.exit_code == 0, accepted.output
    assert "Delete every row in database wallet_test_" in accepted.stderr
    assert counts() == (0, 0, 0)


def test_wallet_env_is_development_unless_set_to_production():
    assert load_config({}, providers=())["WALLET_ENV"] == "development"
    assert load_config({"WALLET_ENV": "Production"}, providers=())["WALLET_ENV"] == "production"
    with pytest.raises(ConfigError, match="WALLET_ENV must be development or production"):
        load_config({"WALLET_ENV": "staging"}, providers=())
