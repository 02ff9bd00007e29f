"""JSON nested deeper than ``schemas.MAX_JSON_DEPTH`` (64) is refused when it is parsed,
with each protocol's invalid-request answer, before anything is stored.

Depth counts containers: the body object is level 1, so ``{"a": {}}`` is 2 deep. A body
within the limit is stored whole (Hypetech ``extra_data``, Upside ``gameData``).
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select

from app.core.models import provider_transactions
from app.errors import InvalidRequest
from app.providers import schemas
from app.providers.upside.models import upside_used_signatures
from tests import hypetech_helpers, igpx_helpers, upside_helpers
from tests.factories import PlayerFactory, balance, run_committed
from tests.hostile_helpers import books

REFUSED_DEPTHS = [65, 340, 500]


def nested(levels: int) -> Any:
    """A JSON value ``levels`` deep, alternating objects and arrays, a number at the bottom."""
    value: Any = 1
    for level in range(levels):
        value = {"x": value} if level % 2 else [value]
    return value


def body_of(levels: int, **fields: Any) -> bytes:
    """A body ``levels`` deep in all: the body object itself is the first level."""
    return json.dumps({**fields, "extra": nested(levels - 1)}).encode()


def test_depth_of_a_body_counts_the_body_itself():
    assert json.dumps(nested(2)) == '{"x": [1]}'
    assert schemas.parse_json_object(body_of(64))["extra"] == nested(63)
    with pytest.raises(InvalidRequest, match="nested deeper than 64"):
        schemas.parse_json_object(body_of(65))


@pytest.mark.parametrize("levels", [65, 990, 30_000])
def test_parser_refuses_every_depth_past_the_limit(levels):
    with pytest.raises(InvalidRequest):
        schemas.parse_json_object(b'{"a":' + b"[" * levels + b"]" * levels + b"}")


# --- IGPX -------------------------------------------------------------------------------


def igpx_bet(levels: int, tx: str, player: str) -> bytes:
    return body_of(levels, **igpx_helpers.bet(tx, player, "1.00"))


@pytest.mark.parametrize("levels", [63, 64])
def test_igpx_bet_within_the_depth_is_applied(client, levels):
    player = PlayerFactory(currencies=("USD",), balance="10.00")
    answer = igpx_helpers.post(client, "transaction", igpx_bet(levels, "deep-ok", player))
    assert answer["error"] is None
    assert balance(player, "USD") == Decimal("9.00")


@pytest.mark.parametrize("levels", REFUSED_DEPTHS)
def test_igpx_bet_past_the_depth_is_invalid_request(client, levels):
    player = PlayerFactory(currencies=("USD",), balance="10.00")
    before = books()
    answer = igpx_helpers.post(client, "transaction", igpx_bet(levels, "deep", player))
    assert answer == {"error": "INVALID_REQUEST"}
    assert books() == before


# --- Hypetech ---------------------------------------------------------------------------


def hypetech_bet(levels: int, player: str) -> bytes:
    """``extra_data`` nested so that the whole body is ``levels`` deep."""
    fields = hypetech_helpers.bet("deep", player, "1.00", currency="BRL")
    fields["extra_data"] = nested(levels - 1)
    return json.dumps(fields).encode()


@pytest.mark.parametrize("levels", [63, 64])
def test_hypetech_extra_data_within_the_depth_is_stored_whole(client, levels):
    player = PlayerFactory(currencies=("BRL",), balance="10.00")
    hypetech_helpers.ok(client, "register", hypetech_bet(levels, player))
    query = select(provider_transactions.c.details).where(
        provider_transactions.c.external_id == "deep"
    )
    details = run_committed(lambda conn: conn.execute(query).scalar_one())
    assert details["extra_data"] == nested(levels - 1)
    assert balance(player, "BRL") == Decimal("9.00")


@pytest.mark.parametrize("levels", REFUSED_DEPTHS)
def test_hypetech_extra_data_past_the_depth_is_400(client, levels):
    player = PlayerFactory(currencies=("BRL",), balance="10.00")
    before = books()
    answer = hypetech_helpers.problem(client, "register", hypetech_bet(levels, player), 400)
    assert answer["code"] == "INVALID_REQUEST"
    assert "nested deeper than 64" in answer["detail"]
    assert books() == before


# --- Upside -----------------------------------------------------------------------------


def upside_bet(levels: int) -> bytes:
    fields = upside_helpers.bet("deep-session")
    fields["gameData"] = nested(levels - 1)
    return json.dumps(fields).encode()


def used_signatures() -> int:
    count = select(func.count()).select_from(upside_used_signatures)
    return int(run_committed(lambda conn: conn.execute(count).scalar_one()))


@pytest.fixture
def worker_and_jwt() -> tuple[upside_helpers.Worker, str]:
    upside_helpers.make_game()
    return upside_helpers.make_key(), upside_helpers.token(upside_helpers.make_player())


@pytest.mark.parametrize("levels", [63, 64])
def test_upside_game_data_within_the_depth_is_stored_and_answered_whole(
    client, worker_and_jwt, levels
):
    worker, jwt = worker_and_jwt
    response = upside_helpers.send_raw(client, worker, jwt, upside_bet(levels))
    assert response.status_code == 200, response.get_data(as_text=True)
    active = upside_helpers.act(client, worker, jwt, {"trigger": "getActive"})
    assert active["sessions"][0]["gameData"] == nested(levels - 1)


@pytest.mark.parametrize("levels", REFUSED_DEPTHS)
def test_upside_game_data_past_the_depth_is_400_and_leaves_its_signature_unused(
    client, worker_and_jwt, levels
):
    worker, jwt = worker_and_jwt
    before = books()
    response = upside_helpers.send_raw(client, worker, jwt, upside_bet(levels))
    assert response.status_code == 400, response.get_data(as_text=True)
    assert response.get_json() == {
        "success": False,
        "error": {"code": "INVALID_REQUEST", "message": "body is nested deeper than 64 levels"},
    }
    assert used_signatures() == 0
    assert books() == before  # no session, no money
