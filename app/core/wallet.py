"""Provider-neutral wallet operations: bet, win, rollback, deposit, withdrawal, balance.

How a request is applied exactly once
-------------------------------------
1. Look up (provider, external_id). Found: replay the stored outcome if the
   payload is the same, else raise ``TransactionConflict``. No lock is taken.
2. Lock the player's account row (``SELECT … FOR UPDATE``). Every request that
   can move this player's money now waits its turn.
3. Decide the outcome under the lock (funds, blocked player, tombstones,
   whether a rollback's original was already reversed) and insert the
   provider transaction with ``ON CONFLICT DO NOTHING``. If a concurrent
   duplicate committed first, the insert returns nothing and we replay its row.
4. Post the journal transaction and move the cached balance.

Bets, wins, deposits and withdrawals run these steps inside PostgreSQL, in the
function ``wallet_transfer`` (migration 0004): one statement, one round trip, and the
row lock is held only while the database works. Rollbacks, which read the original's
postings to reverse them, run them from here.

The caller's unit of work commits; nothing here does. Declines are outcomes,
recorded like any other, so a retried declined bet is declined the same way.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Any

import structlog
from sqlalchemy import Connection, select

from app.core import ledger
from app.core.models import accounts, journal_transactions, provider_transactions
from app.db import fetch_one
from app.errors import TransactionConflict, UnknownPlayer

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

    @property
    def declined(self) -> bool:
        return self.status is Status.DECLINED


@dataclass
class _Plan:
    status: Status
    reason: Reason | None = None
    legs: list[ledger.Leg] = field(default_factory=list)
    player_delta: Decimal = Decimal(0)


def execute(conn: Connection, request: Request) -> Outcome:
    """Apply ``request`` once; a repeat with the same payload returns the first outcome."""
    if request.kind is Kind.ROLLBACK:
        return _roll_back(conn, request)
    return _transfer(conn, request)


def one_statement(request: Request) -> bool:
    """Whether :func:`execute` runs ``request`` as one statement (so it may autocommit)."""
    return request.kind is not Kind.ROLLBACK


def _transfer(conn: Connection, request: Request) -> Outcome:
    """A bet, win, deposit or withdrawal: steps 1 to 4 in the database function
    ``wallet_transfer`` (migration 0004), one round trip."""
    params = {**_columns(request), "counterparty": request.counterparty_account}
    row = fetch_one(conn, _TRANSFER, params)
    if row is None:
        ledger.raise_missing(conn, request.player_id, request.currency)
    if row.replayed:
        return _replay(row, request)
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
    )


_TRANSFER = """
SELECT * FROM wallet_transfer(%(provider)s::text, %(external_id)s::text, %(kind)s::text,
    %(player_id)s::text, %(currency)s::text, %(amount)s::numeric, %(reference_id)s::text,
    %(counterparty)s::text, %(details)s::jsonb)
"""


def _roll_back(conn: Connection, request: Request) -> Outcome:
    existing = _find(conn, request.provider, request.external_id)
    if existing is not None:
        return _replay(existing, request)
    account = ledger.lock_player_account(conn, request.player_id, request.currency)
    plan = _plan_rollback(conn, request, account)
    record_id = _record_and_post(conn, request, account, plan)
    if record_id is None:  # a concurrent duplicate committed first
        return _replay(_find(conn, request.provider, request.external_id), request)
    return Outcome(
        record_id,
        request.kind,
        plan.status,
        plan.reason,
        request.player_id,
        request.currency,
        request.amount,
        account.balance,
        account.balance + plan.player_delta,
    )


def balances(conn: Connection, player_id: str, currency: str | None = None) -> dict[str, Decimal]:
    """The player's cached balances by currency (no lock: a read-committed snapshot)."""
    query = select(accounts.c.currency, accounts.c.balance).where(accounts.c.player_id == player_id)
    if currency is not None:
        query = query.where(accounts.c.currency == currency)
    found = {row.currency: row.balance for row in conn.execute(query.order_by(accounts.c.currency))}
    if not found and not ledger.player_exists(conn, player_id):
        raise UnknownPlayer(f"player {player_id!r} does not exist")
    return found


def currency_of(conn: Connection, provider: str, external_id: str) -> str | None:
    """The currency a recorded provider transaction was in, or None if there is none."""
    query = select(provider_transactions.c.currency).where(
        provider_transactions.c.provider == provider,
        provider_transactions.c.external_id == external_id,
    )
    found = conn.execute(query).scalar()
    return None if found is None else str(found)


