"""Upside as the simulator plays it: a game worker's placeBet and processPayout, each
signed ``base64(HMAC-SHA256(secret, timestamp + "POST" + path + rawBody + b3Jwt))`` with
an API key the simulator creates, for players holding B3-JWTs it mints.

Upside has no rollback: with ``--rollbacks`` that share of sessions is abandoned after
the bet (a crashed worker), left for ``wallet report open-sessions`` and
``wallet upside sessions reconcile``. A duplicate is the same signed request sent
again, which the wallet must refuse as a replay (409, "already processed").
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection

from app.providers.upside import auth, games, keys, win_units
from app.simulate import Answer, Options, Round

MAX_MULTIPLIER = 3
PATH = auth.PATH
ALREADY_DONE = {"SESSION_ALREADY_USED", "PAYOUT_ALREADY_PROCESSED"}


class UpsideClient:
    name = "upside"
    currency = win_units.CURRENCY

    def __init__(self, jwt_secret: str, box: keys.SecretBox) -> None:
        self._jwt_secret = jwt_secret
        self._box = box
        self._tokens: dict[str, str] = {}
        self.game_type = ""
        self._key: keys.NewKey | None = None

    def prepare(self, conn: Connection, run: str, player_ids: list[str], options: Options) -> None:
        """A game with a pool that covers every possible payout, an API key, player tokens."""
        self.game_type = f"sim-{run}"
        games.create(conn, self.game_type, Decimal(MAX_MULTIPLIER), True)
        most = len(player_ids) * options.rounds * 10 * MAX_MULTIPLIER + 1000
        games.fund_pool(conn, self.game_type, most * win_units.ONE_WIN)
        self._key = keys.create(conn, self._box, [self.game_type])
        for player_id in player_ids:
            self._tokens[player_id] = auth.mint_token(self._jwt_secret, player_id, 3600)

    def play_round(self, r: Round) -> None:
        stake = r.stake()
        bet = {
            "trigger": "placeBet",
            "gameType": self.game_type,
            "sessionId": r.tx,
            "betAmount": str(win_units.to_atomic(stake)),
        }
        answer = self._send(r, bet)
        if stake > r.player.modelled:
            r.tally.count("declined")
            r.expect(_code(answer) == "INSUFFICIENT_BALANCE", "422 insufficient WIN", answer)
            return
        r.player.modelled -= stake
        if not self._check_balance(r, answer, "the bet taken"):
            return
        if r.rollback():
            r.tally.count("abandoned_sessions")
            return
        win = r.win(stake, MAX_MULTIPLIER)
        payout = {
            "trigger": "processPayout",
            "gameType": self.game_type,
            "sessionId": r.tx,
            "payoutAmount": str(win_units.to_atomic(win)),
            "result": "win" if win > stake else "loss",
        }
        answer = self._send(r, payout)
        r.player.modelled += win
        self._check_balance(r, answer, "the payout made")

    def _check_balance(self, r: Round, answer: Answer, what: str) -> bool:
        if answer.status == 409 and answer.attempts > 1 and _code(answer) in ALREADY_DONE:
            r.tally.count("done_before_a_retry")  # an attempt that timed out had succeeded
            return True
        modelled = str(win_units.to_atomic(r.player.modelled))
        balance = answer.body.get("userBalance") if isinstance(answer.body, dict) else None
        return r.expect(
            answer.status == 200 and balance == modelled, f"{what}, userBalance {modelled}", answer
        )

    def _send(self, r: Round, payload: dict[str, Any]) -> Answer:
        body = json.dumps(payload).encode()
        jwt = self._tokens[r.player.id]
        sent: dict[str, str] = {}

        def signed() -> dict[str, str]:
            sent.clear()
            sent.update(self._headers(body, jwt))
            return sent

        answer = r.transport.post(PATH, body, signed)
        if r.duplicate():
            replay = r.transport.post(PATH, body, lambda: sent)
            message = (
                replay.body.get("error", {}).get("message", "") if replay.status == 409 else ""
            )
            r.expect("already processed" in message, "the replay refused (409)", replay)
        return answer

    def _headers(self, body: bytes, jwt: str) -> dict[str, str]:
        assert self._key is not None, "prepare() creates the API key"
        stamp = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        credentials = auth.Credentials(self._key.key, "", stamp, self._key.passphrase, jwt)
        return {
            "Content-Type": "application/json",
            "UPSIDE-ACCESS-KEY": self._key.key,
            "UPSIDE-ACCESS-SIGN": auth.sign(self._key.secret, auth.prehash(credentials, body)),
            "UPSIDE-ACCESS-TIMESTAMP": stamp,
            "UPSIDE-ACCESS-PASSPHRASE": self._key.passphrase,
            "B3-JWT": jwt,
        }


def from_config(config: Mapping[str, Any], base_url: str) -> UpsideClient:
    return UpsideClient(config["UPSIDE_JWT_SECRET"], keys.SecretBox.from_config(config))


def _code(answer: Answer) -> Any:
    if isinstance(answer.body, dict) and isinstance(answer.body.get("error"), dict):
        return answer.body["error"].get("code")
    return None
