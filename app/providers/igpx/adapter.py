"""IGPX sportsbook: ``/igpx/transaction`` and ``/igpx/transaction-rollback`` callbacks.

Every answer is HTTP 200 with JSON: ``{"error": null, "transaction_id": …}`` on
success, ``{"error": CODE}`` otherwise. Requests are signed with ``X-Security-Hash``
(the provider's own examples spell it ``X-Securty-Hash``): hex HMAC-SHA256 of the
raw body keyed with ``IGPX_SECURITY_HASH``.
"""

from __future__ import annotations

import structlog
from flask import Blueprint, current_app, jsonify, request
from flask.typing import ResponseReturnValue
from marshmallow import EXCLUDE, Schema, fields, validate
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import HTTPException

from app import errors, rotation
from app.core import wallet
from app.providers import base, schemas

NAME = "igpx"
blueprint = Blueprint(NAME, __name__, url_prefix="/igpx")
SECRET_HEADERS = ("X-Security-Hash", "X-Securty-Hash")  # both spellings are accepted
log = structlog.get_logger(__name__)

ERROR_CODES: dict[type[Exception], str] = {
    errors.InvalidSignature: "INVALID_SIGNATURE",
    errors.UnknownCurrency: "CURRENCY_MISMATCH",
    errors.InvalidRequest: "INVALID_REQUEST",
    errors.UnknownPlayer: "USER_NOT_FOUND",
    errors.CurrencyNotEnabled: "CURRENCY_MISMATCH",
    errors.TransactionConflict: "TRANSACTION_CONFLICT",
}
DECLINE_CODES = {
    wallet.Reason.PLAYER_BLOCKED: "USER_BLOCKED",
    wallet.Reason.CANCELLED: "TRANSACTION_ROLLED_BACK",
}


class TransactionSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    transaction_id = schemas.ProviderId(
        required=True,
        metadata={"description": "IGPX's id of this transaction; a repeat is answered again"},
    )
    action = fields.String(
        required=True,
        validate=validate.OneOf(["bet", "result"]),
        metadata={"description": "bet takes the stake; result pays a win (0 is a loss)"},
    )
    user_id = schemas.PlayerId(required=True, metadata={"description": "the player's id"})
    currency = schemas.Currency(required=True, metadata={"description": "ISO 4217 code"})
    amount = fields.Raw(required=True, metadata=schemas.AMOUNT_DOC)


class RollbackSchema(TransactionSchema):
    transaction_id = schemas.ProviderId(
        required=True, metadata={"description": "IGPX's id of this rollback (its own id)"}
    )
    action = fields.String(
        required=True,
        validate=validate.OneOf(["rollback"]),
        metadata={"description": "always rollback"},
    )
    rollback_transaction_id = schemas.ProviderId(
        required=True,
        metadata={
            "description": "the id of the transaction to reverse; the amount reversed is its own"
        },
    )


ACTIONS = {"bet": wallet.Kind.BET, "result": wallet.Kind.WIN, "rollback": wallet.Kind.ROLLBACK}
# Built once: a schema instance is reusable across requests and threads.
TRANSACTION, ROLLBACK = TransactionSchema(), RollbackSchema()


@blueprint.post("/transaction")
def transaction() -> ResponseReturnValue:
    return _answer(_read(TRANSACTION))


@blueprint.post("/transaction-rollback")
def transaction_rollback() -> ResponseReturnValue:
    return _answer(_read(ROLLBACK))


def _read(schema: Schema) -> wallet.Request:
    body = base.raw_body()
    given = request.headers.get("X-Security-Hash") or request.headers.get("X-Securty-Hash")
    base.check_hex_signature(
        rotation.accepted(current_app.config, "IGPX_SECURITY_HASH"), body, given
    )
    base.require_json_content_type()
    data = schemas.load(schema, schemas.parse_json_object(body))
    base.bind(action=data["action"])
    return wallet.Request(
        provider=NAME,
        external_id=data["transaction_id"],
        kind=ACTIONS[data["action"]],
        player_id=data["user_id"],
        currency=data["currency"],
        amount=schemas.amount(data, data["currency"]),
        reference_id=data.get("rollback_transaction_id"),
    )


def _answer(money_request: wallet.Request) -> ResponseReturnValue:
    outcome = base.execute(money_request)
    if outcome.declined:
        return _error(_decline_code(outcome.reason))
    return jsonify(error=None, transaction_id=str(outcome.transaction_id))


# Declines whose code the operator may respell to match IGPX's own list.
CONFIGURED_CODES = {
    wallet.Reason.INSUFFICIENT_FUNDS: "IGPX_INSUFFICIENT_FUNDS_CODE",
    wallet.Reason.LIMIT_EXCEEDED: "IGPX_LIMIT_EXCEEDED_CODE",
    wallet.Reason.PLAYER_EXCLUDED: "IGPX_USER_EXCLUDED_CODE",
}


def _decline_code(reason: wallet.Reason | None) -> str:
    if reason in CONFIGURED_CODES:
        return str(current_app.config[CONFIGURED_CODES[reason]])
    return DECLINE_CODES.get(reason, "INTERNAL_ERROR") if reason else "INTERNAL_ERROR"


def _error(code: str) -> ResponseReturnValue:
    base.bind(error_code=code)
    return jsonify(error=code), 200


@blueprint.errorhandler(Exception)
def _handle(exc: Exception) -> ResponseReturnValue:
    for kind, code in ERROR_CODES.items():
        if isinstance(exc, kind):
            log.info("igpx request refused", reason=str(exc))
            return _error(code)
    if isinstance(exc, HTTPException) and exc.code is not None and exc.code < 500:
        log.info("igpx request refused", reason=exc.name)
        return _error("INVALID_REQUEST")
    if isinstance(exc, SQLAlchemyError):
        base.log_database_error(log, "database unavailable", exc)
    else:
        log.exception("unexpected error")
    return _error("INTERNAL_ERROR")
