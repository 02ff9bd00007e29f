"""Shared request parsing: strict JSON, provider ids and exact amounts for marshmallow."""

from __future__ import annotations

import functools
import json
from decimal import Decimal
from typing import Any

from marshmallow import EXCLUDE, Schema, ValidationError, fields
from marshmallow.utils import missing as missing_

from app.core import money, players
from app.errors import InvalidRequest, WalletError

# Deepest nesting a request body may have; the body object itself is level 1.
MAX_JSON_DEPTH = 64


def parse_json_object(raw: bytes) -> dict[str, Any]:
    """Decode a request body: UTF-8, one JSON object, exact numbers, no duplicate keys,
    nested at most ``MAX_JSON_DEPTH`` deep (what is stored is later walked recursively)."""
    try:
        data = json.loads(
            raw.decode("utf-8"),
            parse_float=Decimal,
            parse_constant=_reject_constant,
            object_pairs_hook=_unique_keys,
        )
    except UnicodeDecodeError:
        raise InvalidRequest("body is not UTF-8") from None
    except RecursionError:
        raise InvalidRequest(f"body is nested deeper than {MAX_JSON_DEPTH} levels") from None
    except ValueError as exc:
        raise InvalidRequest(f"body is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise InvalidRequest("body must be a JSON object")
    if _deeper_than(data, MAX_JSON_DEPTH):
        raise InvalidRequest(f"body is nested deeper than {MAX_JSON_DEPTH} levels")
    return data


def _deeper_than(value: Any, limit: int) -> bool:
    """Whether containers nest more than ``limit`` levels; level by level, not recursively."""
    level: list[Any] = [value]
    for _ in range(limit):
        items = [item for c in level for item in (c.values() if isinstance(c, dict) else c)]
        level = [item for item in items if isinstance(item, dict | list)]
        if not level:
            return False
    return True


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not a number")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate key {key!r}")
        result[key] = value
    return result


AMOUNT_DOC = {
    "oneOf": [
        {"type": "string", "pattern": r"^[0-9]{1,40}(\.[0-9]{1,40})?$"},
        {"type": "number", "minimum": 0},
    ],
    "description": "a decimal string or an exact JSON number",
    "example": "10.00",
}
ATOMIC_DOC = {
    "oneOf": [{"type": "string", "pattern": "^(0|[1-9][0-9]{0,59})$"}, {"type": "integer"}],
    "description": "atomic WIN units (18 decimals) as an integer string",
    "example": "1000000000000000000",
}


class ProviderId(fields.Field):
    """An identifier sent as a JSON string or integer, kept as a string (1–128 characters).

    ``json`` reads an integer exactly (never through a float), and ``str`` writes back the
    digits as sent: a JSON integer has no leading zeros and no ``+`` (``-0`` reads as ``0``,
    as it does in JavaScript)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str) or not value.strip() or len(value) > 128:
            raise ValidationError("must be a non-empty string of at most 128 characters")
        if not _storable(value):
            raise ValidationError("must not contain NUL characters or lone surrogates")
        return value


class PlayerId(ProviderId):
    """A provider id that names a player: the wallet's rule for player ids applies
    (:func:`app.core.players.check_id`: 1 to 64 characters, no space at either end, no
    control character), as it does to ids typed into the CLI."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        player_id = super()._deserialize(value, attr, data, **kwargs)
        try:
            return players.check_id(player_id)
        except InvalidRequest as exc:
            raise ValidationError(str(exc)) from None


