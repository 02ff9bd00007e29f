"""What every provider adapter shares: reading the body, running the wallet, logging."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from typing import Any, TypeVar

import structlog
from flask import current_app, request

from app import wallet
from app.db import UnitOfWork
from app.errors import InvalidRequest, InvalidSignature

T = TypeVar("T")


def raw_body() -> bytes:
    """The request body as sent, refused past ``MAX_BODY_BYTES`` (Flask raises 413)."""
    return request.get_data(cache=True)


def require_json_content_type() -> None:
    if request.mimetype != "application/json":
        raise InvalidRequest("Content-Type must be application/json")


def hmac_sha256_hex(secret: str, message: bytes) -> str:
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def check_hex_signature(secret: str | None, message: bytes, given: str | None) -> None:
    """Compare a hex HMAC-SHA256 in constant time; a missing secret refuses everything."""
    if not secret:
        raise InvalidSignature("this provider's secret is not configured")
    if not given:
        raise InvalidSignature("signature header is missing")
    expected = hmac_sha256_hex(secret, message)
    if not hmac.compare_digest(expected.encode(), given.strip().lower().encode()):
        raise InvalidSignature("signature does not match the body")


def in_transaction(work: Callable[..., T], *args: Any) -> T:
    """Run ``work(conn, *args)`` in one database transaction and commit it."""
    with UnitOfWork(current_app.extensions["wallet.engine"]) as uow:
        result = work(uow.conn, *args)
        uow.commit()
    return result


def execute(money_request: wallet.Request) -> wallet.Outcome:
    """Apply a money request exactly once and note its outcome for the request log."""
    bind(
        provider=money_request.provider,
        player=money_request.player_id,
        provider_tx_id=money_request.external_id,
        amount=str(money_request.amount),
        currency=money_request.currency,
    )
    outcome = in_transaction(wallet.execute, money_request)
    bind(
        outcome=outcome.reason or outcome.status,
        replayed=outcome.replayed,
        wallet_tx_id=outcome.transaction_id,
    )
    return outcome


def bind(**fields: Any) -> None:
    structlog.contextvars.bind_contextvars(**fields)
