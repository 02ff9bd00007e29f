"""The whole book at a moment: the player-funds report and the balance snapshots behind it.

Summing every posting ever booked to learn what each account held at a month end reads
the whole ledger. A **snapshot** stores every account's balance at a moment
(``balance_snapshot_lines``) and, per currency and system account, the totals the report
prints (``balance_snapshot_totals``). The report as of ``end`` then starts from the totals
of the latest snapshot at or before ``end`` and corrects them only for the accounts that
moved since: each one's balance then (its snapshot line) and at ``end`` (plus its postings
since). Its cost follows the postings since the snapshot, not the size of the book.
Without a snapshot the same sums are taken from zero over every posting.

Functions take a Connection in an open transaction and never commit; a snapshot's rows
are written for the caller to commit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import BigInteger, Connection, DateTime, ForeignKey, String, Table, func, text
from sqlalchemy.orm import Mapped, mapped_column

from app.core.finance import window
from app.core.models import Base, Money
from app.errors import InvalidRequest

HOUSE_PREFIX = "house:"
POOL_PREFIX = "pool:"
PLAYERS = ""  # the totals' name for all player accounts of a currency
# A snapshot at T must not miss a transaction that began before T and commits later:
# callbacks are bounded by their statement timeout (seconds), so minutes are plenty.
SNAPSHOT_MARGIN = timedelta(minutes=5)


class BalanceSnapshot(Base):
    """A moment whose account balances are stored (``wallet ledger snapshot``)."""

    __tablename__ = "balance_snapshots"

    taken_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), primary_key=True)
    accounts: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class BalanceSnapshotLine(Base):
    """An account's balance at ``taken_at``: its postings created before that moment.
    Zero balances are not stored."""

    __tablename__ = "balance_snapshot_lines"

    taken_at: Mapped[datetime] = mapped_column(
        ForeignKey("balance_snapshots.taken_at", ondelete="CASCADE"), primary_key=True
    )
    account_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    balance: Mapped[Decimal] = mapped_column(Money)


class BalanceSnapshotTotal(Base):
    """Per currency, the player accounts' totals (``name`` empty) and each system
    account's balance (``name``), at ``taken_at``."""

    __tablename__ = "balance_snapshot_totals"

    taken_at: Mapped[datetime] = mapped_column(
        ForeignKey("balance_snapshots.taken_at", ondelete="CASCADE"), primary_key=True
    )
    currency: Mapped[str] = mapped_column(String(8), primary_key=True)
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    positive: Mapped[Decimal] = mapped_column(Money)
    negative: Mapped[Decimal] = mapped_column(Money)
    in_credit: Mapped[int] = mapped_column(BigInteger)
    in_debit: Mapped[int] = mapped_column(BigInteger)


balance_snapshots = cast(Table, BalanceSnapshot.__table__)


# --- the player-funds report ----------------------------------------------------------


@dataclass
class PlayerFunds:
    as_of: datetime | None
    snapshot: datetime | None
    currencies: dict[str, dict[str, Any]]
    house: dict[str, dict[str, Decimal]]
    pools: dict[str, dict[str, Decimal]]
    system: dict[str, dict[str, Decimal]]


def player_funds(conn: Connection, end: datetime | None) -> PlayerFunds:
    """Per currency: what the players held at ``end`` (positive balances), the negative
    balances, how many player wallets existed; and each system account's balance."""
    snapshot = latest_snapshot(conn, end)
    params = {"snapshot": snapshot, "end": end}
    currencies: dict[str, dict[str, Any]] = {}
    wallets = _WALLETS.format(window=window("created_at", None, end))
    for row in conn.execute(text(wallets), params):
        currencies[row.currency] = _empty_funds(row.wallets)
    house: dict[str, dict[str, Decimal]] = {}
    pools: dict[str, dict[str, Decimal]] = {}
    system: dict[str, dict[str, Decimal]] = {}
    for row in conn.execute(text(_totals_sql(snapshot, end)), params):
        balance = row.positive + row.negative
        if row.name == PLAYERS:
            currencies.setdefault(row.currency, _empty_funds(0)).update(
                player_funds=row.positive,
                negative_balances=row.negative,
                net=balance,
                players_in_credit=int(row.in_credit),
                players_in_debit=int(row.in_debit),
            )
        elif row.name.startswith(HOUSE_PREFIX):
            house.setdefault(row.name[len(HOUSE_PREFIX) :], {})[row.currency] = balance
        elif row.name.startswith(POOL_PREFIX):
            pools.setdefault(row.name[len(POOL_PREFIX) :], {})[row.currency] = balance
        else:
            system.setdefault(row.name, {})[row.currency] = balance
    return PlayerFunds(end, snapshot, dict(sorted(currencies.items())), house, pools, system)


def _empty_funds(wallets: int) -> dict[str, Any]:
    zero = Decimal(0)
    return {
        "player_funds": zero,
        "negative_balances": zero,
        "net": zero,
        "players": wallets,
        "players_in_credit": 0,
        "players_in_debit": 0,
    }


_WALLETS = """
SELECT currency, count(*) AS wallets FROM accounts
WHERE player_id IS NOT NULL AND {window}
GROUP BY currency
"""


def _totals_sql(snapshot: datetime | None, end: datetime | None) -> str:
    """The totals at ``end``: the snapshot's, corrected for each account that moved."""
    condition = window("j.created_at", None, end)
    if snapshot is None:
        return _TOTALS.format(base="", changed=_FROM_ZERO.format(window=condition))
    changed = _SINCE_SNAPSHOT.format(window=condition)
    return _TOTALS.format(base=_SNAPSHOT_TOTALS, changed=changed)


