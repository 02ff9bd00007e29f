"""Player protection limits: loss, wager and deposit limits per player account.

Design overview
---------------
* A limit caps, per player and currency, the **net loss** (stakes − wins), the
  **stakes** (wager) or the **deposits** over a calendar **day**, **week** (ISO, from
  Monday) or **month** in ``LIMITS_TIMEZONE``. An account may hold one limit of each
  kind per period; a bet must fit under every one (the tightest decides).
* The check is not made here: ``wallet_transfer`` (``app/core/sql/``) calls
  ``limit_check`` under the player's row lock, in the bet's own statement, and
  ``limit_count`` keeps each limit's period total (``limit_usage``) as bets, wins,
  deposits and rollbacks apply. This module changes limits, under that same row lock,
  and reads them.
* Changes follow the regulators: a new limit or a decrease takes effect at once (and
  cancels a pending increase); an increase or a removal takes effect
  ``LIMIT_INCREASE_DELAY`` after it was asked for and shows as pending until then.
  A due change is applied lazily: the money functions read a row's pending amount once
  its time has come, and the next change of that limit writes it down. Every change is
  recorded in ``limit_changes`` (append-only) with when, old, new, and who.
* Time is the database's (``wallet_now()``), so tests can move it (docs/player-protection.md).

Functions take a Connection inside an open transaction and never commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, text

from app.core import ledger, money
from app.core.durations import Duration
from app.core.protection_models import KINDS, PERIODS
from app.errors import CurrencyNotEnabled, InvalidRequest, UnknownPlayer, WalletError

__all__ = ["KINDS", "PERIODS", "Change", "Limit", "LimitView", "NoSuchLimit"]


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


@dataclass(frozen=True)
class LimitView:
    """A limit as it stands: in force now, used in the current period, what is left."""

    currency: str
    kind: str
    period: str
    amount: Decimal
    used: Decimal
    period_start: datetime
    period_end: datetime
    pending_amount: Decimal | None
    pending_at: datetime | None

    @property
    def remaining(self) -> Decimal:
        return max(self.amount - self.used, Decimal(0))

    @property
    def pending_action(self) -> str | None:
        if self.pending_at is None:
            return None
        return "remove" if self.pending_amount is None else "increase"


def parse(kind: str, raw: str, currency: str) -> Limit:
    """``"50/day"`` in ``currency`` → Limit(kind, "day", Decimal("50"))."""
    amount_text, _, period = raw.strip().lower().partition("/")
    period = period.strip()
    if period not in PERIODS:
        raise InvalidRequest(
            f"--{kind} {raw!r}: write AMOUNT/PERIOD with a period of day, week or month, "
            "e.g. 50/day"
        )
    try:
        amount = money.parse_amount(amount_text.strip(), currency)
    except WalletError as exc:
        raise InvalidRequest(f"--{kind} {raw!r}: {exc}") from None
    return Limit(kind, period, amount)


def check_period(kind: str, raw: str) -> str:
    period = raw.strip().lower()
    if period not in PERIODS:
        raise InvalidRequest(f"--{kind} {raw!r}: the period is day, week or month")
    return period


# --- changing limits ---------------------------------------------------------------------


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
    note = f"replaces the pending {_describe(current, currency)}" if pending else None
    if delay.is_zero:
        change.write(limit.amount, None, None)
        return change.record("increase", current.amount, limit.amount, now, note)
    effective = _later(conn, now, delay)
    change.write(current.amount, limit.amount, effective)
    return change.record("increase", current.amount, limit.amount, effective, note)


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
    pending = current.pending_at is not None
    if pending and current.pending_amount is None:
        return change.unchanged(current.amount, None, current.pending_at)
    note = f"replaces the pending {_describe(current, currency)}" if pending else None
    if delay.is_zero:
        change.delete()
        return change.record("remove", current.amount, None, now, note)
    effective = _later(conn, now, delay)
    change.write(current.amount, None, effective)
    return change.record("remove", current.amount, None, effective, note)


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


# --- reading -----------------------------------------------------------------------------


def show(conn: Connection, player_id: str, currency: str | None = None) -> list[LimitView]:
    """The player's limits in force (on one currency, or all), with the current period's
    use and any pending change."""
    _check_wallet(conn, player_id, currency)
    rows = conn.execute(text(_SHOW), {"player": player_id, "currency": currency})
    return [view for view in map(_view, rows) if view is not None]


def _view(row: Any) -> LimitView | None:
    """A row as it stands at ``row.now``: a due change counts as made."""
    amount, pending, pending_at = row.amount, row.pending_amount, row.pending_at
    if pending_at is not None and pending_at <= row.now:
        if pending is None:
            return None
        amount, pending, pending_at = pending, None, None
    return LimitView(
        row.currency,
        row.kind,
        row.period,
        amount,
        row.used,
        row.period_start,
        row.period_end,
        pending,
        pending_at,
    )


_SHOW = """
SELECT a.currency, l.kind, l.period, l.amount, l.pending_amount, l.pending_at, n.now,
       limit_period_start(l.period, n.now, zone.name) AS period_start,
       limit_period_start(l.period, n.now, zone.name, 1) AS period_end,
       coalesce(u.amount, 0) AS used
