"""Marshmallow schemas of the answers each provider gets, for ``/openapi.json`` only.

The adapters build their answers with ``jsonify``; these describe them (``INCLUDE``:
a provider must ignore fields it does not know, so the documents allow more).
"""

from __future__ import annotations

from marshmallow import INCLUDE, Schema, fields


class _Answer(Schema):
    class Meta:
        unknown = INCLUDE


class StatusSchema(_Answer):
    status = fields.String(required=True, metadata={"example": "ok"})
    reason = fields.String()


# --- IGPX: always HTTP 200 ------------------------------------------------------------------
class IgpxAnswerSchema(_Answer):
    error = fields.String(
        required=True,
        allow_none=True,
        metadata={"description": "null on success, else a code such as INVALID_SIGNATURE"},
    )
    transaction_id = fields.String(metadata={"description": "the wallet's own id, on success"})


# --- Hypetech: 200 answers, RFC 7807 problems otherwise -----------------------------------
class HypetechBalanceAnswerSchema(_Answer):
    balance = fields.String(required=True, metadata={"example": "2050.00"})
    user_id = fields.String(required=True)
    currency = fields.String(required=True)


class HypetechMoneyAnswerSchema(_Answer):
    operator_tx_id = fields.String(required=True)
    new_balance = fields.String(required=True)
    old_balance = fields.String(required=True)
    user_id = fields.String(required=True)
    currency = fields.String(required=True)
    provider = fields.String(required=True)
    provider_tx_id = fields.String(required=True)


class HypetechRollbackAnswerSchema(_Answer):
    old_balance = fields.String(required=True)
    new_balance = fields.String(required=True)


class ProblemSchema(_Answer):
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


# --- Upside ---------------------------------------------------------------------------------
class UpsideSuccessSchema(_Answer):
    success = fields.Boolean(required=True, metadata={"enum": [True]})
    trigger = fields.String(required=True)


class UpsideErrorSchema(Schema):
    code = fields.String(required=True, metadata={"example": "AUTHENTICATION_FAILED"})
    message = fields.String(required=True)


class UpsideFailureSchema(_Answer):
    success = fields.Boolean(required=True, metadata={"enum": [False]})
    error = fields.Nested(UpsideErrorSchema, required=True)
