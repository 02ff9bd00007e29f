"""``Hype-Hash``: hex HMAC-SHA256 of ``url + JSON.stringify(body)`` keyed with the API key.

Hypetech's Node process signs the object it sends, so the bytes we receive are
usually exactly ``JSON.stringify(body)`` and the raw body is checked first. A body
that reached us re-serialized (other whitespace, ``200.0`` for ``200``, escaped
non-ASCII) is checked a second time against JavaScript's serialization of what it
parses to (:mod:`app.providers.hypetech.jsjson`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from decimal import Decimal

from app.errors import InvalidSignature
from app.providers import base
from app.providers.hypetech import jsjson


def sign(secret: str, url: str, message: bytes) -> str:
    return base.hmac_sha256_hex(secret, url.encode() + message)


def verify(secrets: str | Sequence[str] | None, url: str, raw: bytes, given: str | None) -> None:
    """Raise ``InvalidSignature`` unless ``given`` signs ``url`` + the body with one of the
    accepted keys (the current one, and the previous one during a rotation); no key, no entry."""
    keys = base.accepted_secrets(secrets)
    if not keys:
        raise InvalidSignature("HYPETECH_API_KEY is not configured: every webhook is refused")
    if not given:
        raise InvalidSignature("the Hype-Hash header is missing")
    claimed = base.claimed_signature(given)
    if base.signs_with_any(keys, url.encode() + raw, claimed):
        return
    text = javascript_text(raw)
    if text is None or not base.signs_with_any(keys, (url + text).encode(), claimed):
        raise InvalidSignature(f"Hype-Hash does not sign {url} with this body")


def javascript_text(raw: bytes) -> str | None:
    """``JSON.stringify(JSON.parse(raw))`` as Node would write it; None if not JSON."""
    try:
        return jsjson.stringify(json.loads(raw.decode("utf-8"), parse_float=Decimal))
    except (ValueError, RecursionError):
        return None
