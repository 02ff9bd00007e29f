"""IGPX as the simulator plays it: bets, results and rollbacks, signed with
``X-Security-Hash`` = hex HMAC-SHA256 of the raw body keyed with ``IGPX_SECURITY_HASH``."""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection

from app.providers.base import hmac_sha256_hex
from app.simulate import Answer, Options, Round

INSUFFICIENT = {"INSUFFICIENT_FUNDS", "INSUFFICENT_FUNDS"}  # either configured spelling


class IgpxClient:
    name = "igpx"
    currency = "USD"

    def __init__(self, secret: str) -> None:
        self._secret = secret

    def prepare(self, conn: Connection, run: str, player_ids: list[str], options: Options) -> None:
        """Funded players are all IGPX needs."""

    def play_round(self, r: Round) -> None:
        stake, bet_id = r.stake(), f"{r.tx}-bet"
        if r.rollback():
            self._rolled_back_round(r, stake, bet_id)
        elif self._bet(r, bet_id, stake):
            win = r.win(stake)
            answer = self._send(r, "transaction", self._body(r, f"{r.tx}-result", "result", win))
            if r.expect(answer.body.get("error") is None, "the result accepted", answer):
                r.player.modelled += win

    def _rolled_back_round(self, r: Round, stake: Decimal, bet_id: str) -> None:
        r.tally.count("rollbacks")
        rollback = {
            **self._body(r, f"{r.tx}-rb", "rollback", stake),
            "rollback_transaction_id": bet_id,
        }
        if r.chance(0.5):  # out of order: the rollback overtakes its bet
            r.tally.count("rollbacks_before_bet")
            answer = self._send(r, "transaction-rollback", rollback)
            r.expect(answer.body.get("error") is None, "the early rollback acknowledged", answer)
            late = self._send(r, "transaction", self._body(r, bet_id, "bet", stake))
            r.expect(
                late.body.get("error") == "TRANSACTION_ROLLED_BACK", "a late bet declined", late
            )
        elif self._bet(r, bet_id, stake):
            answer = self._send(r, "transaction-rollback", rollback)
            if r.expect(answer.body.get("error") is None, "the rollback accepted", answer):
                r.player.modelled += stake

    def _bet(self, r: Round, bet_id: str, stake: Decimal) -> bool:
        answer = self._send(r, "transaction", self._body(r, bet_id, "bet", stake))
        if stake > r.player.modelled:
            r.tally.count("declined")
            r.expect(answer.body.get("error") in INSUFFICIENT, "insufficient funds", answer)
            return False
        if r.expect(answer.body.get("error") is None, "the bet accepted", answer):
            r.player.modelled -= stake
            return True
        return False

    def _body(self, r: Round, tx: str, action: str, amount: Decimal) -> dict[str, Any]:
        return transaction(tx, action, r.player.id, self.currency, amount)

    def signed(self, route: str, payload: dict[str, Any]) -> tuple[str, bytes, dict[str, str]]:
        """The path, body and headers IGPX sends for ``payload`` to ``/igpx/<route>``."""
        body = json.dumps(payload).encode()
        headers = {
            "Content-Type": "application/json",
            "X-Security-Hash": hmac_sha256_hex(self._secret, body),
        }
        return f"/igpx/{route}", body, headers

    def _send(self, r: Round, route: str, payload: dict[str, Any]) -> Answer:
        """Send (and maybe send again: a duplicate must get the same answer)."""
        path, body, headers = self.signed(route, payload)
        answer = r.transport.post(path, body, lambda: headers, _internal_error)
        if not isinstance(answer.body, dict):
            raise RuntimeError(f"IGPX answered {answer.status} {answer.body!r}")
        if r.duplicate():
            again = r.transport.post(path, body, lambda: headers, _internal_error)
            r.expect(again.body == answer.body, f"the duplicate answered {answer.body}", again)
        return answer


def transaction(
    tx: str, action: str, player: str, currency: str, amount: Decimal | str
) -> dict[str, Any]:
    """A ``/igpx/transaction`` body (add ``rollback_transaction_id`` for a rollback)."""
    return {
        "transaction_id": tx,
        "action": action,
        "user_id": player,
        "currency": currency,
        "amount": str(amount),
    }


def from_config(config: Mapping[str, Any], base_url: str) -> IgpxClient:
    return IgpxClient(config["IGPX_SECURITY_HASH"])


def _internal_error(answer: Answer) -> bool:
    return answer.status >= 500 or (
        isinstance(answer.body, dict) and answer.body.get("error") == "INTERNAL_ERROR"
    )
