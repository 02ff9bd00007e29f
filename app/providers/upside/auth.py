"""Authenticating an Upside game action: the worker's HMAC key, then the player's B3-JWT.

Order matters. Nothing but the API key row is read before the request is proven
authentic: headers present → key known and not revoked → timestamp inside the
replay window → signature over ``timestamp + "POST" + path + rawBody + b3Jwt`` →
passphrase → JWT. Then the key's policy (expiry, IP allowlist: 403), then the
signature is remembered (a replay is refused: 409, ``already processed``) and the
request counted against the key's rate limit (429). Flask-free: the adapter passes
the headers and the raw body.

A B3-JWT that expired less than ``UPSIDE_PAYOUT_GRACE`` ago still authenticates, but
only for a ``processPayout`` of a session whose bet was placed before it expired
(:func:`allow_expired_token`): a win owed to the player is paid, nothing else is done
with a stale token. Its signature and ``sub`` are checked as always.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from sqlalchemy import Connection, select

from app.core import players
from app.errors import InvalidRequest
from app.providers.upside import keys
from app.providers.upside.errors import AuthenticationFailed
from app.providers.upside.keys import ApiKey, SecretBox
from app.providers.upside.models import upside_sessions

PATH = "/upside/game-actions"
METHOD = "POST"
HEADERS = {
    "key": "UPSIDE-ACCESS-KEY",
    "signature": "UPSIDE-ACCESS-SIGN",
    "timestamp": "UPSIDE-ACCESS-TIMESTAMP",
    "passphrase": "UPSIDE-ACCESS-PASSPHRASE",
    "jwt": "B3-JWT",
}


@dataclass(frozen=True)
class Credentials:
    key: str
    signature: str
    timestamp: str
    passphrase: str
    jwt: str

    @classmethod
    def from_headers(cls, headers: Mapping[str, str]) -> Credentials:
        missing = [name for name in HEADERS.values() if not headers.get(name)]
        if missing:
            raise AuthenticationFailed(f"missing header(s): {', '.join(missing)}")
        return cls(**{field: headers[name].strip() for field, name in HEADERS.items()})


@dataclass(frozen=True)
class Settings:
    jwt_secrets: Sequence[str]
    replay_window_s: int
    box: SecretBox | None
    payout_grace: timedelta = timedelta(0)


@dataclass(frozen=True)
class Principal:
    """An authenticated request: which worker key, on behalf of which player."""

    key: ApiKey
    player_id: str
    signed_at: datetime
    token_expired_at: datetime | None = None  # set only inside UPSIDE_PAYOUT_GRACE


def authenticate(
    conn: Connection, credentials: Credentials, body: bytes, settings: Settings, now: datetime
) -> Principal:
    """Prove the request came from a key holder for this player; reads only the key row."""
    if not settings.jwt_secrets or settings.box is None:
        raise AuthenticationFailed("Upside is not configured on this wallet (UPSIDE_JWT_SECRET)")
    key = keys.find(conn, credentials.key)
    if key is None:
        raise AuthenticationFailed("unknown API key")
    if key.revoked_at is not None:
        raise AuthenticationFailed("this API key has been revoked")
    signed_at = check_timestamp(credentials.timestamp, now, settings.replay_window_s)
    secret = settings.box.decrypt(key.secret_ciphertext)
    check_signature(secret, credentials, body)
    if not keys.passphrase_matches(credentials.passphrase, key.passphrase_hash):
        raise AuthenticationFailed("passphrase does not match the API key")
    token = read_token(credentials.jwt, settings.jwt_secrets, settings.payout_grace)
    expired_at = token.expires_at if token.expires_at <= now else None
    return Principal(key, token.player_id, signed_at, expired_at)


def allow_expired_token(conn: Connection, principal: Principal, data: Mapping[str, Any]) -> None:
    """Refuse a request made with an expired (in-grace) B3-JWT unless it is the payout of
    a session whose bet was placed while the token was still valid."""
    expired_at = principal.token_expired_at
    if expired_at is None:
        return
    session_id = data.get("session_id")
    if data.get("trigger") == "processPayout" and session_id:
        placed = conn.execute(
            select(upside_sessions.c.created_at).where(upside_sessions.c.session_id == session_id)
        ).scalar()
        if placed is not None and placed < expired_at:
            return
    raise AuthenticationFailed("B3-JWT has expired")


def admit(
    conn: Connection,
    principal: Principal,
    credentials: Credentials,
    remote_addr: str | None,
    settings: Settings,
    now: datetime,
) -> None:
    """The key's policy, replay refusal and rate limit; the caller commits at once."""
    keys.check_policy(principal.key, now, remote_addr)
    expires_at = principal.signed_at + timedelta(seconds=settings.replay_window_s)
    keys.remember_signature(conn, credentials.signature, expires_at, now)
    keys.count_request(conn, principal.key, now)


