"""Sign and send IGPX callbacks the way IGPX does: hex HMAC-SHA256 of the raw body."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

from tests.conftest import IGPX_SECRET


def sign(body: bytes, secret: str = IGPX_SECRET) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def body_of(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload).encode()


def post(client: Any, path: str, payload: dict[str, Any] | bytes, **headers: str) -> Any:
    """POST a signed body to ``/igpx/<path>``; returns the parsed JSON answer."""
    body = payload if isinstance(payload, bytes) else body_of(payload)
    all_headers = {"Content-Type": "application/json", "X-Security-Hash": sign(body), **headers}
    response = client.post(f"/igpx/{path}", data=body, headers=all_headers)
    assert response.status_code == 200, response.data
    return response.get_json()


def bet(tx: str, user: str, amount: Any, currency: str = "USD") -> dict[str, Any]:
    return {
        "transaction_id": tx,
        "action": "bet",
        "user_id": user,
        "currency": currency,
        "amount": amount,
    }


def result(tx: str, user: str, amount: Any, currency: str = "USD") -> dict[str, Any]:
    return {**bet(tx, user, amount, currency), "action": "result"}


def rollback(tx: str, original: str, user: str, amount: Any, currency: str = "USD") -> dict:
    return {
        "transaction_id": tx,
        "rollback_transaction_id": original,
        "action": "rollback",
        "user_id": user,
        "currency": currency,
        "amount": amount,
    }
