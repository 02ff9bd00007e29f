"""Upside game-actions: ``POST /upside/game-actions``, the server side of the WIN wallet.

The adapter authenticates (``auth``), loads the body, admits the request (its signature
is then used), checks the key's game scope, runs one trigger in one database transaction
and writes the answer. Money, sessions and pools live in ``games``, ``sessions`` and
``history``.
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

from app import errors, exact_json, rotation
from app.core import wallet
from app.providers import base, schemas
from app.providers.upside import auth, games, keys, win_units
from app.providers.upside import errors as upside_errors
from app.providers.upside.sessions import Declined
from app.providers.upside.triggers import TRIGGERS, Answer, Call

NAME = "upside"
blueprint = Blueprint(NAME, __name__, url_prefix="/upside")
SECRET_HEADERS = tuple(auth.HEADERS[part] for part in ("signature", "passphrase", "jwt"))
log = structlog.get_logger(__name__)

STATUS: list[tuple[type[Exception], int, str | None]] = [
    (upside_errors.AuthenticationFailed, 401, None),
    (keys.KeyEncryptionNotConfigured, 401, "AUTHENTICATION_FAILED"),
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
DECLINED = {
    wallet.Reason.INSUFFICIENT_FUNDS: (422, "INSUFFICIENT_BALANCE"),
    wallet.Reason.PLAYER_BLOCKED: (403, "PLAYER_BLOCKED"),
    wallet.Reason.PLAYER_EXCLUDED: (403, "PLAYER_EXCLUDED"),
    wallet.Reason.LIMIT_EXCEEDED: (422, "LIMIT_EXCEEDED"),
}
REQUIRED = {
    "getMaxBet": ("game_type",),
    "placeBet": ("game_type", "bet_amount"),
    "processPayout": ("game_type", "session_id", "payout_amount"),
}


_ATOMIC = "in atomic WIN units (18 decimals) as an integer string"


class ActionSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    trigger = fields.String(
        required=True,
        validate=validate.OneOf(list(TRIGGERS)),
        metadata={"description": "the action: it decides which other fields are read"},
    )
    game_type = schemas.Text(
        data_key="gameType",
        validate=validate.Length(1, 48),
        metadata={"description": "the game, as created with wallet upside games create"},
    )
    session_id = schemas.Text(
        data_key="sessionId",
        validate=validate.Length(1, 100),
        metadata={"description": "the game session; placeBet generates one when omitted"},
    )
    game_id = schemas.Text(
        data_key="gameId",
        validate=validate.Length(1, 100),
        metadata={"description": "the worker's id of the round; generated when omitted"},
    )
    bet_amount = fields.Raw(
        data_key="betAmount",
        metadata={**schemas.ATOMIC_DOC, "description": "placeBet's stake, " + _ATOMIC},
    )
    payout_amount = fields.Raw(
        data_key="payoutAmount",
        metadata={
            **schemas.ATOMIC_DOC,
            "description": "processPayout's payout (0 for a loss), " + _ATOMIC,
        },
    )
    result = schemas.Text(
        validate=validate.Length(1, 32),
        metadata={"description": "processPayout: the outcome; by default win or loss"},
    )
    game_data = fields.Raw(
        data_key="gameData",
        allow_none=True,
        metadata={"type": "object", "description": "whatever the game keeps, stored as given"},
    )
    client_nonce = schemas.Text(
        data_key="clientNonce",
        validate=validate.Length(max=256),
        metadata={"description": "placeBet: the worker's nonce, stored and shown in the history"},
    )
    thumbnail_url = schemas.Text(
        data_key="thumbnailUrl",
        validate=validate.Length(max=2048),
        metadata={"description": "placeBet: an image URL for the round, shown in the history"},
    )
    limit = fields.Integer(
        strict=True,
        validate=validate.Range(1, 100),
        metadata={"description": "getHistory: sessions per page (default 20)"},
    )
    offset = fields.Integer(
        strict=True,
        validate=validate.Range(0, 10**9),
        metadata={"description": "getHistory: sessions to skip"},
    )


ACTION = ActionSchema()  # built once, reused by every request


@blueprint.post("/game-actions")
def game_actions() -> Response:
    body = base.raw_body()
    principal, data = _authenticate_and_load(body)
    if principal.token_expired_at is not None:  # only a payout owed (UPSIDE_PAYOUT_GRACE)
        base.bind(expired_token=True)
        base.run_in_request(auth.allow_expired_token, principal, data)
    answer = _run(TRIGGERS[data["trigger"]], Call(principal.player_id, principal.key, data))
    if isinstance(answer, Declined):
        return _declined(answer)
    base.bind(outcome="ok")
    return _json({"success": True, "trigger": data["trigger"], **answer}, 200)


def _authenticate_and_load(body: bytes) -> tuple[auth.Principal, dict[str, Any]]:
    """Authenticate, read the body, then admit: the signature is remembered (and the request
    counted) only for a body the wallet accepts, so a refused one leaves nothing behind."""
    credentials = auth.Credentials.from_headers(
        {name: request.headers.get(name, "") for name in auth.HEADERS.values()}
    )
    settings = _settings()
    now = datetime.now(UTC)
    return base.run_in_request(_sign_in, credentials, body, settings, now)


def _sign_in(
    conn: Connection,
    credentials: auth.Credentials,
    body: bytes,
    settings: auth.Settings,
    now: datetime,
) -> tuple[auth.Principal, dict[str, Any]]:
    principal = auth.authenticate(conn, credentials, body, settings, now)
    base.bind(provider=NAME, player=principal.player_id, api_key=principal.key.key)
    data = _load(body)
    auth.admit(conn, principal, credentials, request.remote_addr, settings, now)
    return principal, data


def _settings() -> auth.Settings:
    config = current_app.config
    try:
        box: keys.SecretBox | None = keys.SecretBox.from_config(config)
    except keys.KeyEncryptionNotConfigured:
        box = None
    secrets = rotation.accepted(config, "UPSIDE_JWT_SECRET")
    grace = config["UPSIDE_PAYOUT_GRACE"].timedelta()
    return auth.Settings(secrets, config["UPSIDE_REPLAY_WINDOW_S"], box, grace)


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


def _run(trigger: Callable[[Connection, Call], Answer], call: Call) -> Answer:
    """One trigger in one transaction, committed: a declined bet too (its session is
    recorded as failed)."""
    return base.run_in_request(_scoped, trigger, call)


def _scoped(conn: Connection, trigger: Callable[[Connection, Call], Answer], call: Call) -> Answer:
    _check_scope(conn, call)
    return trigger(conn, call)


def _check_scope(conn: Connection, call: Call) -> None:
    """A game outside the key's scope is 403, or 404 when no such game exists at all."""
    game_type = call.data.get("game_type")
    if game_type and game_type not in call.key.games:
        games.find(conn, game_type)
        keys.check_game(call.key, game_type)


def _json(body: dict[str, Any], status: int) -> Response:
    return Response(exact_json.dumps(body), status=status, mimetype="application/json")


def _declined(declined: Declined) -> Response:
    status, code = DECLINED[declined.reason]
    log.info("upside request refused", code=code, reason=declined.message)
    base.bind(outcome=declined.reason)  # the wallet's word, as for every provider's declines
    return _failure(status, code, declined.message)


def _failure(status: int, code: str, message: str) -> Response:
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
