"""Hypetech webhooks: ``getBalance``, ``register`` (bet), ``rewards`` (win), ``rollback``.

Each request: ``Hype-Hash`` signature → content type → strict JSON → schema → the
wallet core → Hypetech's answer. Failures are RFC 7807 problem documents. Paths
come from ``HYPETECH_PATH_*``; the signed URL is ``HYPETECH_WEBHOOK_BASE_URL`` +
that path. Both document versions are read: ``player_id`` or ``user_id`` on
getBalance, and a rollback either names the bet in ``linked_tx_id`` (newer) or
carries the bet's own id as ``provider_tx_id`` (older). See ``docs/hypetech.md``.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import structlog
from flask import Blueprint, current_app, jsonify, request
from flask.blueprints import BlueprintSetupState
from flask.typing import ResponseReturnValue
from marshmallow import EXCLUDE, Schema, ValidationError, fields, validates_schema
from sqlalchemy import Connection
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from app import errors, rotation
from app.core import money, wallet
from app.providers import base, schemas
from app.providers.hypetech import signature
from app.providers.hypetech.problems import problem

NAME = "hypetech"
OLD_ROLLBACK_PREFIX = "rollback:"
NOT_STORED = {"user_id", "player_id", "amount", "currency", "provider_tx_id", "session_token"}

blueprint = Blueprint(NAME, __name__)
SECRET_HEADERS = ("Hype-Hash",)
log = structlog.get_logger(__name__)


class AmbiguousCurrency(errors.InvalidRequest):
    """No currency in the request and no single wallet or default to fall back on."""


class _Schema(Schema):
    class Meta:
        unknown = EXCLUDE

    currency = schemas.Currency(
        load_default=None,
        allow_none=True,
        metadata={
            "description": "ISO 4217 code; when absent, the player's only wallet or "
            "HYPETECH_DEFAULT_CURRENCY"
        },
    )


class BalanceSchema(_Schema):
    player_id = schemas.PlayerId(
        load_default=None,
        allow_none=True,
        metadata={"description": "the player's id (older document); or user_id"},
    )
    user_id = schemas.PlayerId(
        load_default=None,
        allow_none=True,
        metadata={"description": "the player's id (newer document); or player_id"},
    )

    @validates_schema
    def _one_player(self, data: dict[str, Any], **kwargs: Any) -> None:
        given = {data.get("player_id"), data.get("user_id")} - {None}
        if len(given) != 1:
            raise ValidationError("send the player's id as player_id or user_id (one id)")


class MoneySchema(_Schema):
    user_id = schemas.PlayerId(required=True, metadata={"description": "the player's id"})
    provider_tx_id = schemas.ProviderId(
        required=True,
        metadata={"description": "Hypetech's id of this transaction; a repeat is answered again"},
    )
    linked_tx_id = schemas.ProviderId(
        load_default=None,
        allow_none=True,
        metadata={"description": "the bet this win belongs to"},
    )
    amount = fields.Raw(required=True, metadata=schemas.AMOUNT_DOC)


class RollbackSchema(MoneySchema):
    provider_tx_id = schemas.ProviderId(
        required=True,
        metadata={
            "description": "this rollback's own id; without linked_tx_id (older document), "
            "the id of the bet to reverse"
        },
    )
    linked_tx_id = schemas.ProviderId(
        load_default=None,
        allow_none=True,
        metadata={"description": "the id of the transaction to reverse (newer document)"},
    )
    amount = fields.Raw(
        load_default=None,
        allow_none=True,
        metadata={
            **schemas.AMOUNT_DOC,
            "description": "a decimal string or an exact JSON number, for the record: "
            "the original's amount is the one reversed",
        },
    )


# Built once: a schema instance is reusable across requests and threads.
BALANCE, MONEY, ROLLBACK = BalanceSchema(), MoneySchema(), RollbackSchema()


# --- routes -----------------------------------------------------------------------------


def get_balance() -> ResponseReturnValue:
    _, data = _read(BALANCE)
    player = data["player_id"] or data["user_id"]
    base.bind(action="getBalance", player=player)
    currency, balance = base.run_in_request(_balance, player, data["currency"])
    return jsonify(
        balance=money.format_amount(balance, currency), user_id=player, currency=currency
    )


def register() -> ResponseReturnValue:
    return _bet_or_win(wallet.Kind.BET)


def rewards() -> ResponseReturnValue:
    return _bet_or_win(wallet.Kind.WIN)


def rollback() -> ResponseReturnValue:
    body, data = _read(ROLLBACK)
    base.bind(action="rollback")
    external_id, original = rollback_ids(data["provider_tx_id"], data["linked_tx_id"])
    currency = _resolve_currency(data, [external_id, original])
    amount = Decimal(0) if data["amount"] is None else schemas.amount(data, currency)
    outcome = base.execute(
        _money_request(body, data, wallet.Kind.ROLLBACK, external_id, currency, amount, original)
    )
    return jsonify(
        old_balance=money.format_amount(outcome.balance_before, currency),
        new_balance=money.format_amount(outcome.balance_after, currency),
    )


ROUTES = {
    "HYPETECH_PATH_GET_BALANCE": get_balance,
    "HYPETECH_PATH_REGISTER": register,
    "HYPETECH_PATH_REWARDS": rewards,
    "HYPETECH_PATH_ROLLBACK": rollback,
}


@blueprint.record
def _add_routes(state: BlueprintSetupState) -> None:
    """Routes are added at registration so their paths can come from the app's settings."""
    for setting, view in ROUTES.items():
        state.add_url_rule(state.app.config[setting], view.__name__, view, methods=["POST"])


