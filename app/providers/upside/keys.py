"""Upside API keys: game workers' HMAC credentials, their scope and their limits.

* The **secret** is needed in clear to verify each request's HMAC, so it is stored
  encrypted (Fernet: AES-128-CBC + HMAC-SHA256) under a key derived with HKDF from
  ``UPSIDE_KEY_ENCRYPTION_KEY``, or from ``UPSIDE_JWT_SECRET`` when that is unset.
* The **passphrase** is only compared, so only a salted hash is stored. We generate
  it with 144 random bits, so a slow password hash buys nothing against guessing and
  would cost ~10–20 ms of CPU on every request: SHA-256 is used (scrypt hashes of
  older keys are still verified).
* Used signatures and request counts per rate-limit window live in PostgreSQL, so
  every gunicorn worker refuses the same replay and counts against the same limit.

Functions take a Connection and never commit.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import Connection, Row, delete, select
from sqlalchemy.dialects.postgresql import insert

from app.errors import InvalidRequest, WalletError
from app.providers.upside import games
from app.providers.upside.errors import (
    AddressNotAllowed,
    AuthenticationFailed,
    GameNotAllowed,
    KeyExpired,
    RateLimited,
    ReplayedRequest,
)
from app.providers.upside.models import upside_api_keys, upside_rate_windows, upside_used_signatures

KEY_PREFIX = "upk_"
_HKDF_INFO = b"seamless-wallet upside api-key secrets v1"
_SCRYPT = {"n": 2**12, "r": 8, "p": 1}
PRUNE_ONE_IN = 64  # one request in 64, picked by its signature's hash, drops old signatures


class KeyEncryptionNotConfigured(WalletError):
    """Neither UPSIDE_KEY_ENCRYPTION_KEY nor UPSIDE_JWT_SECRET is set."""


class UnknownKey(WalletError):
    """No API key with this id."""


@dataclass(frozen=True)
class NewKey:
    key: str
    secret: str
    passphrase: str


@dataclass(frozen=True)
class RateLimit:
    """``count`` requests per window of ``window_s`` seconds; shown as ``30/h``."""

    count: int
    window_s: int

    def __str__(self) -> str:
        return f"{self.count}/{_WINDOW_NAMES[self.window_s]}"


@dataclass(frozen=True)
class ApiKey:
    key: str
    secret_ciphertext: str
    passphrase_hash: str
    games: tuple[str, ...]
    allowed_networks: tuple[str, ...]
    rate_limit: RateLimit | None
    expires_at: datetime | None
    revoked_at: datetime | None
    created_at: datetime

    def public(self) -> dict[str, Any]:
        """What ``keys list`` shows: never the secret or the passphrase."""
        return {
            "key": self.key,
            "games": list(self.games),
            "allowed_ips": list(self.allowed_networks),
            "rate_limit": None if self.rate_limit is None else str(self.rate_limit),
            "expires_at": self.expires_at,
            "revoked_at": self.revoked_at,
            "created_at": self.created_at,
        }


class SecretBox:
    """Encrypts key secrets at rest with a Fernet key derived from the environment.

    During a rotation of the key-encryption material the previous material still
    decrypts (MultiFernet); new secrets and :func:`reencrypt_all` use the current one.
    """

    def __init__(self, material: str | None, previous: str | None = None) -> None:
        if not material:
            raise KeyEncryptionNotConfigured(
                "set UPSIDE_KEY_ENCRYPTION_KEY (or at least UPSIDE_JWT_SECRET) "
                "to use Upside API keys"
            )
        keys = [_fernet(material)] + ([_fernet(previous)] if previous else [])
        self._fernet = MultiFernet(keys)

    @classmethod
    def from_config(cls, config: Any) -> SecretBox:
        """``UPSIDE_KEY_ENCRYPTION_KEY`` (else ``UPSIDE_JWT_SECRET``), and the previous of
        whichever is in use, so rotating either keeps stored secrets readable."""
        if config.get("UPSIDE_KEY_ENCRYPTION_KEY"):
            return cls(
                config.get("UPSIDE_KEY_ENCRYPTION_KEY"),
                config.get("UPSIDE_KEY_ENCRYPTION_KEY_PREVIOUS"),
            )
        return cls(config.get("UPSIDE_JWT_SECRET"), config.get("UPSIDE_JWT_SECRET_PREVIOUS"))

    def encrypt(self, secret: str) -> str:
        return self._fernet.encrypt(secret.encode()).decode()

    def decrypt(self, ciphertext: str) -> str:
        try:
            return self._fernet.decrypt(ciphertext.encode()).decode()
        except InvalidToken:
            raise AuthenticationFailed(
                "this API key's secret cannot be decrypted with the configured key-encryption "
                "key; create a new API key"
            ) from None

    def rotate(self, ciphertext: str) -> str:
        """The same secret encrypted under the current material."""
        try:
            return self._fernet.rotate(ciphertext.encode()).decode()
        except InvalidToken:
            raise AuthenticationFailed(
                "an API key's secret cannot be decrypted with the current or previous "
                "key-encryption key"
            ) from None


def _fernet(material: str) -> Fernet:
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_HKDF_INFO)
    return Fernet(base64.urlsafe_b64encode(hkdf.derive(material.encode())))


def reencrypt_all(conn: Connection, box: SecretBox) -> int:
    """Re-encrypt every stored key secret under the current material; returns how many.

    Run after rotating the key-encryption material, before unsetting the previous one.
    """
    rows = conn.execute(
        select(upside_api_keys.c.key, upside_api_keys.c.secret_ciphertext).with_for_update()
    ).all()
    for row in rows:
        conn.execute(
            upside_api_keys.update()
            .where(upside_api_keys.c.key == row.key)
            .values(secret_ciphertext=box.rotate(row.secret_ciphertext))
        )
    return len(rows)


def hash_passphrase(passphrase: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.sha256(salt + passphrase.encode()).digest()
    return "sha256$" + base64.b64encode(salt).decode() + "$" + base64.b64encode(digest).decode()


def passphrase_matches(passphrase: str, stored: str) -> bool:
    scheme, salt_text, expected = stored.split("$")
    salt = base64.b64decode(salt_text)
    if scheme == "scrypt":
        digest = hashlib.scrypt(passphrase.encode(), salt=salt, **_SCRYPT)
    else:
        digest = hashlib.sha256(salt + passphrase.encode()).digest()
    return hmac.compare_digest(base64.b64encode(digest).decode(), expected)


def create(
    conn: Connection,
    box: SecretBox,
    game_types: Sequence[str],
    expires_at: datetime | None = None,
    networks: Sequence[str] = (),
    rate_limit: RateLimit | None = None,
) -> NewKey:
    """Create a key for existing ``game_types``; the secret and passphrase are returned once."""
    if not game_types:
        raise InvalidRequest("a key needs at least one --game")
    for game_type in game_types:
        games.find(conn, game_type)
    new = NewKey(
        KEY_PREFIX + secrets.token_hex(12), secrets.token_urlsafe(32), secrets.token_urlsafe(18)
    )
    conn.execute(
        upside_api_keys.insert().values(
            key=new.key,
            secret_ciphertext=box.encrypt(new.secret),
            passphrase_hash=hash_passphrase(new.passphrase),
            games=sorted(set(game_types)),
            allowed_networks=[parse_network(n) for n in networks],
            rate_limit=rate_limit.count if rate_limit else None,
            rate_limit_window_s=rate_limit.window_s if rate_limit else None,
            expires_at=expires_at,
        )
    )
    return new


def find(conn: Connection, key: str) -> ApiKey | None:
    row = conn.execute(select(upside_api_keys).where(upside_api_keys.c.key == key)).first()
    return None if row is None else _api_key(row)


def list_all(conn: Connection) -> list[ApiKey]:
    rows = conn.execute(select(upside_api_keys).order_by(upside_api_keys.c.created_at))
    return [_api_key(row) for row in rows]


def revoke(conn: Connection, key: str, now: datetime) -> None:
    updated = conn.execute(
        upside_api_keys.update()
        .where(upside_api_keys.c.key == key, upside_api_keys.c.revoked_at.is_(None))
        .values(revoked_at=now)
    ).rowcount
    if not updated and find(conn, key) is None:
        raise UnknownKey(f"no Upside API key {key!r}")


def check_policy(key: ApiKey, now: datetime, remote_addr: str | None) -> None:
    """Expiry and IP allowlist (HTTP 403); revocation is an authentication failure."""
    if key.revoked_at is not None:
        raise AuthenticationFailed("this API key has been revoked")
    if key.expires_at is not None and now >= key.expires_at:
        raise KeyExpired(f"API key expired at {key.expires_at.isoformat()}")
    if key.allowed_networks and not _address_allowed(remote_addr, key.allowed_networks):
        raise AddressNotAllowed(f"API key is not allowed from address {remote_addr}")


def check_game(key: ApiKey, game_type: str) -> None:
    if game_type not in key.games:
        raise GameNotAllowed(f"API key is not allowed for game {game_type!r}")


def remember_signature(
    conn: Connection, signature: str, expires_at: datetime, now: datetime
) -> None:
    """Accept a signature once; any worker seeing it again inside the window refuses it."""
    digest = hashlib.sha256(signature.encode()).digest()
    inserted = conn.execute(
        insert(upside_used_signatures)
        .values(digest=digest, expires_at=expires_at)
        .on_conflict_do_nothing()
        .returning(upside_used_signatures.c.digest)
    ).first()
    if inserted is None:
        raise ReplayedRequest(
            "request already processed: this exact signed request was already received "
            "(a replay); sign every new request with a fresh timestamp"
        )
    if digest[0] < 256 // PRUNE_ONE_IN:
        forget_closed_signatures(conn, now)


def forget_closed_signatures(conn: Connection, now: datetime) -> None:
    """Signatures whose timestamp left the window can no longer pass; drop them.

    Run by about one request in 64 (chosen by the signature's hash), so the table stays
    small without every request contending for the same deletions.
    """
    conn.execute(delete(upside_used_signatures).where(upside_used_signatures.c.expires_at < now))


def count_request(conn: Connection, key: ApiKey, now: datetime) -> None:
    """Count the request in its key's current window; over the limit is HTTP 429.

    Windows are fixed and aligned on UTC: the second, minute, hour or day ``now`` is in.
    """
    limit = key.rate_limit
    if limit is None:
        return
    epoch_s = int(now.timestamp())
    window = datetime.fromtimestamp(epoch_s - epoch_s % limit.window_s, UTC)
    count = conn.execute(
        insert(upside_rate_windows)
        .values(key=key.key, window_start=window, count=1)
        .on_conflict_do_update(
            index_elements=["key", "window_start"],
            set_={"count": upside_rate_windows.c.count + 1},
        )
        .returning(upside_rate_windows.c.count)
    ).scalar_one()
    if count == 1:
        conn.execute(
            delete(upside_rate_windows).where(
                upside_rate_windows.c.key == key.key, upside_rate_windows.c.window_start < window
            )
        )
    if count > limit.count:
        retry_at = window + timedelta(seconds=limit.window_s)
        raise RateLimited(
            f"rate limit of {limit} requests reached; retry at {retry_at.isoformat()}"
        )


def parse_network(raw: str) -> str:
    try:
        return str(ipaddress.ip_network(raw.strip(), strict=False))
    except ValueError:
        raise InvalidRequest(f"--allow-ip {raw!r} is not an IP address or CIDR block") from None


_WINDOWS = {
    "s": 1, "sec": 1, "second": 1,
    "m": 60, "min": 60, "minute": 60,
    "h": 3600, "hour": 3600,
    "d": 86400, "day": 86400,
}  # fmt: skip
_WINDOW_NAMES = {1: "s", 60: "min", 3600: "h", 86400: "d"}
_RATE = re.compile(r"([1-9][0-9]{0,6})\s*(?:/\s*([a-z]+))?")


def parse_rate_limit(raw: str) -> RateLimit:
    """``"30/h"`` → 30 per hour; also ``/s``, ``/min`` and ``/d``; a bare count is per minute."""
    match = _RATE.fullmatch(raw.strip().lower())
    window_s = _WINDOWS.get(match.group(2) or "min") if match else None
    if match is None or window_s is None:
        raise InvalidRequest(f"--rate-limit {raw!r} must look like 10/s, 600/min, 30/h or 5000/d")
    return RateLimit(int(match.group(1)), window_s)


def _address_allowed(remote_addr: str | None, networks: Sequence[str]) -> bool:
    try:
        address = ipaddress.ip_address(remote_addr or "")
    except ValueError:
        return False
    return any(address in ipaddress.ip_network(n) for n in networks)


def _api_key(row: Row) -> ApiKey:
    return ApiKey(
        key=row.key,
        secret_ciphertext=row.secret_ciphertext,
        passphrase_hash=row.passphrase_hash,
        games=tuple(row.games),
        allowed_networks=tuple(row.allowed_networks),
        rate_limit=RateLimit(row.rate_limit, row.rate_limit_window_s) if row.rate_limit else None,
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
        created_at=row.created_at,
    )
