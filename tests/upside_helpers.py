"""Build Upside games, keys and players, and sign game actions the way a worker does."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from app.providers.upside import auth as upside_auth
from app.providers.upside import games, win_units
from app.providers.upside import keys as upside_keys
from tests.conftest import UPSIDE_JWT_SECRET
from tests.factories import PlayerFactory, run_committed

GAME = "coin-flip"
WIN = win_units.ONE_WIN


@dataclass(frozen=True)
class Worker:
    key: str
    secret: str
    passphrase: str

    @property
    def env(self) -> dict[str, str]:
        return {
            "UPSIDE_API_KEY": self.key,
            "UPSIDE_SECRET_KEY": self.secret,
            "UPSIDE_PASSPHRASE": self.passphrase,
        }


def make_game(
    game_type: str = GAME, multiplier: str = "2", pool_win: int = 1000, active: bool = True
) -> str:
    run_committed(games.create, game_type, Decimal(multiplier), active)
    if pool_win:
        run_committed(games.fund_pool, game_type, pool_win * WIN)
    return game_type


def make_key(game_types: tuple[str, ...] = (GAME,), **options: Any) -> Worker:
    box = upside_keys.SecretBox(UPSIDE_JWT_SECRET)
    new = run_committed(
        lambda conn: upside_keys.create(conn, box, list(game_types), **options),
    )
    return Worker(new.key, new.secret, new.passphrase)


def make_player(win: int = 100, **kwargs: Any) -> str:
    balance = Decimal(win)
    player: str = PlayerFactory(currencies=("WIN",), balance=balance, **kwargs)
    return player


def token(player_id: str, ttl_s: int = 300) -> str:
    return upside_auth.mint_token(UPSIDE_JWT_SECRET, player_id, ttl_s)


def headers(worker: Worker, jwt: str, body: bytes, timestamp: str | None = None) -> dict[str, str]:
    stamp = timestamp or datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    credentials = upside_auth.Credentials(worker.key, "", stamp, worker.passphrase, jwt)
    signature = upside_auth.sign(worker.secret, upside_auth.prehash(credentials, body))
    return {
        "Content-Type": "application/json",
        "UPSIDE-ACCESS-KEY": worker.key,
        "UPSIDE-ACCESS-SIGN": signature,
        "UPSIDE-ACCESS-TIMESTAMP": stamp,
        "UPSIDE-ACCESS-PASSPHRASE": worker.passphrase,
        "B3-JWT": jwt,
    }


def stamp_ago(seconds: float) -> str:
    return (datetime.now(UTC) - timedelta(seconds=seconds)).isoformat()


def send(client: Any, worker: Worker, jwt: str, payload: dict[str, Any], **extra: Any) -> Any:
    """POST a signed game action; returns the test client's response."""
    body = json.dumps(payload).encode()
    all_headers = {**headers(worker, jwt, body), **extra.pop("headers", {})}
    return client.post("/upside/game-actions", data=body, headers=all_headers, **extra)


def send_raw(client: Any, worker: Worker, jwt: str, body: bytes) -> Any:
    return client.post("/upside/game-actions", data=body, headers=headers(worker, jwt, body))


def act(client: Any, worker: Worker, jwt: str, payload: dict[str, Any]) -> dict[str, Any]:
    """A game action that must succeed; returns its JSON answer."""
    response = send(client, worker, jwt, payload)
    assert response.status_code == 200, response.get_data(as_text=True)
    answer: dict[str, Any] = response.get_json()
    return answer


def refused(
    client: Any, worker: Worker, jwt: str, payload: dict[str, Any], status: int
) -> dict[str, Any]:
    """A game action that must fail with ``status``; returns its ``error`` object."""
    response = send(client, worker, jwt, payload)
    assert response.status_code == status, response.get_data(as_text=True)
    answer: dict[str, Any] = response.get_json()
    assert answer["success"] is False
    error: dict[str, Any] = answer["error"]
    return error


def bet(session_id: str | None = None, amount: int = WIN, game: str = GAME, **more: Any) -> dict:
    payload: dict[str, Any] = {"trigger": "placeBet", "gameType": game, "betAmount": str(amount)}
    if session_id:
        payload["sessionId"] = session_id
    return {**payload, **more}


def payout(session_id: str, amount: int, game: str = GAME, **more: Any) -> dict:
    return {
        "trigger": "processPayout",
        "gameType": game,
        "sessionId": session_id,
        "payoutAmount": str(amount),
        "result": "win" if amount else "loss",
        **more,
    }
