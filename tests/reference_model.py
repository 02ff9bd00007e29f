"""An in-memory reference model of the wallet: what every balance, pool and answer must be.

It restates the rules every provider shares (docs/architecture.md, docs/decisions.md) in
the simplest code that could work (dicts, no locks, no SQL), so the model-based test can
compare the product against it after every step. Amounts are ``Decimal`` whole units
(WIN included); pools are atomic units.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

APPLIED, DECLINED, TOMBSTONE, CANCELLED, NOOP = (
    "applied",
    "declined",
    "tombstone",
    "cancelled",
    "noop",
)
INSUFFICIENT_FUNDS, PLAYER_BLOCKED, ROLLED_BACK = (
    "insufficient_funds",
    "player_blocked",
    "cancelled",
)


@dataclass
class Tx:
    kind: str  # bet | win | rollback
    player: str
    currency: str
    amount: Decimal
    status: str
    reason: str | None = None
    reference: str | None = None
    reversed: bool = False


@dataclass
class Session:
    player: str
    stake: int
    status: str  # bet_placed | settled | failed


@dataclass
class Model:
    balances: dict[tuple[str, str], Decimal]
    pool: int
    multiplier: int
    blocked: set[str] = field(default_factory=set)
    txs: dict[tuple[str, str], Tx] = field(default_factory=dict)
    sessions: dict[str, Session] = field(default_factory=dict)

    # --- the wallet core (wallet.execute) ------------------------------------------------

    def bet(self, provider: str, tx_id: str, player: str, currency: str, amount: Decimal) -> Tx:
        key = (player, currency)
        if self._rolled_back_first(provider, tx_id):
            return self._record(
                provider, tx_id, Tx("bet", player, currency, amount, DECLINED, ROLLED_BACK)
            )
        if player in self.blocked:
            return self._record(
                provider, tx_id, Tx("bet", player, currency, amount, DECLINED, PLAYER_BLOCKED)
            )
        if self.balances[key] < amount:
            return self._record(
                provider, tx_id, Tx("bet", player, currency, amount, DECLINED, INSUFFICIENT_FUNDS)
            )
        self.balances[key] -= amount
        return self._record(provider, tx_id, Tx("bet", player, currency, amount, APPLIED))

    def win(self, provider: str, tx_id: str, player: str, currency: str, amount: Decimal) -> Tx:
        if self._rolled_back_first(provider, tx_id):
            return self._record(
                provider, tx_id, Tx("win", player, currency, amount, CANCELLED, ROLLED_BACK)
            )
        self.balances[(player, currency)] += amount
        return self._record(provider, tx_id, Tx("win", player, currency, amount, APPLIED))

    def rollback(
        self,
        provider: str,
        tx_id: str,
        original_id: str,
        player: str,
        currency: str,
        amount: Decimal,
    ) -> Tx | None:
        """None: the original belongs to another player or currency (a conflict, not recorded)."""
        original = self.txs.get((provider, original_id))
        new = Tx("rollback", player, currency, amount, TOMBSTONE, reference=original_id)
        if original is None:
            return self._record(provider, tx_id, new)
        if (original.player, original.currency) != (player, currency):
            return None
        if original.kind not in ("bet", "win") or original.status != APPLIED:
            new.status, new.reason = NOOP, "nothing_to_reverse"
        elif original.reversed:
            new.status, new.reason = NOOP, "already_rolled_back"
        else:
            sign = 1 if original.kind == "bet" else -1
            self.balances[(player, currency)] += sign * original.amount
            original.reversed = True
            new.status = APPLIED
        return self._record(provider, tx_id, new)

    def deposit(self, player: str, currency: str, amount: Decimal) -> None:
        self.balances[(player, currency)] += amount

    def balance(self, player: str, currency: str) -> Decimal:
        return self.balances[(player, currency)]

    def _rolled_back_first(self, provider: str, tx_id: str) -> bool:
        return any(
            tx.kind == "rollback" and tx.reference == tx_id
            for (p, _), tx in self.txs.items()
            if p == provider
        )

    def _record(self, provider: str, tx_id: str, tx: Tx) -> Tx:
        self.txs[(provider, tx_id)] = tx
        return tx

    # --- Upside sessions and the pool (game_sessions) ---------------------------------

    def place_bet(self, session_id: str, player: str, stake: int) -> str:
        """The answer's code: ``ok`` or the Upside error code."""
        if stake > self.pool // self.multiplier:
            return "BET_ABOVE_MAX_BET"
        if session_id in self.sessions:
            return "SESSION_ALREADY_USED"
        tx = self.bet("upside", f"bet:{session_id}", player, "WIN", _win(stake))
        if tx.status != APPLIED:
            self.sessions[session_id] = Session(player, stake, "failed")
            return "PLAYER_BLOCKED" if tx.reason == PLAYER_BLOCKED else "INSUFFICIENT_BALANCE"
        self.pool += stake
        self.sessions[session_id] = Session(player, stake, "bet_placed")
        return "ok"

    def payout(self, session_id: str, player: str, amount: int) -> str:
        session = self.sessions.get(session_id)
        if session is None:
            return "SESSION_NOT_FOUND"
        if session.player != player:
            return "SESSION_OF_ANOTHER_PLAYER"
        if session.status == "settled":
            return "PAYOUT_ALREADY_PROCESSED"
        if session.status == "failed":
            return "SESSION_ALREADY_FINISHED"
        if amount > session.stake * self.multiplier:
            return "PAYOUT_ABOVE_MAXIMUM"
        if amount > 0 and amount > self.pool:
            return "POOL_CANNOT_PAY"
        self.win("upside", f"payout:{session_id}", player, "WIN", _win(amount))
        self.pool -= amount
        session.status = "settled"
        return "ok"


def _win(atomic: int) -> Decimal:
    return Decimal(atomic) / Decimal(10**18)
