"""Sign and send Hypetech webhooks: ``Hype-Hash`` = HMAC-SHA256(url + JSON.stringify(body))."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

from tests.conftest import HYPETECH_BASE_URL, HYPETECH_SECRET

PATHS = {
    "getBalance": "/hypetech/getBalance",
    "register": "/hypetech/register",
    "rewards": "/hypetech/rewards",
    "rollback": "/hypetech/rollback",
}


def url_of(route: str) -> str:
    return HYPETECH_BASE_URL + PATHS[route]


def stringify(payload: dict[str, Any]) -> bytes:
    """What Node sends for plain payloads: compact, UTF-8, keys in insertion order."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


def sign(url: str, body: bytes, secret: str = HYPETECH_SECRET) -> str:
    return hmac.new(secret.encode(), url.encode() + body, hashlib.sha256).hexdigest()


def send(client: Any, route: str, payload: dict[str, Any] | bytes, **headers: str) -> Any:
    """POST a body signed for ``route``'s public URL; returns the Flask test response."""
    body = payload if isinstance(payload, bytes) else stringify(payload)
    all_headers = {
        "Content-Type": "application/json",
        "Hype-Hash": sign(url_of(route), body),
        **headers,
    }
    return client.post(PATHS[route], data=body, headers=all_headers)


def ok(client: Any, route: str, payload: dict[str, Any] | bytes) -> dict[str, Any]:
    response = send(client, route, payload)
    assert response.status_code == 200, response.data
    return dict(response.get_json())


def problem(client: Any, route: str, payload: dict[str, Any] | bytes, status: int) -> dict:
    response = send(client, route, payload)
    assert response.status_code == status, response.data
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert {"type", "title", "status", "detail", "code"} <= set(body)
    assert body["status"] == status
    return dict(body)


def bet(tx: str, user: str, amount: Any, **extra: Any) -> dict[str, Any]:
    """The document's register sample, for our player."""
    return {
        "user_id": user,
        "amount": amount,
        "provider": "hypetech",
        "provider_tx_id": tx,
        "game": "motograu",
        "action": "bet",
        "round_id": "255",
        "session_token": "b72afc9470d1899d9a993d378733cfea",
        **extra,
    }


def win(tx: str, user: str, amount: Any, **extra: Any) -> dict[str, Any]:
    return {**bet(tx, user, amount), "action": "win", "round_id": "177", **extra}


def old_rollback(bet_tx: str, user: str) -> dict[str, Any]:
    """The older document: the rollback carries the bet's own id."""
    return {"user_id": user, "provider_tx_id": bet_tx}


def new_rollback(tx: str, linked: str, user: str, amount: Any, **extra: Any) -> dict[str, Any]:
    return {
        "user_id": user,
        "provider_tx_id": tx,
        "linked_tx_id": linked,
        "amount": amount,
        **extra,
    }
