"""Hypetech as the simulator plays it: register (bet), rewards (win), rollback, each signed
with ``Hype-Hash`` = hex HMAC-SHA256 of ``url + JSON.stringify(body)``, where ``url`` is
the public webhook URL (``HYPETECH_WEBHOOK_BASE_URL`` + path) as Hypetech registered it."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection

from app.core import money
from app.providers.hypetech import jsjson
from app.providers.hypetech.signature import sign
from app.simulate import Answer, Options, Round

ROUTES = ("register", "rewards", "rollback")


class HypetechClient:
    name = "hypetech"
    currency = "USD"

    def __init__(self, secret: str, signed_base_url: str, paths: dict[str, str]) -> None:
        self._secret = secret
        self._signed_base = signed_base_url.rstrip("/")
        self._paths = paths  # register, rewards, rollback → path

    def prepare(self, conn: Connection, run: str, player_ids: list[str], options: Options) -> None:
        """Funded players (one USD wallet each, so no currency is sent) are all it needs."""

    def play_round(self, r: Round) -> None:
        stake, bet_id = r.stake(), f"{r.tx}-bet"
        if r.rollback():
            self._rolled_back_round(r, stake, bet_id)
        elif self._bet(r, bet_id, stake):
            win = r.win(stake)
            if win:  # Hypetech sends no reward for a lost round
                answer = self._send(
                    r,
                    "rewards",
                    {
                        **self._bet_body(r, f"{r.tx}-win", win),
                        "action": "win",
                        "linked_tx_id": bet_id,
                    },
                )
                r.player.modelled += win
                self._check_balance(r, answer, "the win paid")

    def _rolled_back_round(self, r: Round, stake: Decimal, bet_id: str) -> None:
        r.tally.count("rollbacks")
        rolled_back = rollback(f"{r.tx}-rb", bet_id, r.player.id, stake)
        if r.chance(0.5):  # out of order: the rollback overtakes its bet
            r.tally.count("rollbacks_before_bet")
            self._check_balance(r, self._send(r, "rollback", rolled_back), "the early rollback")
            late = self._send(r, "register", self._bet_body(r, bet_id, stake))
            r.expect(_code(late) == "TRANSACTION_ROLLED_BACK", "a late bet refused", late)
        elif self._bet(r, bet_id, stake):
            answer = self._send(r, "rollback", rolled_back)
            r.player.modelled += stake
            self._check_balance(r, answer, "the rollback refunded")

    def _bet(self, r: Round, bet_id: str, stake: Decimal) -> bool:
        answer = self._send(r, "register", self._bet_body(r, bet_id, stake))
        if stake > r.player.modelled:
            r.tally.count("declined")
            r.expect(answer.status == 402, "402 insufficient funds", answer)
            return False
        r.player.modelled -= stake
        return self._check_balance(r, answer, "the bet taken")

    def _check_balance(self, r: Round, answer: Answer, what: str) -> bool:
        modelled = money.format_amount(r.player.modelled, self.currency)
        new_balance = answer.body.get("new_balance") if isinstance(answer.body, dict) else None
        return r.expect(
            answer.status == 200 and new_balance == modelled,
            f"{what}, new_balance {modelled}",
            answer,
        )

    def _bet_body(self, r: Round, tx: str, amount: Decimal) -> dict[str, Any]:
        return bet(tx, r.player.id, amount, round_id=r.tx)

    def signed(self, route: str, payload: dict[str, Any]) -> tuple[str, bytes, dict[str, str]]:
        """The path, body and headers Hypetech sends for ``payload`` to ``route``: the body
        as Node writes it (``JSON.stringify``), signed with the public URL."""
        path = self._paths[route]
        body = jsjson.stringify(payload).encode()
        headers = {
            "Content-Type": "application/json",
            "Hype-Hash": sign(self._secret, self._signed_base + path, body),
        }
        return path, body, headers

    def _send(self, r: Round, route: str, payload: dict[str, Any]) -> Answer:
        """Send, and maybe again: a duplicate must get the same answer."""
        path, body, headers = self.signed(route, payload)
        answer = r.transport.post(path, body, lambda: headers)
        if r.duplicate():
            again = r.transport.post(path, body, lambda: headers)
            same = (again.status, again.body) == (answer.status, answer.body)
            r.expect(same, f"the duplicate answered {answer.status} {answer.body}", again)
        return answer


def bet(tx: str, player: str, amount: Decimal | str, round_id: str) -> dict[str, Any]:
    """A ``register`` body as Hypetech's document shows it (no currency: the player's only
    wallet)."""
    return {
        "user_id": player,
        "amount": amount,
        "provider": "hypetech",
        "provider_tx_id": tx,
        "game": "motograu",
        "action": "bet",
        "round_id": round_id,
        "session_token": f"sim-{player}",
    }


def rollback(tx: str, original: str, player: str, amount: Decimal | str) -> dict[str, Any]:
    """A ``rollback`` body of the newer document: it names the bet in ``linked_tx_id``."""
    return {"user_id": player, "provider_tx_id": tx, "linked_tx_id": original, "amount": amount}


def from_config(config: Mapping[str, Any], base_url: str) -> HypetechClient:
    """Signs for the public webhook URL Hypetech would (``HYPETECH_WEBHOOK_BASE_URL``),
    else for the wallet's own URL."""
    paths = {route: config[f"HYPETECH_PATH_{route.upper()}"] for route in ROUTES}
    signed_base = config.get("HYPETECH_WEBHOOK_BASE_URL") or base_url
    return HypetechClient(config["HYPETECH_API_KEY"], signed_base, paths)


def _code(answer: Answer) -> Any:
    return answer.body.get("code") if isinstance(answer.body, dict) else None
