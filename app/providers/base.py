"""What every provider adapter shares: reading the body, running the wallet, logging."""

from __future__ import annotations

import hmac
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from flask import current_app, request
from sqlalchemy.exc import DBAPIError
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from app import logs
from app.core import wallet
from app.db import LOST_PREPARED_STATEMENT, Database, sqlstate
from app.errors import InvalidRequest, InvalidSignature

T = TypeVar("T")


def raw_body() -> bytes:
    """The request body as sent, refused past ``MAX_BODY_BYTES`` however it is framed.

    A ``Content-Length`` over the limit is refused before anything is read. A chunked
    body has none, and werkzeug stops reading it at the request's limit without a word,
    so at most one byte more than allowed is read: if that byte arrives, the body is
    too large, rather than cut to a prefix that might be a complete, signed request. A
    body the server cannot read (a malformed chunk) is an invalid request.
    """
    limit = current_app.config["MAX_BODY_BYTES"]
    request.max_content_length = limit + 1
    try:
        body = request.get_data(cache=True)
    except HTTPException:
        raise
    except Exception as exc:  # the server could not read the client's framing (a bad chunk)
        raise InvalidRequest(f"the body could not be read ({type(exc).__name__})") from None
    if len(body) > limit:
        raise RequestEntityTooLarge(f"bodies are at most {limit} bytes")
    return body


def require_json_content_type() -> None:
    if request.mimetype != "application/json":
        raise InvalidRequest("Content-Type must be application/json")


def hmac_sha256_hex(secret: str, message: bytes) -> str:
    return hmac.digest(secret.encode(), message, "sha256").hex()  # OpenSSL's one-shot HMAC


def check_hex_signature(
    secrets: str | Sequence[str] | None, message: bytes, given: str | None
) -> None:
    """Compare a hex HMAC-SHA256 in constant time against each accepted secret (the
    current one and, during a rotation, the previous one); no secret refuses everything."""
    accepted = accepted_secrets(secrets)
    if not accepted:
        raise InvalidSignature("this provider's secret is not configured")
    if not given:
        raise InvalidSignature("signature header is missing")
    if not signs_with_any(accepted, message, claimed_signature(given)):
        raise InvalidSignature("signature does not match the body")


def accepted_secrets(secrets: str | Sequence[str] | None) -> list[str]:
    return [secrets] if isinstance(secrets, str) else list(secrets or [])


def claimed_signature(given: str) -> bytes:
    """The header's hex digest as compared: trimmed, lower-case, as bytes (any text)."""
    return given.strip().lower().encode("utf-8", "replace")


def signs_with_any(secrets: Sequence[str], message: bytes, claimed: bytes) -> bool:
    """Every secret is compared (``compare_digest``), so timing does not tell which."""
    matches = [
        hmac.compare_digest(hmac_sha256_hex(secret, message).encode(), claimed)
        for secret in secrets
    ]
    return any(matches)


def database() -> Database:
    return current_app.extensions["wallet.db"]


def run_in_request(work: Callable[..., T], *args: Any) -> T:
    """Run ``work(conn, *args)`` in one unit of work under the request's time budget, and
    commit it (``app.db.Database.run``)."""
    return database().run(work, *args)


def execute(money_request: wallet.Request) -> wallet.Outcome:
    """Apply a money request exactly once and note its outcome for the request log."""
    bind(
        provider=money_request.provider,
        player=money_request.player_id,
        provider_tx_id=money_request.external_id,
        amount=str(money_request.amount),
        currency=money_request.currency,
    )
    outcome = wallet.apply(database(), money_request)
    bind(
        outcome=outcome.reason or outcome.status,
        replayed=outcome.replayed,
        wallet_tx_id=outcome.transaction_id,
    )
    return outcome


def bind(**fields: Any) -> None:
    logs.bind(**fields)


POOLER_HINT = (
    "prepared statements reached another server connection: behind PgBouncer older than "
    "1.21 in transaction mode, set DB_PREPARE_THRESHOLD=off"
)


def connection_lost(exc: Exception) -> bool:
    """The database connection was lost (or found on a read-only standby) and is being
    replaced: the database is unavailable for now, as an ``OperationalError`` says."""
    return isinstance(exc, DBAPIError) and exc.connection_invalidated


def log_database_error(logger: Any, event: str, exc: Exception) -> None:
    """Log a database failure by class and SQLSTATE; not by message, which may quote
    parameter values. A misconfigured pooler gets a hint naming the setting."""
    state = sqlstate(exc)
    fields: dict[str, Any] = {"error": type(exc).__name__, "sqlstate": state}
    if state in LOST_PREPARED_STATEMENT:
        fields["hint"] = POOLER_HINT
    logger.error(event, **fields)
