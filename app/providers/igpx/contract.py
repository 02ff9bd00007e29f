"""IGPX through the contract every adapter keeps: every answer is HTTP 200, with
``{"error": null}`` on success and ``{"error": CODE}`` otherwise. Requests are built and
signed by the simulator client (:mod:`app.providers.igpx.simulator`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app.providers.contract import Reply, Send
from app.providers.igpx import simulator
from app.providers.igpx.simulator import transaction

WRONG_SECRET = "not-the-wallets-secret"  # noqa: S105


class IgpxContract:
    currency = "USD"

    def __init__(self, config: Mapping[str, Any]) -> None:
        self._client = simulator.from_config(config, "")
        self._stranger = simulator.from_config({**config, "IGPX_SECURITY_HASH": WRONG_SECRET}, "")
        self._insufficient = config["IGPX_INSUFFICIENT_FUNDS_CODE"]

    def bet(self, send: Send, tx: str, player: str, amount: str, signed: bool = True) -> Reply:
        client = self._client if signed else self._stranger
        body = transaction(tx, "bet", player, self.currency, amount)
        return send(*client.signed("transaction", body))

    def rollback(self, send: Send, tx: str, original: str, player: str, amount: str) -> Reply:
        body = transaction(tx, "rollback", player, self.currency, amount)
        body["rollback_transaction_id"] = original
        return send(*self._client.signed("transaction-rollback", body))

    def succeeded(self, reply: Reply) -> bool:
        return _answered(reply, None)

    def refused_signature(self, reply: Reply) -> bool:
        return _answered(reply, "INVALID_SIGNATURE")

    def insufficient_funds(self, reply: Reply, balance: str) -> bool:
        """IGPX's answer carries no balance."""
        return _answered(reply, self._insufficient)

    def conflict(self, reply: Reply) -> bool:
        return _answered(reply, "TRANSACTION_CONFLICT")


def _answered(reply: Reply, code: str | None) -> bool:
    """HTTP 200 with ``{"error": code}`` (``null`` on success)."""
    return reply.status == 200 and isinstance(reply.body, dict) and reply.body["error"] == code