def rollback_ids(provider_tx_id: str, linked_tx_id: str | None) -> tuple[str, str]:
    """(this rollback's own idempotency key, the id of the transaction it reverses).

    The older document sends only the bet's id, so that rollback is keyed
    ``rollback:<bet id>`` to keep it apart from the bet in the (provider, id) space.
    """
    if linked_tx_id and linked_tx_id != provider_tx_id:
        return provider_tx_id, linked_tx_id
    own = OLD_ROLLBACK_PREFIX + provider_tx_id
    if len(own) > 128:
        raise errors.InvalidRequest(
            "provider_tx_id: at most 119 characters for a rollback without linked_tx_id"
        )
    return own, provider_tx_id


# --- reading ----------------------------------------------------------------------------


def _read(schema: Schema) -> tuple[dict[str, Any], dict[str, Any]]:
    """Verify, parse and validate the body: (the whole body, the fields the schema knows)."""
    raw = base.raw_body()
    secrets = rotation.accepted(current_app.config, "HYPETECH_API_KEY")
    signature.verify(secrets, signed_url(), raw, request.headers.get("Hype-Hash"))
    base.require_json_content_type()
    body = schemas.parse_json_object(raw)
    return body, schemas.load(schema, body)


def signed_url() -> str:
    """The public URL Hypetech signs: the configured base + the route's path."""
    configured = current_app.config["HYPETECH_WEBHOOK_BASE_URL"]
    assert request.url_rule is not None
    if configured:
        return str(configured).rstrip("/") + request.url_rule.rule
    return request.host_url.rstrip("/") + request.path


def _bet_or_win(kind: wallet.Kind) -> ResponseReturnValue:
    body, data = _read(MONEY)
    base.bind(action=str(kind))
    tx_id = data["provider_tx_id"]
    related = [tx_id] + ([data["linked_tx_id"]] if data["linked_tx_id"] else [])
    currency = _resolve_currency(data, related)
    amount = schemas.amount(data, currency)
    outcome = base.execute(_money_request(body, data, kind, tx_id, currency, amount))
    if outcome.declined:
        return _declined(outcome)
    provider = body.get("provider") if isinstance(body.get("provider"), str) else NAME
    return jsonify(
        operator_tx_id=str(outcome.transaction_id),
        new_balance=money.format_amount(outcome.balance_after, currency),
        old_balance=money.format_amount(outcome.balance_before, currency),
        user_id=data["user_id"],
        currency=currency,
        provider=provider,
        provider_tx_id=tx_id,
    )


def _money_request(
    body: dict[str, Any],
    data: dict[str, Any],
    kind: wallet.Kind,
    external_id: str,
    currency: str,
    amount: Decimal,
    reference_id: str | None = None,
) -> wallet.Request:
    return wallet.Request(
        provider=NAME,
        external_id=external_id,
        kind=kind,
        player_id=data["user_id"],
        currency=currency,
        amount=amount,
        reference_id=reference_id,
        details=stored_details(body),
    )


def stored_details(body: dict[str, Any]) -> dict[str, Any] | None:
    """Every field without a column of its own (``mode``, ``bonus_code``, ``extra_data``, …).

    Kept as JSON PostgreSQL can store: non-integral numbers become exact decimal
    strings, and NUL or lone surrogates in text become U+FFFD. The session token
    is not stored.
    """
    extra = {key: value for key, value in body.items() if key not in NOT_STORED}
    return _storable(extra) or None


def _storable(value: Any) -> Any:
    if isinstance(value, Decimal):
        small = value.is_finite() and value.adjusted() < 19  # int(1e999999) takes minutes
        return int(value) if small and value == value.to_integral_value() else str(value)
    if isinstance(value, str):
        return value.encode("utf-8", "replace").decode("utf-8").replace("\x00", "\ufffd")
    if isinstance(value, list):
        return [_storable(item) for item in value]
    if isinstance(value, dict):
        return {_storable(key): _storable(item) for key, item in value.items()}
    return value


# --- currency and balance -------------------------------------------------------------


def _resolve_currency(data: dict[str, Any], related: list[str]) -> str:
    """The request's currency without a database call when it names one."""
    if data["currency"]:
        return str(data["currency"])
    return str(base.run_in_request(_currency_for, data["user_id"], None, related))