def _plan_rollback(conn: Connection, request: Request, account: ledger.PlayerAccount) -> _Plan:
    original = _find(conn, request.provider, request.reference_id or "")
    if original is None:
        return _Plan(Status.TOMBSTONE)
    if original.account_id != account.id:
        raise TransactionConflict(
            f"transaction {request.reference_id!r} belongs to another player or currency"
        )
    reversible = original.kind in (Kind.BET, Kind.WIN) and original.status == Status.APPLIED
    if not reversible:
        return _Plan(Status.NOOP, Reason.NOTHING_TO_REVERSE)
    if _already_reversed(conn, request.provider, original.external_id):
        return _Plan(Status.NOOP, Reason.ALREADY_ROLLED_BACK)
    if request.amount and original.amount != request.amount:  # 0: "whatever the original was"
        log.warning(
            "rollback amount differs from the original's; reversing the original's",
            provider_tx_id=request.external_id,
            requested=str(request.amount),
            original=str(original.amount),
        )
    journal_id = _journal_of(conn, original.id)
    if journal_id is None:
        return _Plan(Status.APPLIED)
    legs = [
        ledger.Leg(leg.account_id, leg.currency, -leg.amount)
        for leg in ledger.legs_of(conn, journal_id)
    ]
    delta = sum((leg.amount for leg in legs if leg.account_id == account.id), Decimal(0))
    return _Plan(Status.APPLIED, legs=legs, player_delta=delta)


def _find(conn: Connection, provider: str, external_id: str) -> Any:
    """The recorded provider transaction (a named tuple), or None."""
    return fetch_one(conn, _FIND, {"provider": provider, "external_id": external_id})


_FIND = """
SELECT id, external_id, kind, status, reason, player_id, currency, amount, reference_id,
       account_id, balance_before, balance_after
FROM provider_transactions WHERE provider = %(provider)s AND external_id = %(external_id)s
"""


def _already_reversed(conn: Connection, provider: str, external_id: str) -> bool:
    found = fetch_one(conn, _REVERSED, {"provider": provider, "external_id": external_id})
    return found is not None


# 'rollback' and 'applied' are literals so that even a generic prepared plan can use the
# partial indexes on rollbacks.
_REVERSED = """
SELECT 1 FROM provider_transactions
WHERE provider = %(provider)s AND kind = 'rollback' AND reference_id = %(external_id)s
  AND status = 'applied'
LIMIT 1
"""


def _journal_of(conn: Connection, provider_transaction_id: int) -> int | None:
    return conn.execute(
        select(journal_transactions.c.id).where(
            journal_transactions.c.provider_transaction_id == provider_transaction_id
        )
    ).scalar()


def _record_and_post(
    conn: Connection,
    request: Request,
    account: ledger.PlayerAccount,
    plan: _Plan,
) -> int | None:
    """Record the provider transaction and, if it is new, post its legs and move the
    cached balance: one statement, one round trip.

    ``None`` means nothing was written: a concurrent duplicate committed first.
    """
    params = {
        **_columns(request),
        "status": str(plan.status),
        "reason": str(plan.reason) if plan.reason else None,
        "account_id": account.id,
        "balance_before": account.balance,
        "balance_after": account.balance + plan.player_delta,
        "leg_accounts": [leg.account_id for leg in plan.legs],
        "leg_currencies": [leg.currency for leg in plan.legs],
        "leg_amounts": [leg.amount for leg in plan.legs],
        "delta": plan.player_delta,
    }
    found = fetch_one(conn, _RECORD_AND_POST, params)
    return None if found is None else int(found.id)


_RECORD_AND_POST = """
WITH record AS (
    INSERT INTO provider_transactions (provider, external_id, kind, player_id, currency,
        amount, reference_id, status, reason, account_id, balance_before, balance_after, details)
    VALUES (%(provider)s::text, %(external_id)s::text, %(kind)s::text, %(player_id)s::text,
        %(currency)s::text, %(amount)s::numeric, %(reference_id)s::text, %(status)s::text,
        %(reason)s::text, %(account_id)s::bigint, %(balance_before)s::numeric,
        %(balance_after)s::numeric, %(details)s::jsonb)
    ON CONFLICT (provider, external_id) DO NOTHING
    RETURNING id
), journal AS (
    INSERT INTO journal_transactions (kind, provider_transaction_id)
    SELECT %(kind)s::text, id FROM record
    WHERE cardinality(CAST(%(leg_accounts)s AS bigint[])) > 0
    RETURNING id
), legs AS (
    INSERT INTO postings (journal_id, account_id, currency, amount)
    SELECT journal.id, leg.account_id, leg.currency, leg.amount FROM journal,
        unnest(CAST(%(leg_accounts)s AS bigint[]), CAST(%(leg_currencies)s AS text[]),
               CAST(%(leg_amounts)s AS numeric[])) AS leg(account_id, currency, amount)
), moved AS (
    UPDATE accounts SET balance = balance + CAST(%(delta)s AS numeric)
    WHERE id = %(account_id)s AND CAST(%(delta)s AS numeric) <> 0
      AND EXISTS (SELECT 1 FROM record)
)
SELECT id FROM record
"""


def _columns(request: Request) -> dict[str, Any]:
    """The request's own values, as the statements that record it take them."""
    return {
        "provider": request.provider,
        "external_id": request.external_id,
        "kind": str(request.kind),
        "player_id": request.player_id,
        "currency": request.currency,
        "amount": request.amount,
        "reference_id": request.reference_id,
        "details": json.dumps(request.details, default=str) if request.details else None,
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
    )