def check_timestamp(raw: str, now: datetime, window_s: int) -> datetime:
    try:
        signed_at = datetime.fromisoformat(raw)
    except ValueError:
        raise AuthenticationFailed("UPSIDE-ACCESS-TIMESTAMP must be an ISO 8601 time") from None
    if signed_at.tzinfo is None:
        raise AuthenticationFailed("UPSIDE-ACCESS-TIMESTAMP needs a time zone, e.g. Z")
    if abs((now - signed_at).total_seconds()) > window_s:
        raise AuthenticationFailed(
            f"UPSIDE-ACCESS-TIMESTAMP is outside the {window_s}s replay window; "
            "check the worker's clock"
        )
    return signed_at


def prehash(credentials: Credentials, body: bytes) -> bytes:
    head = f"{credentials.timestamp}{METHOD}{PATH}".encode()
    return head + body + credentials.jwt.encode()


def sign(secret: str, message: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), message, hashlib.sha256).digest()).decode()


def check_signature(secret: str, credentials: Credentials, body: bytes) -> None:
    expected = sign(secret, prehash(credentials, body))
    if not hmac.compare_digest(expected.encode(), credentials.signature.encode()):
        raise AuthenticationFailed(
            "signature does not match: sign timestamp + POST + /upside/game-actions "
            "+ raw body + B3-JWT with the key's secret"
        )


@dataclass(frozen=True)
class Token:
    player_id: str
    expires_at: datetime


def player_of(token: str, secrets: str | Sequence[str]) -> str:
    """The player id (``sub``) of a B3-JWT this wallet issued (HS256, ``exp`` required),
    signed with the current secret or, during a rotation, the previous one."""
    return read_token(token, secrets).player_id


def read_token(token: str, secrets: str | Sequence[str], grace: timedelta = timedelta(0)) -> Token:
    """The B3-JWT's player and expiry, refused once it expired more than ``grace`` ago;
    the caller decides what an expired token inside the grace may still do."""
    accepted = [secrets] if isinstance(secrets, str) else list(secrets)
    for key in accepted:
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=["HS256"],
                options={"require": ["exp", "sub"]},
                leeway=grace,
            )
        except jwt.InvalidSignatureError:
            continue
        except jwt.ExpiredSignatureError:
            raise AuthenticationFailed("B3-JWT has expired") from None
        except jwt.InvalidTokenError as exc:
            raise AuthenticationFailed(f"B3-JWT is not valid: {exc}") from None
        return Token(_subject(claims), datetime.fromtimestamp(claims["exp"], UTC))
    raise AuthenticationFailed("B3-JWT is not valid: Signature verification failed")


def _subject(claims: Mapping[str, object]) -> str:
    """``sub`` follows the wallet's rule for player ids (:func:`players.check_id`)."""
    subject = claims.get("sub")
    try:
        return players.check_id(subject if isinstance(subject, str) else "")
    except InvalidRequest:
        raise AuthenticationFailed("B3-JWT sub must be a player id") from None


def mint_token(secret: str, player_id: str, ttl_s: int, now: datetime | None = None) -> str:
    """A B3-JWT for ``player_id``, valid for ``ttl_s`` seconds."""
    issued = now or datetime.now(UTC)
    claims = {"sub": player_id, "iat": issued, "exp": issued + timedelta(seconds=ttl_s)}
    return jwt.encode(claims, secret, algorithm="HS256")
