"""How ``/openapi.json`` describes Hypetech's routes: 200 answers, RFC 7807 problems
otherwise."""

from __future__ import annotations

from marshmallow import Schema, fields

from app.providers.hypetech import adapter
from app.providers.hypetech.problems import MEDIA_TYPE
from app.web.answers import AnswerSchema
from app.web.openapi import JSON, Answers, Operation


class HypetechBalanceAnswerSchema(AnswerSchema):
    balance = fields.String(required=True, metadata={"example": "2050.00"})
    user_id = fields.String(required=True)
    currency = fields.String(required=True)


class HypetechMoneyAnswerSchema(AnswerSchema):
    operator_tx_id = fields.String(required=True)
    new_balance = fields.String(required=True)
    old_balance = fields.String(required=True)
    user_id = fields.String(required=True)
    currency = fields.String(required=True)
    provider = fields.String(required=True)
    provider_tx_id = fields.String(required=True)


class HypetechRollbackAnswerSchema(AnswerSchema):
    old_balance = fields.String(required=True)
    new_balance = fields.String(required=True)


class ProblemSchema(AnswerSchema):
    type = fields.String(required=True)
    title = fields.String(required=True)
    status = fields.Integer(required=True)
    detail = fields.String(required=True)
    code = fields.String(required=True, metadata={"example": "INVALID_SIGNATURE"})
    balance = fields.String(metadata={"description": "with 402 INSUFFICIENT_FUNDS"})
    limit = fields.String(metadata={"description": "with 403 LIMIT_EXCEEDED, e.g. loss/day"})
    remaining = fields.String(
        metadata={"description": "with 403 LIMIT_EXCEEDED: what the limit leaves this period"}
    )


_PROBLEMS: Answers = {
    "default": (MEDIA_TYPE, ProblemSchema, "400, 401, 402, 403, 404, 409, 500, 503")
}


def _operation(summary: str, body: type[Schema], ok: type[Schema]) -> Operation:
    answered: Answers = {200: (JSON, ok, "done"), **_PROBLEMS}
    return Operation(summary, "hypetech", body, ("Hype-Hash",), answered)


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
