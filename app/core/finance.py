"""Balances at any moment, statements and the player-funds report, read from the postings.

A posting belongs to the moment of its journal transaction (``created_at``: when the
transaction that wrote it began). The balance of an account as of ``end`` is the sum of
its postings created before ``end`` (``end`` None: every committed posting, which equals
the cached balance of a player account). Reports over the whole book start from the
latest balance snapshot at or before ``end`` and add the postings created since
(``take_snapshot``; docs/finance.md says why and what it saves).

Functions take a Connection inside an open transaction (REPEATABLE READ for a report
that must add up: opening, lines and closing from one snapshot) and never commit,
except that :func:`take_snapshot` writes its rows for the caller to commit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import BigInteger, Connection, DateTime, ForeignKey, Table, func, text
from sqlalchemy.orm import Mapped, mapped_column

from app import ledger
from app.errors import CurrencyNotEnabled, InvalidRequest, UnknownPlayer
from app.models import Base, Money

HOUSE_PREFIX = "house:"
POOL_PREFIX = "pool:"
# A snapshot at T must not miss a transaction that began before T and commits later:
# callbacks are bounded by their statement timeout (seconds), so minutes are plenty.
SNAPSHOT_MARGIN = timedelta(minutes=5)


class BalanceSnapshot(Base):
    """A moment whose every account balance is stored in ``balance_snapshot_lines``."""

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


balance_snapshots = cast(Table, BalanceSnapshot.__table__)


# --- one player -----------------------------------------------------------------------


def balances_as_of(
    conn: Connection, player_id: str, end: datetime | None, currency: str | None = None
) -> dict[str, Decimal]:
    """The player's balance per currency from postings created before ``end``; wallets
    opened after ``end`` are left out."""
    rows = conn.execute(
        text(_BALANCES_AS_OF),
        {"player": player_id, "end": end, "currency": currency},
    ).all()
    if not rows and not ledger.player_exists(conn, player_id):
        raise UnknownPlayer(f"player {player_id!r} does not exist")
    return {row.currency: Decimal(row.balance) for row in rows}


_BALANCES_AS_OF = """
SELECT a.currency,
       coalesce((SELECT sum(p.amount) FROM postings p
                 JOIN journal_transactions j ON j.id = p.journal_id
                 WHERE p.account_id = a.id
                   AND (CAST(:end AS timestamptz) IS NULL OR j.created_at < :end)), 0) AS balance
FROM accounts a
WHERE a.player_id = :player
  AND (CAST(:currency AS text) IS NULL OR a.currency = :currency)
  AND (CAST(:end AS timestamptz) IS NULL OR a.created_at < :end)
ORDER BY a.currency
"""


@dataclass
class Statement:
    """One wallet's postings in a period, oldest first; ``complete`` is False when
    ``limit`` cut lines off (then closing is the balance after the last line shown)."""

    currency: str
    opening: Decimal
    closing: Decimal
    lines: list[dict[str, Any]] = field(default_factory=list)
    complete: bool = True


def statements(
    conn: Connection,
    player_id: str,
    currency: str | None,
    start: datetime | None,
    end: datetime | None,
    limit: int,
) -> list[Statement]:
    """A statement per wallet of the player (or of ``currency``). With ``start``: the
    first ``limit`` postings from ``start``; without: the last ``limit`` before ``end``.
    Each line carries its running balance; the lines add up to closing − opening."""
    wallets = _wallets(conn, player_id, currency)
    return [_statement(conn, account, code, start, end, limit) for account, code in wallets]


def _wallets(conn: Connection, player_id: str, currency: str | None) -> list[tuple[int, str]]:
    query = "SELECT id, currency FROM accounts WHERE player_id = :player"
    if currency:
        query += " AND currency = :currency"
    rows = conn.execute(
        text(query + " ORDER BY currency"), {"player": player_id, "currency": currency}
    )
    found = [(int(r.id), str(r.currency)) for r in rows]
    if not found:
        if not ledger.player_exists(conn, player_id):
            raise UnknownPlayer(f"player {player_id!r} does not exist")
        if currency:
            raise CurrencyNotEnabled(f"player {player_id!r} has no {currency} wallet")
    return found


def _statement(
    conn: Connection,
    account: int,
    currency: str,
    start: datetime | None,
    end: datetime | None,
    limit: int,
) -> Statement:
    params = {"account": account, "start": start, "end": end, "limit": limit + 1}
    window = _window("j.created_at", start, end)
    order = "j.created_at, p.id" if start else "j.created_at DESC, p.id DESC"
    rows = [
        dict(r._mapping)
        for r in conn.execute(text(_LINES.format(window=window, order=order)), params)
    ]
    complete = len(rows) <= limit
    rows = rows[:limit] if start else list(reversed(rows[:limit]))
    moved = sum((r["amount"] for r in rows), Decimal(0))
    if start:
        opening = _account_balance(conn, account, start)
        closing = _account_balance(conn, account, end) if complete else opening + moved
    else:
        closing = _account_balance(conn, account, end)
        opening = closing - moved
    running = opening
    for row in rows:
        running += row["amount"]
        row["running_balance"] = running
    return Statement(currency, opening, closing, rows, complete)


_LINES = """
SELECT j.created_at, p.journal_id, j.kind, t.provider, t.external_id, t.reference_id,
       p.currency, p.amount
