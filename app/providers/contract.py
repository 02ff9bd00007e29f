"""What every provider adapter promises (docs/architecture.md, docs/decisions.md), and how
a test drives one provider through those promises without knowing its protocol.

A provider package may export a contract driver: it sends a bet and a rollback as the
provider would (signed, in the provider's shape) and reads the provider's answers (how
the protocol spells success, a refused signature, insufficient funds, a conflict).
``tests/test_provider_contract.py`` runs the same promises against every registered
provider that has one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True)
class Reply:
    """An HTTP answer as a contract reads it: status, media type, parsed JSON (or None)."""

    status: int
    media_type: str
    body: Any


Send = Callable[[str, bytes, Mapping[str, str]], Reply]
"""POST ``body`` with ``headers`` to ``path`` on the wallet under test."""


class Contract(Protocol):
    currency: str
    """A player with one wallet, in this currency, plays the contract."""

    def bet(self, send: Send, tx: str, player: str, amount: str, signed: bool = True) -> Reply:
        """A bet of ``amount``; ``signed=False`` signs it with a wrong secret."""

    def rollback(self, send: Send, tx: str, original: str, player: str, amount: str) -> Reply:
        """A rollback ``tx`` of the transaction ``original``."""

    def succeeded(self, reply: Reply) -> bool: ...

    def refused_signature(self, reply: Reply) -> bool: ...

    def insufficient_funds(self, reply: Reply, balance: str) -> bool:
        """Declined for insufficient funds (with ``balance`` where the protocol says it)."""

    def conflict(self, reply: Reply) -> bool:
        """Refused: the id was already used with another payload."""
