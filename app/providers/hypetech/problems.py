"""RFC 7807 problem documents (``application/problem+json``) for providers that use them."""

from __future__ import annotations

import json
from typing import Any

from flask import Response

MEDIA_TYPE = "application/problem+json"


def problem(status: int, code: str, title: str, detail: str, **extra: Any) -> Response:
    """A problem document; ``code`` is stable for machines, ``detail`` says what to fix."""
    body = {
        "type": f"urn:wallet:problem:{code.lower().replace('_', '-')}",
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
        **extra,
    }
    return Response(json.dumps(body), status=status, mimetype=MEDIA_TYPE)
