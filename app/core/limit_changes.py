"""Changing a player's limits: set, decrease, increase and remove, under the account's
row lock, each change recorded (the rules are in :mod:`app.core.limits`).

Functions take a Connection inside an open transaction and never commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, text

from app.core import ledger, money
from app.core.durations import Duration
from app.errors import WalletError


class NoSuchLimit(WalletError):
    """A removal named a limit the account does not have."""


@dataclass(frozen=True)
class Limit:
    kind: str
    period: str
    amount: Decimal


@dataclass(frozen=True)
class Change:
    """What one requested change did: ``set`` (new), ``decrease``, ``increase`` and
    ``remove`` are recorded; ``unchanged`` is not."""

    currency: str
    kind: str
    period: str
    action: str
    old: Decimal | None
    new: Decimal | None
    requested_at: datetime
    effective_at: datetime
    note: str | None = None

    @property
    def pending(self) -> bool:
        return self.effective_at > self.requested_at


def set_limits(
    conn: Connection,
    player_id: str,
    currency: str,
    limits: Sequence[Limit],
    by: str,
    delay: Duration,
) -> list[Change]:
    """Set each limit on the player's ``currency`` account, all under its row lock."""
    account = _lock_account(conn, player_id, currency)
    now = _now(conn)
    return [_set(conn, account, currency, limit, now, by, delay) for limit in limits]


def remove_limits(
    conn: Connection,
    player_id: str,
    currency: str,
    targets: Sequence[tuple[str, str]],
    by: str,
    delay: Duration,
) -> list[Change]:
    """Remove each (kind, period) limit: after ``delay``, pending until then."""
    account = _lock_account(conn, player_id, currency)
    now = _now(conn)
    return [
        _remove(conn, account, currency, kind, period, now, by, delay) for kind, period in targets
    ]


def _set(
    conn: Connection,
    account: int,
    currency: str,
    limit: Limit,
    now: datetime,
    by: str,
    delay: Duration,
) -> Change:
    change = _Changer(conn, account, currency, limit.kind, limit.period, now, by)
    current = change.current()
    if current is None:
        change.insert(limit.amount)
        return change.record("set", None, limit.amount, now)
    pending = current.pending_at is not None
    if limit.amount < current.amount or (limit.amount == current.amount and pending):
        change.write(limit.amount, None, None)
        note = f"cancels the pending {_describe(current, currency)}" if pending else None
        return change.record("decrease", current.amount, limit.amount, now, note)
    if limit.amount == current.amount or (pending and current.pending_amount == limit.amount):
        effective = current.pending_at if pending else now
        return change.unchanged(current.amount, limit.amount, effective)
    return _loosen(change, current, limit.amount, delay)


def _remove(
    conn: Connection,
    account: int,
    currency: str,
    kind: str,
    period: str,
    now: datetime,
    by: str,
    delay: Duration,
) -> Change:
    change = _Changer(conn, account, currency, kind, period, now, by)
    current = change.current()
    if current is None:
        raise NoSuchLimit(f"there is no {kind}/{period} limit on this {currency} wallet")
    if current.pending_at is not None and current.pending_amount is None:
        return change.unchanged(current.amount, None, current.pending_at)
    return _loosen(change, current, None, delay)


def _loosen(change: _Changer, current: Any, new: Decimal | None, delay: Duration) -> Change:
    """An increase to ``new``, or a removal (None): at once when ``delay`` is zero, else
    pending until then, replacing any pending one."""
    action = "remove" if new is None else "increase"
    pending = current.pending_at is not None
    note = f"replaces the pending {_describe(current, change.currency)}" if pending else None
    if delay.is_zero:
        if new is None:
            change.delete()
        else:
            change.write(new, None, None)
        return change.record(action, current.amount, new, change.now, note)
    effective = _later(change.conn, change.now, delay)
    change.write(current.amount, new, effective)
    return change.record(action, current.amount, new, effective, note)


def _describe(current: Any, currency: str) -> str:
    if current.pending_amount is None:
        return "removal"
    return f"increase to {money.format_amount(current.pending_amount, currency)}"