def _currency_for(conn: Connection, player: str, given: str | None, related: list[str]) -> str:
    """The request's currency; else the currency of the player's own transaction it repeats
    or names; else the player's only wallet; else ``HYPETECH_DEFAULT_CURRENCY``."""
    if given:
        return given
    for external_id in related:
        found = wallet.currency_of(conn, NAME, external_id, player)
        if found:
            return found
    wallets = sorted(wallet.balances(conn, player))
    if len(wallets) == 1:
        return wallets[0]
    default = current_app.config["HYPETECH_DEFAULT_CURRENCY"]
    if default and (default in wallets or not wallets):
        return str(default)
    if not wallets:
        raise errors.CurrencyNotEnabled(f"player {player!r} has no wallet")
    raise AmbiguousCurrency(f"player {player!r} has wallets in {', '.join(wallets)}: send currency")


def _balance(conn: Connection, player: str, given: str | None) -> tuple[str, Decimal]:
    currency = _currency_for(conn, player, given, [])
    found = wallet.balances(conn, player, currency)
    if currency not in found:
        raise errors.CurrencyNotEnabled(f"player {player!r} has no {currency} wallet")
    return currency, found[currency]


# --- errors -----------------------------------------------------------------------------

DECLINES = {
    wallet.Reason.INSUFFICIENT_FUNDS: (402, "INSUFFICIENT_FUNDS", "Insufficient funds"),
    wallet.Reason.PLAYER_BLOCKED: (403, "PLAYER_BLOCKED", "Player is blocked"),
    wallet.Reason.PLAYER_EXCLUDED: (403, "PLAYER_EXCLUDED", "Player is self-excluded"),
    wallet.Reason.LIMIT_EXCEEDED: (403, "LIMIT_EXCEEDED", "Player limit exceeded"),
    wallet.Reason.CANCELLED: (409, "TRANSACTION_ROLLED_BACK", "Transaction was rolled back"),
}
ERRORS: list[tuple[type[Exception], int, str, str]] = [
    (errors.InvalidSignature, 401, "INVALID_SIGNATURE", "Invalid signature"),
    (AmbiguousCurrency, 400, "CURRENCY_AMBIGUOUS", "Currency is ambiguous"),
    (errors.UnknownCurrency, 400, "UNKNOWN_CURRENCY", "Unknown currency"),
    (errors.InvalidAmount, 400, "INVALID_AMOUNT", "Invalid amount"),
    (errors.InvalidRequest, 400, "INVALID_REQUEST", "Invalid request"),
    (errors.UnknownPlayer, 404, "PLAYER_NOT_FOUND", "Player not found"),
    (errors.CurrencyNotEnabled, 404, "WALLET_NOT_FOUND", "Player has no wallet in this currency"),
    (errors.TransactionConflict, 409, "TRANSACTION_CONFLICT", "Transaction conflict"),
]


def _declined(outcome: wallet.Outcome) -> ResponseReturnValue:
    status, code, title = DECLINES.get(
        outcome.reason or wallet.Reason.CANCELLED, DECLINES[wallet.Reason.CANCELLED]
    )
    extra: dict[str, Any] = {}
    if status == 402:
        extra = {
            "balance": money.format_amount(outcome.balance_after, outcome.currency),
            "currency": outcome.currency,
        }
    if outcome.remaining is not None:
        extra = {
            "limit": outcome.limit,
            "remaining": money.format_amount(outcome.remaining, outcome.currency),
            "currency": outcome.currency,
        }
    amount = money.format_amount(outcome.amount, outcome.currency)
    detail = f"{outcome.kind} {amount} {outcome.currency} declined: {outcome.reason}"
    return problem(status, code, title, detail, **extra)


@blueprint.errorhandler(Exception)
def _handle(exc: Exception) -> ResponseReturnValue:
    for kind, status, code, title in ERRORS:
        if isinstance(exc, kind):
            log.info("hypetech request refused", code=code, reason=str(exc))
            return problem(status, code, title, str(exc))
    if isinstance(exc, RequestEntityTooLarge):
        limit = current_app.config["MAX_BODY_BYTES"]
        return problem(400, "BODY_TOO_LARGE", "Body too large", f"bodies are at most {limit} bytes")
    if isinstance(exc, HTTPException) and exc.code is not None and exc.code < 500:
        return problem(400, "INVALID_REQUEST", "Invalid request", str(exc.description))
    if isinstance(exc, OperationalError | PoolTimeout) or base.connection_lost(exc):
        base.log_database_error(log, "database unavailable", exc)
        return problem(503, "SERVICE_UNAVAILABLE", "Service unavailable", "retry later")
    if isinstance(exc, SQLAlchemyError):
        base.log_database_error(log, "database error", exc)
    else:
        log.exception("unexpected error")
    return problem(500, "INTERNAL_ERROR", "Internal error", "the wallet could not answer")