# Each account that moved, with its balance at the snapshot (old) and at the end (new).
_SINCE_SNAPSHOT = """
    SELECT a.currency, coalesce(a.name, '') AS name, coalesce(s.balance, 0) AS old,
           coalesce(s.balance, 0) + m.delta AS new
    FROM (SELECT p.account_id, sum(p.amount) AS delta
          FROM journal_transactions j JOIN postings p ON p.journal_id = j.id
          WHERE j.created_at >= :snapshot AND {window}
          GROUP BY p.account_id) AS m
    JOIN accounts a ON a.id = m.account_id
    LEFT JOIN balance_snapshot_lines s ON s.taken_at = :snapshot AND s.account_id = m.account_id
"""
# Without a snapshot every account moved from zero. Grouped by the account's key (not by
# the postings' account_id) so that the planner knows how many groups there are.
_FROM_ZERO = """
    SELECT a.currency, coalesce(a.name, '') AS name, 0 AS old, sum(p.amount) AS new
    FROM journal_transactions j
    JOIN postings p ON p.journal_id = j.id
    JOIN accounts a ON a.id = p.account_id
    WHERE {window}
    GROUP BY a.id
"""
_SNAPSHOT_TOTALS = """
    SELECT currency, name, positive, negative, in_credit, in_debit
    FROM balance_snapshot_totals WHERE taken_at = :snapshot
    UNION ALL
"""
_TOTALS = """
WITH changed AS ({changed})
SELECT currency, name, sum(positive) AS positive, sum(negative) AS negative,
       sum(in_credit) AS in_credit, sum(in_debit) AS in_debit
FROM ({base}
    SELECT currency, name,
           sum(greatest(new, 0) - greatest(old, 0)) AS positive,
           sum(least(new, 0) - least(old, 0)) AS negative,
           sum((new > 0)::int - (old > 0)::int) AS in_credit,
           sum((new < 0)::int - (old < 0)::int) AS in_debit
    FROM changed GROUP BY currency, name) AS parts
GROUP BY currency, name
ORDER BY currency, name
"""


# --- snapshots ------------------------------------------------------------------------


def latest_snapshot(conn: Connection, end: datetime | None) -> datetime | None:
    """The latest snapshot at or before ``end`` (any, for None)."""
    query = "SELECT max(taken_at) FROM balance_snapshots"
    if end is not None:
        query += " WHERE taken_at <= :end"
    found = conn.execute(text(query), {"end": end}).scalar()
    return cast(datetime | None, found)


@dataclass(frozen=True)
class SnapshotTaken:
    taken_at: datetime
    accounts: int
    created: bool
    based_on: datetime | None


def take_snapshot(conn: Connection, at: datetime, now: datetime) -> SnapshotTaken:
    """Store every non-zero account balance at ``at`` (the previous snapshot plus the
    postings created since, or the whole ledger when there is none) and the report's
    totals. Taking the same moment again changes nothing."""
    if at > now - SNAPSHOT_MARGIN:
        minutes = int(SNAPSHOT_MARGIN.total_seconds() // 60)
        raise InvalidRequest(
            f"a snapshot must be at least {minutes} minutes in the past: transactions "
            "begun before it may still be committing"
        )
    existing = conn.execute(
        text("SELECT accounts FROM balance_snapshots WHERE taken_at = :at"), {"at": at}
    ).scalar()
    if existing is not None:
        return SnapshotTaken(at, int(existing), False, None)
    previous = latest_snapshot(conn, at)
    params = {"at": at, "previous": previous}
    conn.execute(text("INSERT INTO balance_snapshots (taken_at, accounts) VALUES (:at, 0)"), params)
    lines = _LINES.format(
        base=_PREVIOUS_LINES if previous is not None else "",
        since="j.created_at >= :previous" if previous is not None else "TRUE",
    )
    stored = conn.execute(text(lines), params).rowcount
    conn.execute(text("ANALYZE balance_snapshot_lines"))
    conn.execute(text(_STORE_TOTALS), params)
    conn.execute(
        text("UPDATE balance_snapshots SET accounts = :n WHERE taken_at = :at"),
        {"n": stored, "at": at},
    )
    return SnapshotTaken(at, int(stored), True, previous)


_PREVIOUS_LINES = """
    SELECT account_id, balance AS amount FROM balance_snapshot_lines WHERE taken_at = :previous
    UNION ALL
"""
_LINES = """
INSERT INTO balance_snapshot_lines (taken_at, account_id, balance)
SELECT :at, account_id, sum(amount)
FROM ({base}
      SELECT p.account_id, p.amount
      FROM journal_transactions j JOIN postings p ON p.journal_id = j.id
      WHERE {since} AND j.created_at < :at) AS parts
GROUP BY account_id
HAVING sum(amount) <> 0
"""
_STORE_TOTALS = """
INSERT INTO balance_snapshot_totals
    (taken_at, currency, name, positive, negative, in_credit, in_debit)
SELECT :at, a.currency, coalesce(a.name, ''),
       coalesce(sum(l.balance) FILTER (WHERE l.balance > 0), 0),
       coalesce(sum(l.balance) FILTER (WHERE l.balance < 0), 0),
       count(*) FILTER (WHERE l.balance > 0), count(*) FILTER (WHERE l.balance < 0)
FROM balance_snapshot_lines l JOIN accounts a ON a.id = l.account_id
WHERE l.taken_at = :at
GROUP BY a.currency, coalesce(a.name, '')
"""
