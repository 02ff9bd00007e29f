"""Provider-neutral wallet operations: bet, win, rollback, deposit, withdrawal, balance.

How a request is applied exactly once
-------------------------------------
1. Look up (provider, external_id). Found: replay the stored outcome if the
   payload is the same, else raise ``TransactionConflict``. No lock is taken.
2. Lock the player's account row (``SELECT … FOR UPDATE``). Every request that
   can move this player's money now waits its turn.
3. Decide the outcome under the lock (funds, blocked player, exclusions and limits,
   tombstones of this account, whether a rollback's original was already reversed)
   and insert the provider transaction with ``ON CONFLICT DO NOTHING``. If a
   concurrent duplicate committed first, the insert returns nothing and its row is
   replayed.
4. Post the journal transaction, which moves the cached balance (``ledger_post``),
   and the period totals of the account's limits (``limit_count``).

The steps run inside PostgreSQL, in the functions of ``app/core/sql/``:
``wallet_transfer`` (bet, win, deposit, withdrawal) and ``wallet_rollback``. Each
request is one statement, one round trip, and the row lock is held only while the
database works. This module turns the request into that statement and its row into
an :class:`Outcome`; the rules themselves live only in the SQL.

The caller's unit of work commits; nothing here does. Declines are outcomes,
recorded like any other, so a retried declined bet is declined the same way.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Any

import structlog
from sqlalchemy import Connection, select

from app.core import ledger
from app.core.models import accounts, provider_transactions
from app.db import Database, fetch_one
from app.errors import TransactionConflict

log = structlog.get_logger(__name__)


class Kind(StrEnum):
    BET = "bet"
    WIN = "win"
    ROLLBACK = "rollback"
    DEPOSIT = "deposit"
    WITHDRAWAL = "withdrawal"


class Status(StrEnum):
    APPLIED = "applied"
    DECLINED = "declined"
    TOMBSTONE = "tombstone"
    CANCELLED = "cancelled"
    NOOP = "noop"


class Reason(StrEnum):
    INSUFFICIENT_FUNDS = "insufficient_funds"
    PLAYER_BLOCKED = "player_blocked"
    CANCELLED = "cancelled"
    ALREADY_ROLLED_BACK = "already_rolled_back"
    NOTHING_TO_REVERSE = "nothing_to_reverse"
    LIMIT_EXCEEDED = "limit_exceeded"
    PLAYER_EXCLUDED = "player_excluded"


CASHIER = "cashier"


@dataclass(frozen=True)
class Request:
    """A money request from a provider (or the cashier), in plain values."""

    provider: str
    external_id: str
    kind: Kind
    player_id: str
    currency: str
    amount: Decimal
    reference_id: str | None = None
    counterparty: str | None = None
    details: Mapping[str, Any] | None = None

    @property
    def counterparty_account(self) -> str:
        return self.counterparty or f"house:{self.provider}"


@dataclass(frozen=True)
class Outcome:
    transaction_id: int
    kind: Kind
    status: Status
    reason: Reason | None
    player_id: str
    currency: str
    amount: Decimal
    balance_before: Decimal
    balance_after: Decimal
    replayed: bool = False
    limit: str | None = None  # the limit that declined it ('loss/day') and what it had left
    remaining: Decimal | None = None

    @property
    def declined(self) -> bool:
        return self.status is Status.DECLINED


def apply(database: Database, request: Request) -> Outcome:
    """Apply ``request`` in a unit of work of its own: one statement, so in autocommit.

    A replayed outcome is returned once it is on the synchronous standby: it may be a
    commit whose own wait for the standby was cancelled (docs/high-availability.md);
    ``wallet_recorded`` makes the replaying statement's own commit wait for that."""
    return database.run(execute, request, single_statement=True)


def execute(conn: Connection, request: Request) -> Outcome:
    """Apply ``request`` once; a repeat with the same payload returns the first outcome.

    One statement: ``wallet_transfer`` or ``wallet_rollback`` (app/core/sql/) looks the
    request up, locks the player's account, decides and writes, in one round trip."""
    rollback = request.kind is Kind.ROLLBACK
    row = fetch_one(conn, _ROLLBACK if rollback else _TRANSFER, _parameters(request))
    if row is None:
        ledger.raise_missing(conn, request.player_id, request.currency)
    if row.replayed:
        return _replay(row, request)
    if row.status == _CONFLICT:
        raise TransactionConflict(
            f"transaction {request.reference_id!r} belongs to another player or currency"
        )
    if rollback and row.status == Status.APPLIED and request.amount:
        _note_amount_difference(request, row.original_amount)
    return Outcome(
        row.id,
        request.kind,
        Status(row.status),
        Reason(row.reason) if row.reason else None,
        request.player_id,
        request.currency,
        request.amount,
        row.balance_before,
        row.balance_after,
        limit=row.limit_name,
        remaining=row.limit_remaining,
    )


