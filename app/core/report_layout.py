"""How a provider's transaction report is laid out, for ``wallet reconcile``.

Each provider package that can be reconciled describes its report with one
:class:`Layout` (``app/providers/<name>/report.py``, the registry's ``report``): the
column names it uses, its default currency, how a row's id becomes the wallet's key, and
where its callback bodies name a transaction, so that a row missing here can be looked
for in the audit trail. The core reads any report through a layout and names no provider.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

FIELDS = ("id", "kind", "player", "currency", "amount", "amount_atomic", "time", "status", "linked")

# Column names any provider's report may use, tried after the provider's own.
COMMON: dict[str, tuple[str, ...]] = {
    "id": ("transaction_id", "id", "tx_id", "external_id"),
    "kind": ("kind", "action", "type"),
    "player": ("player_id", "user_id", "player"),
    "currency": ("currency",),
    "amount": ("amount",),
    "amount_atomic": (),
    "time": ("created_at", "time", "timestamp", "date"),
    "status": ("status",),
    "linked": ("reference_id",),
}

Key = Callable[[str, str, str | None], tuple[str, str | None, str]]
"""(report id, kind, linked id) → (the wallet's key, another key to try first, the id as
a callback body spells it)."""


def own_id(external_id: str, kind: str, linked: str | None) -> tuple[str, str | None, str]:
    """The wallet keyed the transaction by the report's own id."""
    return external_id, None, external_id


@dataclass(frozen=True)
class Layout:
    """How one provider's report is read.

    ``headers``: candidate column names per field of :data:`FIELDS`, tried in order (case
    and spaces ignored) before :data:`COMMON`'s; ``amount_atomic`` columns hold integer
    minor units. ``default_currency``: for a report without a currency column. ``key``:
    see :data:`Key`. ``callback_id``, ``callback_kind``: the JSON fields of a callback
    body that hold the transaction id and its kind; ``callback_kinds``: each kind word
    there as the wallet's kind (bet, win or rollback). Without ``callback_id`` a row
    missing here is never found in the audit trail."""

    headers: Mapping[str, tuple[str, ...]]
    default_currency: str | None = None
    key: Key = own_id
    callback_id: str | None = None
    callback_kind: str | None = None
    callback_kinds: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        unknown = set(self.headers) - set(FIELDS)
        if unknown:
            raise ValueError(f"unknown report fields {sorted(unknown)}; use {FIELDS}")

    def body_id_pattern(self) -> str | None:
        """A PostgreSQL regular expression whose group is the id in a callback body."""
        if self.callback_id is None:
            return None
        return rf'"{re.escape(self.callback_id)}"\s*:\s*"?([^",}}\s]+)'

    def body_kind_pattern(self) -> str | None:
        """A PostgreSQL regular expression whose group is the kind word in a callback
        body; None: any kind."""
        if self.callback_kind is None or not self.callback_kinds:
            return None
        words = "|".join(re.escape(word) for word in self.callback_kinds)
        return rf'"{re.escape(self.callback_kind)}"\s*:\s*"({words})"'
