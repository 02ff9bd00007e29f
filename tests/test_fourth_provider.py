"""A fourth provider is one package plus one registry line.

The toy provider (tests/toy_provider.py) is defined in the test suite and registered
with one line, ``providers=(*PROVIDERS, toy.PROVIDER)``; nothing in ``app/`` names it.
From the registry alone it gets its route, its settings (with a rotating secret), its
OpenAPI entry, its signature header redacted in the audit trail, the provider contract
tests, a ``wallet simulate`` run and ``wallet reconcile`` of its report.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.cli import ScriptInfo
from sqlalchemy import select
from werkzeug.serving import make_server

from app import create_app
from app.cli.main import cli
from app.config import load_config
from app.providers import NAMES, PROVIDERS
from app.web import audit, callbacks
from tests import toy_provider as toy
from tests.factories import PlayerFactory, balance, run_committed
from tests.test_provider_contract import (  # noqa: F401  (the contract, run for the toy)
    Wire,
    test_bad_signature_is_refused_and_moves_nothing,
    test_conflicting_replay_is_refused_and_moves_nothing,
    test_duplicate_replays_the_first_answer_and_moves_money_once,
    test_insufficient_funds_maps_to_the_providers_shape,
    test_rollback_twice_refunds_once,
    test_unknown_rollback_is_a_tombstone_and_the_late_bet_moves_nothing,
)

WITH_TOY = (*PROVIDERS, toy.PROVIDER)


@pytest.fixture(scope="session")
def toy_app(app: Flask, settings: dict[str, Any]) -> Flask:
    return create_app({**settings, "TOY_SECRET": toy.SECRET}, providers=WITH_TOY)


@pytest.fixture
def toy_client(toy_app: Flask) -> Iterator[Any]:
    yield toy_app.test_client()
    audit.flush(toy_app)  # the toy's audit rows go in now, not into the next test's tables


@pytest.fixture
def wire(toy_app: Flask, toy_client: Any) -> Wire:
    """The contract tests imported above run against the toy through this fixture."""
    return Wire(toy.PROVIDER.contract(toy_app.config), toy_client)


def toy_bet(client: Any, tx: str, player: str, amount: str) -> Any:
    path, body, headers = toy.ToyClient(toy.SECRET).signed(toy.payload(tx, "bet", player, amount))
    return client.post(path, data=body, headers=headers)


def test_the_toy_route_moves_money_and_the_default_registry_has_no_toy(client, toy_client):
    player = PlayerFactory(currencies=("USD",), balance="100.00")
    answer = toy_bet(toy_client, "t1", player, "12.50")
    assert answer.status_code == 200 and answer.get_json()["balance"] == "87.50"
    assert balance(player, "USD") == 87.5
    assert client.post("/toy/play", data=b"{}").status_code == 404


def test_the_toy_settings_are_read_and_its_secret_rotates():
    config = load_config({"TOY_SECRET": "new", "TOY_SECRET_PREVIOUS": "old"}, WITH_TOY)
    assert (config["TOY_SECRET"], config["TOY_SECRET_PREVIOUS"]) == ("new", "old")
    assert "TOY_SECRET" not in load_config({})


def test_the_toy_route_is_in_the_openapi_document(toy_client):
    document = toy_client.get("/openapi.json").get_json()
    operation = document["paths"]["/toy/play"]["post"]
    assert operation["tags"] == ["toy"]
    assert [p["name"] for p in operation["parameters"]] == [toy.MAC_HEADER]
    body = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert set(document["components"]["schemas"][body.rsplit("/", 1)[1]]["properties"]) >= {
        "id",
        "action",
        "player",
        "amount",
    }


def test_the_toy_signature_header_is_redacted_in_the_audit_trail(toy_app, toy_client):
    assert callbacks.safe_headers({toy.MAC_HEADER: "ab"}) == {toy.MAC_HEADER: "ab"}
    player = PlayerFactory(currencies=("USD",), balance="100.00")
    assert toy_bet(toy_client, "t1", player, "1").status_code == 200
    audit.flush(toy_app)
    [row] = run_committed(lambda conn: conn.execute(select(callbacks.callbacks)).all())
    assert (row.provider, row.outcome) == ("toy", "applied")
    assert row.headers[toy.MAC_HEADER] == callbacks.REDACTED


@pytest.fixture
def toy_server(toy_app: Flask) -> Iterator[str]:
    """The toy-enabled app served over HTTP, for the simulator."""
    server = make_server("127.0.0.1", 0, toy_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        audit.flush(toy_app)


def test_wallet_simulate_plays_the_toy_and_every_balance_matches(toy_app, toy_server):
    args = ["simulate", "toy", "--url", toy_server, "--players", "3", "--rounds", "6"]
    args += ["--duplicates", "25%", "--rollbacks", "25%", "--seed", "7", "--json"]
    result = CliRunner().invoke(cli, args, obj=ScriptInfo(create_app=lambda: toy_app))
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["ok"], summary
    assert summary["provider"] == "toy" and summary["balances_checked"] == 3
    assert summary["duplicates"] > 0 and summary["rollbacks"] > 0


def test_wallet_reconcile_reads_the_toys_report_by_its_own_layout(toy_app, toy_client, tmp_path):
    player = PlayerFactory(currencies=("USD",), balance="100.00")
    assert toy_bet(toy_client, "t1", player, "12.50").status_code == 200
    assert toy_bet(toy_client, "t2", "ghost", "3").status_code == 404
    audit.flush(toy_app)
    now = datetime.now(UTC).isoformat()
    report = Path(tmp_path, "toy.csv")
    report.write_text(
        f"id,action,player,currency,amount,time\nt1,bet,{player},USD,12.5,{now}\n"
        f"t2,bet,ghost,USD,3,{now}\n"
    )
    args = ["reconcile", "toy", str(report), "--json"]
    result = CliRunner().invoke(cli, args, obj=ScriptInfo(create_app=lambda: toy_app))
    assert result.exit_code == 1, result.output
    data = json.loads(result.stdout)
    assert data["counts"] == {"matched": 1, "missing_here": 1, "missing_there": 0, "mismatched": 0}
    [missing] = data["missing_here"]
    assert (missing["id"], missing["reason"]) == ("t2", "refused")


def test_the_core_names_no_provider():
    """A provider's report layout, keys and callback fields live in its own package."""
    core = Path(__file__).parents[1] / "app" / "core"
    for path in sorted(core.rglob("*.py")):
        text = path.read_text(encoding="utf-8").lower()
        assert not [name for name in NAMES if name in text], path