class Text(fields.String):
    """A JSON string PostgreSQL can store: no NUL, no lone surrogate."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text: str = super()._deserialize(value, attr, data, **kwargs)
        if not _storable(text):
            raise ValidationError("must not contain NUL characters or lone surrogates")
        return text


JSON_NUMBER_DIGITS = 1000


def check_storable_json(value: Any, where: str) -> None:
    """Refuse what PostgreSQL's JSONB cannot hold: NUL or lone surrogates in text, numbers
    beyond its numeric range (any number here is within 10^±1000)."""
    if isinstance(value, str) and not _storable(value):
        raise InvalidRequest(f"{where}: text must not contain NUL characters or lone surrogates")
    if isinstance(value, Decimal) and value and not _moderate(value):
        raise InvalidRequest(f"{where}: numbers must be within 10^±{JSON_NUMBER_DIGITS}")
    if isinstance(value, dict):
        for key, item in value.items():
            check_storable_json(key, where)
            check_storable_json(item, where)
    if isinstance(value, list):
        for item in value:
            check_storable_json(item, where)


def _moderate(number: Decimal) -> bool:
    exponent = number.as_tuple().exponent
    return (
        isinstance(exponent, int)
        and abs(number.adjusted()) <= JSON_NUMBER_DIGITS
        and exponent >= -JSON_NUMBER_DIGITS
    )


def _storable(text: str) -> bool:
    """PostgreSQL text cannot hold NUL, and UTF-8 cannot encode a lone surrogate."""
    return "\x00" not in text and not any("\ud800" <= c <= "\udfff" for c in text)


class Currency(fields.Field):
    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        if not isinstance(value, str):
            raise ValidationError('must be a currency code such as "USD"')
        money.exponent(value)  # raises UnknownCurrency, a domain error with its own code
        return value


def load(schema: Schema, data: dict[str, Any]) -> dict[str, Any]:
    """Validate with marshmallow; turn field errors into one readable InvalidRequest.

    A request every field of which is present and valid is loaded field by field
    (:func:`_load_fields`); anything else goes through ``Schema.load``, which then says
    what is wrong exactly as it always did."""
    loaded = _load_fields(schema, data)
    if loaded is not None:
        return loaded
    try:
        result: dict[str, Any] = schema.load(data)
    except ValidationError as exc:
        raise InvalidRequest(_describe(exc.messages)) from None
    return result


_Plan = tuple[tuple[str, str, fields.Field], ...]


def _load_fields(schema: Schema, data: dict[str, Any]) -> dict[str, Any] | None:
    """What ``schema.load(data)`` returns, or None to let it decide.

    ``Schema.load`` was 8% of a bet's Python instructions: its processor and error-store
    machinery runs for every request, although a provider's request is almost always
    complete and valid. Each field's own ``deserialize`` (type checks, ``required``,
    ``allow_none``, validators) is what decides; it is called here directly, in the
    same order, for schemas with no hooks (``pre_load``, ``post_load``,
    ``validates_schema``…), unknown fields excluded and plain attribute names. A field
    that refuses its value returns None, and the caller loads with marshmallow, so every
    refusal keeps marshmallow's wording.
    """
    plan = _plan(schema)
    if plan is None:
        return None
    result: dict[str, Any] = {}
    for key, attribute, field in plan:
        try:  # a missing value is the field's load_default, or refused if required
            value = field.deserialize(data.get(key, missing_), key, data)
        except ValidationError:
            return None
        if value is not missing_:
            result[attribute] = value
    return result


@functools.cache  # schemas are built once, at import
def _plan(schema: Schema) -> _Plan | None:
    """(key in the data, key in the result, field) per loaded field, or None when the
    schema needs ``Schema.load``'s own machinery."""
    if any(schema._hooks.values()) or schema.unknown != EXCLUDE or schema.partial:
        return None
    plan = []
    for name, field in schema.load_fields.items():
        attribute = field.attribute or name
        if "." in attribute:
            return None
        plan.append((field.data_key or name, attribute, field))
    return tuple(plan)


def amount(data: dict[str, Any], currency: str, key: str = "amount") -> Decimal:
    try:
        return money.parse_amount(data[key], currency)
    except WalletError as exc:
        raise type(exc)(f"{key}: {exc}") from None


def _describe(messages: Any) -> str:
    if isinstance(messages, dict):
        return "; ".join(f"{field}: {_describe(m)}" for field, m in messages.items())
    if isinstance(messages, list):
        return " ".join(str(m) for m in messages)
    return str(messages)