_CONFLICT = "conflict"  # wallet_rollback: the original is another account's; nothing recorded

_TRANSFER = """
SELECT * FROM wallet_transfer(%(provider)s::text, %(external_id)s::text, %(kind)s::text,
    %(player_id)s::text, %(currency)s::text, %(amount)s::numeric, %(reference_id)s::text,
    %(counterparty)s::text, %(details)s::jsonb)
"""
_ROLLBACK = """
SELECT * FROM wallet_rollback(%(provider)s::text, %(external_id)s::text, %(player_id)s::text,
    %(currency)s::text, %(amount)s::numeric, %(reference_id)s::text, %(details)s::jsonb)
"""


def _note_amount_difference(request: Request, original: Decimal | None) -> None:
    """A rollback reverses the original's amount; a request that names another (0 means
    "whatever the original was") is applied all the same, and logged."""
    if original is not None and original != request.amount:
        log.warning(
            "rollback amount differs from the original's; reversing the original's",
            provider_tx_id=request.external_id,
            requested=str(request.amount),
            original=str(original),
        )


def move_between_system_accounts(
    conn: Connection, kind: str, source: str, target: str, currency: str, amount: Decimal
) -> None:
    """Move ``amount`` from system account ``source`` to ``target`` (the operator's bankroll
    into a game's pool); no player is involved, so no player row is locked."""
    legs = [
        ledger.Leg(ledger.system_account(conn, target, currency), currency, amount),
        ledger.Leg(ledger.system_account(conn, source, currency), currency, -amount),
    ]
    ledger.post(conn, kind, legs, None)


def balances(conn: Connection, player_id: str, currency: str | None = None) -> dict[str, Decimal]:
    """The player's cached balances by currency (no lock: a read-committed snapshot)."""
    query = select(accounts.c.currency, accounts.c.balance).where(accounts.c.player_id == player_id)
    if currency is not None:
        query = query.where(accounts.c.currency == currency)
    found = {row.currency: row.balance for row in conn.execute(query.order_by(accounts.c.currency))}
    if not found:
        ledger.require_player(conn, player_id)
    return found


def currency_of(conn: Connection, provider: str, external_id: str, player_id: str) -> str | None:
    """The currency of ``player_id``'s recorded provider transaction, or None if the player
    has none by that id: another player's transaction never lends its currency."""
    query = select(provider_transactions.c.currency).where(
        provider_transactions.c.provider == provider,
        provider_transactions.c.external_id == external_id,
        provider_transactions.c.player_id == player_id,
    )
    found = conn.execute(query).scalar()
    return None if found is None else str(found)


def _parameters(request: Request) -> dict[str, Any]:
    """The request's values, as the money functions take them."""
    return {
        "provider": request.provider,
        "external_id": request.external_id,
        "kind": str(request.kind),
        "player_id": request.player_id,
        "currency": request.currency,
        "amount": request.amount,
        "reference_id": request.reference_id,
        "details": json.dumps(request.details, default=str) if request.details else None,
        "counterparty": request.counterparty_account,
    }


def _replay(row: Any, request: Request) -> Outcome:
    assert row is not None, "a conflicting insert implies a committed row"
    same = (
        row.kind == request.kind
        and row.player_id == request.player_id
        and row.currency == request.currency
        and row.amount == request.amount
        and row.reference_id == request.reference_id
    )
    if not same:
        raise TransactionConflict(
            f"transaction {request.external_id!r} was already received with a different payload"
        )
    return Outcome(
        row.id,
        Kind(row.kind),
        Status(row.status),
        Reason(row.reason) if row.reason else None,
        row.player_id,
        row.currency,
        row.amount,
        row.balance_before,
        row.balance_after,
        replayed=True,
        limit=row.limit_name,
        remaining=row.limit_remaining,
    )
