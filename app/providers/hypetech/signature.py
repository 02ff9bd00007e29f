"""``Hype-Hash``: hex HMAC-SHA256 of ``url + JSON.stringify(body)`` keyed with the API key.

Hypetech's Node process signs the object it sends, so the bytes we receive are
usually exactly ``JSON.stringify(body)`` and the raw body is checked first. A body
that reached us re-serialized (other whitespace, ``200.0`` for ``200``, escaped
non-ASCII) is checked a second time against JavaScript's serialization of what it
parses to (:mod:`app.providers.hypetech.jsjson`), but only when every number in it survives
that serialization exactly: the wallet acts on the numbers as sent, and JavaScript's text
of a number it rounds to a double cannot say which of its neighbours was signed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from app.errors import InvalidRequest, InvalidSignature
from app.providers import base, schemas
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
    body = _parsed(raw)
    unsigned = f"Hype-Hash does not sign {url} with this body"
    if body is None:
        raise InvalidSignature(unsigned)
    if not jsjson.survives(body):
        raise InvalidSignature(
            f"{unsigned}'s bytes, and a number in it is beyond a double's precision, so its "
            "JavaScript text cannot be verified: send the bytes that were signed"
        )
    if not base.signs_with_any(keys, (url + jsjson.stringify(body)).encode(), claimed):
        raise InvalidSignature(unsigned)


def _parsed(raw: bytes) -> dict[str, Any] | None:
    """The body as the wallet reads it (the shared parser, which bounds the depth), or None
    when the wallet would refuse it anyway: not a JSON object, duplicate keys, too deep."""
    try:
        return schemas.parse_json_object(raw)
    except InvalidRequest:
        return None
