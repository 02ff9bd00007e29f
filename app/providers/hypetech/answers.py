"""How ``/openapi.json`` describes Hypetech's routes: 200 answers, RFC 7807 problems
otherwise."""

from __future__ import annotations

from marshmallow import Schema, fields

from app.providers.hypetech import adapter
from app.providers.hypetech.problems import MEDIA_TYPE
from app.web.answers import AnswerSchema
from app.web.openapi import JSON, Answers, Operation


def _text(description: str, **more: str) -> fields.String:
    return fields.String(required=True, metadata={"description": description, **more})


BALANCE = "with the currency's decimals"


class HypetechBalanceAnswerSchema(AnswerSchema):
    balance = _text(f"the player's balance, {BALANCE}", example="2050.00")
    user_id = _text("the player's id, as sent")
    currency = _text("the wallet's currency (ISO 4217)", example="USD")


class HypetechMoneyAnswerSchema(AnswerSchema):
    operator_tx_id = _text("the wallet's own id of this transaction")
    new_balance = _text(f"the balance after it, {BALANCE}", example="2047.50")
    old_balance = _text(f"the balance before it, {BALANCE}", example="2050.00")
    user_id = _text("the player's id, as sent")
    currency = _text("the wallet's currency (ISO 4217)", example="USD")
    provider = _text("the request's provider, or hypetech when it had none")
    provider_tx_id = _text("Hypetech's id of the transaction, as sent")


class HypetechRollbackAnswerSchema(AnswerSchema):
    old_balance = _text(f"the balance before the rollback, {BALANCE}")
    new_balance = _text(f"the balance after it, {BALANCE}")


class ProblemSchema(AnswerSchema):
    type = _text("urn:wallet:problem:<code>", example="urn:wallet:problem:invalid-signature")
    title = _text("the kind of problem, for people")
    status = fields.Integer(required=True, metadata={"description": "the HTTP status again"})
    detail = _text("what was wrong with this request")
    code = _text("a stable code for machines", example="INVALID_SIGNATURE")
    balance = fields.String(
        metadata={"description": f"with 402 INSUFFICIENT_FUNDS: the balance, {BALANCE}"}
    )
    limit = fields.String(metadata={"description": "with 403 LIMIT_EXCEEDED, e.g. loss/day"})
    remaining = fields.String(
        metadata={"description": "with 403 LIMIT_EXCEEDED: what the limit leaves this period"}
    )


HEADERS = {
    "Hype-Hash": "hex HMAC-SHA256 of HYPETECH_WEBHOOK_BASE_URL + path + JSON.stringify(body), "
    "keyed with HYPETECH_API_KEY"
}
_PROBLEMS: Answers = {
    "default": (MEDIA_TYPE, ProblemSchema, "400, 401, 402, 403, 404, 409, 500, 503")
}


def _operation(summary: str, body: type[Schema], ok: type[Schema]) -> Operation:
    answered: Answers = {200: (JSON, ok, "done"), **_PROBLEMS}
    return Operation(summary, "hypetech", body, HEADERS, answered)


OPERATIONS = {
    "hypetech.get_balance": _operation(
        "Hypetech balance", adapter.BalanceSchema, HypetechBalanceAnswerSchema
    ),
    "hypetech.register": _operation("Hypetech bet", adapter.MoneySchema, HypetechMoneyAnswerSchema),
    "hypetech.rewards": _operation("Hypetech win", adapter.MoneySchema, HypetechMoneyAnswerSchema),
    "hypetech.rollback": _operation(
        "Hypetech rollback", adapter.RollbackSchema, HypetechRollbackAnswerSchema
    ),
}
