"""Hypetech through the contract every adapter keeps: success is HTTP 200, a failure an
RFC 7807 problem with a stable ``code``. Requests are built and signed by the simulator
client (:mod:`app.providers.hypetech.simulator`): a bet without a currency is played
from the player's only wallet."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app.providers.contract import Reply, Send
from app.providers.hypetech import simulator
from app.providers.hypetech.problems import MEDIA_TYPE

WRONG_SECRET = "not-the-wallets-key"  # noqa: S105


class HypetechContract:
    currency = "BRL"

    def __init__(self, config: Mapping[str, Any]) -> None:
        self._client = simulator.from_config(config, "http://localhost")
        stranger = {**config, "HYPETECH_API_KEY": WRONG_SECRET}
        self._stranger = simulator.from_config(stranger, "http://localhost")

    def bet(self, send: Send, tx: str, player: str, amount: str, signed: bool = True) -> Reply:
        client = self._client if signed else self._stranger
        return send(*client.signed("register", simulator.bet(tx, player, amount, round_id="1")))

    def rollback(self, send: Send, tx: str, original: str, player: str, amount: str) -> Reply:
        body = simulator.rollback(tx, original, player, amount)
        return send(*self._client.signed("rollback", body))

    def succeeded(self, reply: Reply) -> bool:
        return reply.status == 200

    def refused_signature(self, reply: Reply) -> bool:
        return _problem(reply, 401, "INVALID_SIGNATURE")

    def insufficient_funds(self, reply: Reply, balance: str) -> bool:
        return _problem(reply, 402, "INSUFFICIENT_FUNDS") and reply.body["balance"] == balance

    def conflict(self, reply: Reply) -> bool:
        return _problem(reply, 409, "TRANSACTION_CONFLICT")


def _problem(reply: Reply, status: int, code: str) -> bool:
    return (
        reply.status == status
        and reply.media_type == MEDIA_TYPE
        and isinstance(reply.body, dict)
        and reply.body.get("code") == code
    )
