"""Upside game-actions: ``POST /upside/game-actions``, the server side of the WIN wallet.

The adapter authenticates (``upside_auth``), checks the key's game scope, loads the
body, runs one trigger in one database transaction and writes the answer. Money,
sessions and pools live in ``games``, ``game_sessions`` and ``game_history``.
Failures are ``{"success": false, "error": {"code", "message"}}`` with 400, 401,
403, 404, 409, 422, 429, or 503 when the database is unavailable.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import structlog
from flask import Blueprint, Response, current_app, request
from marshmallow import EXCLUDE, Schema, fields, validate
from sqlalchemy import Connection
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import HTTPException

from app import (
    errors,
    exact_json,
    games,
    rotation,
    schemas,
    upside_auth,
    upside_errors,
    upside_keys,
    win_units,
)
from app.db import UnitOfWork
from app.providers import base
from app.providers.upside_cli import cli  # noqa: F401  (exported for the registry)
from app.providers.upside_triggers import TRIGGERS, Call

NAME = "upside"
blueprint = Blueprint(NAME, __name__, url_prefix="/upside")
log = structlog.get_logger(__name__)

STATUS: list[tuple[type[Exception], int, str | None]] = [
    (upside_errors.AuthenticationFailed, 401, None),
    (upside_keys.KeyEncryptionNotConfigured, 401, "AUTHENTICATION_FAILED"),
    (errors.UnknownPlayer, 401, "UNKNOWN_PLAYER"),
    (upside_errors.NotAllowed, 403, None),
    (upside_errors.NotFound, 404, None),
    (upside_errors.Conflict, 409, None),
    (errors.TransactionConflict, 409, "CONFLICT"),
    (upside_errors.Unprocessable, 422, None),
    (errors.CurrencyNotEnabled, 422, "INSUFFICIENT_BALANCE"),
    (upside_errors.RateLimited, 429, None),
    (errors.InvalidRequest, 400, "INVALID_REQUEST"),
]
REQUIRED = {
    "getMaxBet": ("game_type",),
    "placeBet": ("game_type", "bet_amount"),
    "processPayout": ("game_type", "session_id", "payout_amount"),
}


class ActionSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    trigger = fields.String(required=True, validate=validate.OneOf(list(TRIGGERS)))
    game_type = schemas.Text(data_key="gameType", validate=validate.Length(1, 48))
    session_id = schemas.Text(data_key="sessionId", validate=validate.Length(1, 100))
    game_id = schemas.Text(data_key="gameId", validate=validate.Length(1, 100))
    bet_amount = fields.Raw(data_key="betAmount", metadata=schemas.ATOMIC_DOC)
    payout_amount = fields.Raw(data_key="payoutAmount", metadata=schemas.ATOMIC_DOC)
    result = schemas.Text(validate=validate.Length(1, 32))
    game_data = fields.Raw(data_key="gameData", allow_none=True, metadata={"type": "object"})
    client_nonce = schemas.Text(data_key="clientNonce", validate=validate.Length(max=256))
    thumbnail_url = schemas.Text(data_key="thumbnailUrl", validate=validate.Length(max=2048))
    limit = fields.Integer(strict=True, validate=validate.Range(1, 100))
    offset = fields.Integer(strict=True, validate=validate.Range(0, 10**9))


ACTION = ActionSchema()  # built once, reused by every request


@blueprint.post("/game-actions")
def game_actions() -> Response:
    body = base.raw_body()
    principal = _authenticate(body)
    data = _load(body)
    if principal.token_expired_at is not None:  # only a payout owed (UPSIDE_PAYOUT_GRACE)
        base.bind(expired_token=True)
        base.in_transaction(upside_auth.allow_expired_token, principal, data)
    answer = _run(TRIGGERS[data["trigger"]], Call(principal.player_id, principal.key, data))
    base.bind(outcome="ok")
    return _json({"success": True, "trigger": data["trigger"], **answer}, 200)


def _authenticate(body: bytes) -> upside_auth.Principal:
    credentials = upside_auth.Credentials.from_headers(
        {name: request.headers.get(name, "") for name in upside_auth.HEADERS.values()}
    )
    settings = _settings()
    now = datetime.now(UTC)
    with UnitOfWork(current_app.extensions["wallet.engine"]) as uow:
        principal = upside_auth.authenticate(uow.conn, credentials, body, settings, now)
        base.bind(provider=NAME, player=principal.player_id, api_key=principal.key.key)
        upside_auth.admit(uow.conn, principal, credentials, request.remote_addr, settings, now)
        uow.commit()
    return principal


def _settings() -> upside_auth.Settings:
    config = current_app.config
    try:
        box: upside_keys.SecretBox | None = upside_keys.SecretBox.from_config(config)
    except upside_keys.KeyEncryptionNotConfigured:
        box = None
    secrets = rotation.accepted(config, "UPSIDE_JWT_SECRET")
    grace = config["UPSIDE_PAYOUT_GRACE"].timedelta()
    return upside_auth.Settings(secrets, config["UPSIDE_REPLAY_WINDOW_S"], box, grace)


def _load(body: bytes) -> dict[str, Any]:
    base.require_json_content_type()
    data = schemas.load(ACTION, schemas.parse_json_object(body))
    base.bind(action=data["trigger"], session=data.get("session_id"), game=data.get("game_type"))
    missing = [name for name in REQUIRED.get(data["trigger"], ()) if data.get(name) is None]
    if missing:
        names = ", ".join(ACTION.fields[m].data_key or m for m in missing)
        raise errors.InvalidRequest(f"{data['trigger']} needs {names}")
    if data.get("game_data") is not None:
        schemas.check_storable_json(data["game_data"], "gameData")
    for field, wire_name in (("bet_amount", "betAmount"), ("payout_amount", "payoutAmount")):
        if field in data:
            data[field] = win_units.parse_atomic(data[field], wire_name)
    return data


def _run(trigger: Callable[[Connection, Call], Any], call: Call) -> dict[str, Any]:
    """One trigger in one transaction. A declined bet is committed (the session is
    recorded as failed) and then answered as the error it returned."""
    with UnitOfWork(current_app.extensions["wallet.engine"]) as uow:
        _check_scope(uow.conn, call)
        answer = trigger(uow.conn, call)
        uow.commit()
    if isinstance(answer, Exception):
        raise answer
    result: dict[str, Any] = answer
    return result


def _check_scope(conn: Connection, call: Call) -> None:
    """A game outside the key's scope is 403, or 404 when no such game exists at all."""
    game_type = call.data.get("game_type")
    if game_type and game_type not in call.key.games:
        games.find(conn, game_type)
        upside_keys.check_game(call.key, game_type)


def _json(body: dict[str, Any], status: int) -> Response:
    return Response(exact_json.dumps(body), status=status, mimetype="application/json")


def _failure(status: int, code: str, message: str) -> Response:
    base.bind(outcome=code)
    return _json({"success": False, "error": {"code": code, "message": message}}, status)


@blueprint.errorhandler(Exception)
def _handle(exc: Exception) -> Response:
    for kind, status, code in STATUS:
        if isinstance(exc, kind):
            answered = code or str(getattr(exc, "code", "ERROR"))
            log.info("upside request refused", code=answered, reason=str(exc))
            return _failure(status, answered, str(exc))
    if isinstance(exc, HTTPException) and exc.code is not None and exc.code < 500:
        return _failure(400, "INVALID_REQUEST", exc.description or exc.name)
    if isinstance(exc, SQLAlchemyError):
        base.log_database_error(log, "database unavailable", exc)
        return _failure(503, "INTERNAL_ERROR", "the wallet is temporarily unavailable; retry")
    log.exception("unexpected error")
    return _failure(500, "INTERNAL_ERROR", "internal error")