FROM postings p
JOIN journal_transactions j ON j.id = p.journal_id
LEFT JOIN provider_transactions t ON t.id = j.provider_transaction_id
WHERE p.account_id = :account AND {window}
ORDER BY {order}
LIMIT :limit
"""


def _account_balance(conn: Connection, account: int, end: datetime | None) -> Decimal:
    query = _ACCOUNT_BALANCE.format(window=_window("j.created_at", None, end))
    return Decimal(conn.execute(text(query), {"account": account, "end": end}).scalar_one())


_ACCOUNT_BALANCE = """
SELECT coalesce(sum(p.amount), 0) FROM postings p
JOIN journal_transactions j ON j.id = p.journal_id
WHERE p.account_id = :account AND {window}
"""


def _window(column: str, start: datetime | None, end: datetime | None) -> str:
    """The SQL condition ``start <= column < end`` for the bounds given (``:start``,
    ``:end``); built in Python so each query is planned for the bounds it has."""
    parts = ["TRUE"]
    if start is not None:
        parts.append(f"{column} >= :start")
    if end is not None:
        parts.append(f"{column} < :end")
    return " AND ".join(parts)


# --- the whole book -------------------------------------------------------------------


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
    currencies: dict[str, dict[str, Any]] = {}
    for row in conn.execute(
        text(_PLAYER_WALLETS.format(window=_window("created_at", None, end))), {"end": end}
    ):
        currencies[row.currency] = _empty_funds(row.wallets)
    house: dict[str, dict[str, Decimal]] = {}
    pools: dict[str, dict[str, Decimal]] = {}
    system: dict[str, dict[str, Decimal]] = {}
    for row in conn.execute(text(_book_sql(snapshot, end)), {"snapshot": snapshot, "end": end}):
        if row.name is None:
            funds = currencies.setdefault(row.currency, _empty_funds(0))
            funds.update(
                player_funds=row.positive,
                negative_balances=row.negative,
                net=row.positive + row.negative,
                players_in_credit=row.in_credit,
                players_in_debit=row.in_debit,
            )
        elif row.name.startswith(HOUSE_PREFIX):
            house.setdefault(row.name[len(HOUSE_PREFIX) :], {})[row.currency] = row.balance
        elif row.name.startswith(POOL_PREFIX):
            pools.setdefault(row.name[len(POOL_PREFIX) :], {})[row.currency] = row.balance
        else:
            system.setdefault(row.name, {})[row.currency] = row.balance
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


_PLAYER_WALLETS = """
SELECT currency, count(*) AS wallets FROM accounts
WHERE player_id IS NOT NULL AND {window}
GROUP BY currency
"""


def _book_sql(snapshot: datetime | None, end: datetime | None) -> str:
    """Every account's balance at ``end`` (snapshot lines plus the postings since),
    summed per currency for players and per account for system accounts."""
    return _BOOK.format(
        base=_SNAPSHOT_LINES.format(name="snapshot") if snapshot is not None else "",
        since="j.created_at >= :snapshot" if snapshot is not None else "TRUE",
        window=_window("j.created_at", None, end),
    )


_SNAPSHOT_LINES = """
SELECT account_id, balance AS amount FROM balance_snapshot_lines WHERE taken_at = :{name}
UNION ALL
"""
_BOOK = """
WITH moved AS (
    SELECT p.account_id, sum(p.amount) AS amount
    FROM journal_transactions j JOIN postings p ON p.journal_id = j.id
    WHERE {since} AND {window}
    GROUP BY p.account_id
), balances AS (
    SELECT account_id, sum(amount) AS balance
    FROM ({base}SELECT account_id, amount FROM moved) AS parts
    GROUP BY account_id
)
SELECT a.currency, a.name,
       coalesce(sum(b.balance) FILTER (WHERE b.balance > 0), 0) AS positive,
       coalesce(sum(b.balance) FILTER (WHERE b.balance < 0), 0) AS negative,
       count(*) FILTER (WHERE b.balance > 0) AS in_credit,
       count(*) FILTER (WHERE b.balance < 0) AS in_debit,
       sum(b.balance) AS balance
FROM balances b JOIN accounts a ON a.id = b.account_id
GROUP BY a.currency, a.name
ORDER BY a.currency, a.name NULLS FIRST
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
    """Store every non-zero account balance at ``at``: the previous snapshot plus the
    postings created since (or the whole ledger when there is none). Taking the same
    moment again changes nothing."""
    if at > now - SNAPSHOT_MARGIN:
        raise InvalidRequest(
            f"a snapshot must be at least {int(SNAPSHOT_MARGIN.total_seconds() // 60)} minutes "
            "in the past: transactions begun before it may still be committing"
        )
    existing = conn.execute(
        text("SELECT accounts FROM balance_snapshots WHERE taken_at = :at"), {"at": at}
    ).scalar()
    if existing is not None:
        return SnapshotTaken(at, int(existing), False, None)
    previous = latest_snapshot(conn, at)
    conn.execute(
        text("INSERT INTO balance_snapshots (taken_at, accounts) VALUES (:at, 0)"), {"at": at}
    )
    take = _TAKE.format(
        base=_SNAPSHOT_LINES.format(name="previous") if previous is not None else "",
        since="j.created_at >= :previous" if previous is not None else "TRUE",
    )
    stored = conn.execute(text(take), {"at": at, "previous": previous}).rowcount
    conn.execute(
        text("UPDATE balance_snapshots SET accounts = :n WHERE taken_at = :at"),
        {"n": stored, "at": at},
    )
    return SnapshotTaken(at, int(stored), True, previous)


_TAKE = """
INSERT INTO balance_snapshot_lines (taken_at, account_id, balance)
SELECT :at, account_id, sum(amount)
FROM ({base}SELECT p.account_id, p.amount
      FROM journal_transactions j JOIN postings p ON p.journal_id = j.id
      WHERE {since} AND j.created_at < :at) AS parts
GROUP BY account_id
HAVING sum(amount) <> 0
"""
