"""The field-by-field load of a valid request (``schemas._load_fields``) returns what
marshmallow's ``Schema.load`` does, and leaves every refusal to marshmallow."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from marshmallow import Schema

from app.errors import InvalidRequest, UnknownCurrency
from app.providers import schemas
from app.providers.hypetech import adapter as hypetech
from app.providers.igpx import adapter as igpx
from app.providers.upside import adapter as upside

BET = {"transaction_id": "t-1", "action": "bet", "user_id": "p1", "currency": "USD"}
VALID: list[tuple[Schema, dict[str, Any]]] = [
    (igpx.TRANSACTION, {**BET, "amount": "10.00"}),
    (igpx.TRANSACTION, {**BET, "amount": Decimal("10.5"), "extra": {"a": 1}}),
    (igpx.TRANSACTION, {**BET, "transaction_id": 12345678901234567890, "amount": 3}),
    (igpx.ROLLBACK, {**BET, "action": "rollback", "rollback_transaction_id": "t-0", "amount": 0}),
    (hypetech.MONEY, {"user_id": "p1", "provider_tx_id": "h-1", "amount": "1.5"}),
    (hypetech.MONEY, {"user_id": "p1", "provider_tx_id": "h-2", "linked_tx_id": "h", "amount": 2}),
    (hypetech.ROLLBACK, {"user_id": "p1", "provider_tx_id": "h-3"}),
    (upside.ACTION, {"trigger": "placeBet", "gameType": "g", "betAmount": "1", "gameData": None}),
    (upside.ACTION, {"trigger": "getHistory", "limit": 5, "offset": 0}),
]
INVALID: list[tuple[Schema, dict[str, Any]]] = [
    (igpx.TRANSACTION, {**BET}),  # no amount
    (igpx.TRANSACTION, {**BET, "action": "win", "amount": "1"}),
    (igpx.TRANSACTION, {**BET, "user_id": " p1", "amount": "1"}),
    (igpx.TRANSACTION, {**BET, "transaction_id": None, "amount": "1"}),
    (igpx.TRANSACTION, {**BET, "transaction_id": "x" * 129, "amount": "1"}),
    (hypetech.MONEY, {"user_id": "p1", "provider_tx_id": "", "amount": "1"}),
    (upside.ACTION, {"trigger": "getHistory", "limit": 0}),
    (upside.ACTION, {"trigger": "getHistory", "limit": True}),
    (upside.ACTION, {"trigger": "nope"}),
]


@pytest.mark.parametrize(("schema", "data"), VALID)
def test_a_valid_request_loads_as_marshmallow_loads_it(schema: Schema, data: dict) -> None:
    shortcut = schemas._load_fields(schema, data)
    assert shortcut is not None, "the shortcut should take a valid request"
    assert shortcut == schema.load(data)
    assert schemas.load(schema, data) == schema.load(data)


@pytest.mark.parametrize(("schema", "data"), INVALID)
def test_a_refused_request_is_left_to_marshmallow(schema: Schema, data: dict) -> None:
    assert schemas._load_fields(schema, data) is None
    with pytest.raises(InvalidRequest) as refused:
        schemas.load(schema, data)
    try:
        schema.load(data)
    except Exception as exc:  # noqa: BLE001 - marshmallow's own words, as the answer gives them
        assert str(refused.value) == schemas._describe(exc.messages)  # type: ignore[attr-defined]
    else:
        pytest.fail("marshmallow took what the shortcut refused")


def test_a_domain_error_raised_by_a_field_comes_out_as_before() -> None:
    data = {**BET, "currency": "XXX", "amount": "1"}
    with pytest.raises(UnknownCurrency):
        igpx.TRANSACTION.load(data)
    with pytest.raises(UnknownCurrency):
        schemas.load(igpx.TRANSACTION, data)


def test_schemas_with_hooks_go_through_marshmallow() -> None:
    """Hypetech's balance request checks one player id across two fields
    (``validates_schema``): a field-by-field load would skip that rule."""
    both = {"player_id": "p1", "user_id": "p2"}
    assert schemas._load_fields(hypetech.BALANCE, both) is None
    with pytest.raises(InvalidRequest, match="one id"):
        schemas.load(hypetech.BALANCE, both)
