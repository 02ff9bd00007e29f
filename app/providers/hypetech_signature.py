"""``Hype-Hash``: hex HMAC-SHA256 of ``url + JSON.stringify(body)`` keyed with the API key.

Hypetech's Node process signs the object it sends, so the bytes we receive are
usually exactly ``JSON.stringify(body)`` and the raw body is checked first. A body
that reached us re-serialized (other whitespace, ``200.0`` for ``200``, escaped
non-ASCII) is checked a second time against JavaScript's serialization of what it
parses to (:mod:`app.jsjson`).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Sequence
from decimal import Decimal

from app import jsjson
from app.errors import InvalidSignature


def sign(secret: str, url: str, message: bytes) -> str:
    return hmac.new(secret.encode(), url.encode() + message, hashlib.sha256).hexdigest()


def verify(secrets: str | Sequence[str] | None, url: str, raw: bytes, given: str | None) -> None:
    """Raise ``InvalidSignature`` unless ``given`` signs ``url`` + the body with one of the
    accepted keys (the current one, and the previous one during a rotation); no key, no entry."""
    keys = [secrets] if isinstance(secrets, str) else list(secrets or [])
    if not keys:
        raise InvalidSignature("HYPETECH_API_KEY is not configured: every webhook is refused")
    if not given:
        raise InvalidSignature("the Hype-Hash header is missing")
    claimed = given.strip().lower().encode("utf-8", "replace")
    if any(_matches(sign(key, url, raw), claimed) for key in keys):
        return
    text = javascript_text(raw)
    if text is None or not any(
        _matches(sign(key, url, text.encode("utf-8")), claimed) for key in keys
    ):
        raise InvalidSignature(f"Hype-Hash does not sign {url} with this body")


def javascript_text(raw: bytes) -> str | None:
    """``JSON.stringify(JSON.parse(raw))`` as Node would write it; None if not JSON."""
    try:
        return jsjson.stringify(json.loads(raw.decode("utf-8"), parse_float=Decimal))
    except (ValueError, RecursionError):
        return None


def _matches(expected: str, claimed: bytes) -> bool:
    return hmac.compare_digest(expected.encode(), claimed)
