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
  deposits and rollbacks apply. This module reads limits;
  :mod:`app.core.limit_changes` changes them, under that same row lock.
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

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, text

from app.core import ledger, money
from app.core.limit_changes import Change, Limit, NoSuchLimit, remove_limits, set_limits
from app.core.protection_models import KINDS, PERIODS
from app.errors import CurrencyNotEnabled, InvalidRequest, WalletError

__all__ = [
    "KINDS",
    "PERIODS",
    "Change",
    "Limit",
    "LimitView",
    "NoSuchLimit",
    "remove_limits",
    "set_limits",
]


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


def _check_wallet(conn: Connection, player_id: str, currency: str | None) -> None:
    ledger.require_player(conn, player_id)
    if (
        currency is not None
        and not conn.execute(
            text("SELECT 1 FROM accounts WHERE player_id = :p AND currency = :c"),
            {"p": player_id, "c": currency},
        ).first()
    ):
        raise CurrencyNotEnabled(f"player {player_id!r} has no {currency} wallet")