FROM (SELECT wallet_now() AS now) AS n
CROSS JOIN limits_timezone() AS zone
JOIN accounts a ON a.player_id = :player
    AND (CAST(:currency AS text) IS NULL OR a.currency = :currency)
JOIN player_limits l ON l.account_id = a.id
LEFT JOIN limit_usage u ON u.account_id = l.account_id AND u.kind = l.kind
    AND u.period = l.period AND u.period_start = limit_period_start(l.period, n.now, zone.name)
ORDER BY a.currency, array_position(ARRAY['loss', 'wager', 'deposit'], l.kind::text),
    array_position(ARRAY['day', 'week', 'month'], l.period::text)
"""


def history(conn: Connection, player_id: str, currency: str | None = None) -> list[dict[str, Any]]:
    """Every change of the player's limits, oldest first."""
    _check_wallet(conn, player_id, currency)
    rows = conn.execute(text(_HISTORY), {"player": player_id, "currency": currency})
    return [dict(row._mapping) for row in rows]


_HISTORY = """
SELECT c.requested_at, a.currency, c.kind, c.period, c.action, c.old_amount, c.new_amount,
       c.effective_at, c.changed_by, c.note
FROM limit_changes c JOIN accounts a ON a.id = c.account_id
WHERE a.player_id = :player AND (CAST(:currency AS text) IS NULL OR a.currency = :currency)
ORDER BY c.id
"""


def bet_allowance(conn: Connection, player_id: str, currency: str) -> Decimal | None:
    """The most the player may stake now under the loss and wager limits: 0 while
    excluded, None when no limit applies. Advisory (no lock): the bet itself is checked
    under the row lock."""
    row = conn.execute(text(_ALLOWANCE), {"player": player_id, "currency": currency}).first()
    if row is None:
        return None
    return Decimal(0) if row.excluded else row.remaining


_ALLOWANCE = """
SELECT coalesce(p.excluded_until > n.now, false) AS excluded, c.remaining
FROM (SELECT wallet_now() AS now) AS n
JOIN accounts a ON a.player_id = :player AND a.currency = :currency
JOIN players p ON p.id = a.player_id
LEFT JOIN LATERAL limit_check(a.id, 'bet', n.now) AS c ON true
"""


def limits_hit(conn: Connection, start: date, end: date) -> list[dict[str, Any]]:
    """Bets and deposits declined by a limit or an exclusion, from ``start`` to ``end``
    inclusive (days in ``LIMITS_TIMEZONE``), oldest first."""
    rows = conn.execute(text(_LIMITS_HIT), {"start": start, "end": end})
    return [dict(row._mapping) for row in rows]


_LIMITS_HIT = """
SELECT t.created_at, t.provider, t.external_id, t.kind, t.player_id, t.currency, t.amount,
       t.reason, t.limit_name AS limit, t.limit_remaining AS remaining
FROM limits_timezone() AS zone
JOIN provider_transactions t
  ON t.created_at >= CAST(:start AS date)::timestamp AT TIME ZONE zone.name
 AND t.created_at < (CAST(:end AS date) + 1)::timestamp AT TIME ZONE zone.name
WHERE t.reason IN ('limit_exceeded', 'player_excluded')
ORDER BY t.created_at, t.id
"""


# --- settings and helpers ----------------------------------------------------------------


def store_timezone(conn: Connection, zone: str) -> None:
    """Make ``zone`` the calendar of every limit (``wallet db upgrade`` stores
    ``LIMITS_TIMEZONE``); PostgreSQL must know the name."""
    conn.execute(text("SELECT now() AT TIME ZONE :zone"), {"zone": zone})
    conn.execute(text(_STORE_TIMEZONE), {"zone": zone})


_STORE_TIMEZONE = """
INSERT INTO wallet_settings (name, value) VALUES ('limits_timezone', :zone)
ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value
"""


def timezone(conn: Connection) -> str:
    return str(conn.execute(text("SELECT name FROM limits_timezone()")).scalar_one())


def _lock_account(conn: Connection, player_id: str, currency: str) -> int:
    """The player's account row, locked as a bet locks it: limits change between bets."""
    found = conn.execute(
        text("SELECT id FROM accounts WHERE player_id = :p AND currency = :c FOR UPDATE"),
        {"p": player_id, "c": currency},
    ).scalar()
    if found is None:
        ledger.raise_missing(conn, player_id, currency)
    return int(found)


def _check_wallet(conn: Connection, player_id: str, currency: str | None) -> None:
    if not ledger.player_exists(conn, player_id):
        raise UnknownPlayer(f"player {player_id!r} does not exist")
    if (
        currency is not None
        and not conn.execute(
            text("SELECT 1 FROM accounts WHERE player_id = :p AND currency = :c"),
            {"p": player_id, "c": currency},
        ).first()
    ):
        raise CurrencyNotEnabled(f"player {player_id!r} has no {currency} wallet")


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