class _Changer:
    """One limit's row under the account's lock: read (applying a due change), write,
    and record what was done."""

    def __init__(
        self,
        conn: Connection,
        account: int,
        currency: str,
        kind: str,
        period: str,
        now: datetime,
        by: str,
    ) -> None:
        self.conn, self.currency, self.now, self.by = conn, currency, now, by
        self.kind, self.period = kind, period
        self.key = {"account": account, "kind": kind, "period": period}

    def current(self) -> Any:
        """The limit's row, with a pending change that has come due written down first."""
        row = self.conn.execute(text(_CURRENT), self.key).first()
        if row is None or row.pending_at is None or row.pending_at > self.now:
            return row
        if row.pending_amount is None:
            self.delete()
            return None
        self.write(row.pending_amount, None, None)
        return self.conn.execute(text(_CURRENT), self.key).first()

    def insert(self, amount: Decimal) -> None:
        """A new limit, and its total for the period so far counted from the books, so
        that ``limit_count`` carries on from the right figure."""
        self.conn.execute(text(_INSERT), {**self.key, "amount": amount})
        self.conn.execute(text(_RECOUNT), {**self.key, "now": self.now})

    def write(self, amount: Decimal, pending: Decimal | None, pending_at: datetime | None) -> None:
        values = {"amount": amount, "pending": pending, "pending_at": pending_at}
        self.conn.execute(text(_UPDATE), {**self.key, **values})

    def delete(self) -> None:
        self.conn.execute(text(_DELETE), self.key)
        self.conn.execute(text(_STILL_LIMITED), self.key)

    def record(
        self,
        action: str,
        old: Decimal | None,
        new: Decimal | None,
        effective_at: datetime,
        note: str | None = None,
    ) -> Change:
        values = {"action": action, "old": old, "new": new, "now": self.now}
        values |= {"effective_at": effective_at, "by": self.by, "note": note}
        self.conn.execute(text(_RECORD), {**self.key, **values})
        return self._change(action, old, new, effective_at, note)

    def unchanged(self, old: Decimal, new: Decimal | None, effective_at: datetime) -> Change:
        return self._change("unchanged", old, new, effective_at, None)

    def _change(
        self,
        action: str,
        old: Decimal | None,
        new: Decimal | None,
        effective_at: datetime,
        note: str | None,
    ) -> Change:
        return Change(
            self.currency, self.kind, self.period, action, old, new, self.now, effective_at, note
        )


_CURRENT = """
SELECT amount, pending_amount, pending_at FROM player_limits
WHERE account_id = :account AND kind = :kind AND period = :period
"""
_INSERT = """
WITH added AS (
    INSERT INTO player_limits (account_id, kind, period, amount)
    VALUES (:account, :kind, :period, :amount)
    RETURNING account_id
)
UPDATE accounts a SET limited = true FROM added WHERE a.id = added.account_id
"""
_RECOUNT = """
INSERT INTO limit_usage AS u (account_id, kind, period, period_start, amount)
SELECT l.account_id, l.kind, l.period, limit_period_start(l.period, :now, zone.name),
       limit_recount(l.account_id, l.kind, l.period, :now)
FROM player_limits l CROSS JOIN limits_timezone() AS zone
WHERE l.account_id = :account AND l.kind = :kind AND l.period = :period
ON CONFLICT (account_id, kind, period, period_start) DO UPDATE SET amount = EXCLUDED.amount
"""
_UPDATE = """
UPDATE player_limits
SET amount = :amount, pending_amount = :pending, pending_at = :pending_at, updated_at = now()
WHERE account_id = :account AND kind = :kind AND period = :period
"""
_DELETE = """
WITH gone AS (
    DELETE FROM player_limits
    WHERE account_id = :account AND kind = :kind AND period = :period
    RETURNING account_id, kind, period
)
DELETE FROM limit_usage u USING gone
WHERE u.account_id = gone.account_id AND u.kind = gone.kind AND u.period = gone.period
"""
_STILL_LIMITED = """
UPDATE accounts SET limited = EXISTS (SELECT 1 FROM player_limits WHERE account_id = :account)
WHERE id = :account
"""
_RECORD = """
INSERT INTO limit_changes (account_id, kind, period, action, old_amount, new_amount,
    requested_at, effective_at, changed_by, note)
VALUES (:account, :kind, :period, :action, :old, :new, :now, :effective_at, :by, :note)
"""


def _lock_account(conn: Connection, player_id: str, currency: str) -> int:
    """The player's account row, locked as a bet locks it: limits change between bets."""
    found = conn.execute(
        text("SELECT id FROM accounts WHERE player_id = :p AND currency = :c FOR UPDATE"),
        {"p": player_id, "c": currency},
    ).scalar()
    if found is None:
        ledger.raise_missing(conn, player_id, currency)
    return int(found)


def _now(conn: Connection) -> datetime:
    found: datetime = conn.execute(text("SELECT wallet_now()")).scalar_one()
    return found


def _later(conn: Connection, at: datetime, delay: Duration) -> datetime:
    """``at + delay`` as PostgreSQL adds it (calendar months)."""
    found: datetime = conn.execute(
        text(
            "SELECT CAST(:at AS timestamptz) "
            "+ make_interval(months => :months, days => :days, secs => :seconds)"
        ),
        {"at": at, **delay.sql_parameters()},
    ).scalar_one()
    return found
