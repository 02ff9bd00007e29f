"""One word for what a provider callback came to: the same word in ``/metrics``, on the
request's log line and in the audit trail, always lower case.

* A decline is the wallet's reason, whatever the provider's protocol calls it:
  ``insufficient_funds`` (IGPX's configurable ``INSUFFICENT_FUNDS``, Upside's
  ``INSUFFICIENT_BALANCE``), ``player_blocked``, ``cancelled``.
* A refusal or failure is the error code the provider was answered: ``invalid_signature``,
  ``invalid_request``, ``user_not_found``, ``replayed_request``, ``internal_error``, …
* Otherwise what the wallet did, as the adapter noted it (``applied``, ``tombstone``,
  ``noop``, ``already_rolled_back``, …), else ``ok`` (answered, no money involved: a
  balance, a session) or ``http_<status>``.

The request log hook settles the word once per callback (:func:`of`) and binds it as the
request's ``outcome`` field, which the metrics and the audit trail then read.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from flask import Response

DECLINES = frozenset({"insufficient_funds", "player_blocked", "cancelled"})


def of(response: Response, bound: Mapping[str, Any]) -> str:
    """The outcome of the callback answered with ``response``; ``bound`` is the request's
    log fields (:func:`app.logs.bound`).

    An adapter that answers an error with a 2xx status binds its code as ``error_code``
    (IGPX, whose answers are all 200); an answer of status 400 and up is read for its code
    only when none was bound (Hypetech problems, Upside failures), so a success is never
    parsed.
    """
    noted = bound.get("outcome")
    if noted in DECLINES:
        return str(noted)
    status = response.status_code
    code = bound.get("error_code")
    if not code and status >= 400 and not response.is_streamed:
        code = error_code(response.get_data())
    word = code or noted or ("ok" if status < 400 else f"http_{status}")
    return str(word).lower()


def error_code(answer: str | bytes) -> str | None:
    """The code in an answer: ``{"error": "CODE"}``, ``{"error": {"code": "CODE"}}`` or
    ``{"code": "CODE"}``."""
    try:
        data: Any = json.loads(answer)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    error = data.get("error")
    if isinstance(error, dict):
        error = error.get("code")
    found = error or data.get("code")
    return str(found) if found else None
