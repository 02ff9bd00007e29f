"""A player's balances at any moment and statements, read from the postings.

A posting belongs to the moment of its journal transaction (``created_at``: when the
transaction that wrote it began). The balance of an account as of ``end`` is the sum of
its postings created before ``end`` (``end`` None: every committed posting, which equals
the cached balance of a player account). The whole book at a moment (the player-funds
report) is :mod:`app.core.book`.

Functions take a Connection inside an open transaction (REPEATABLE READ for a statement
that must add up: opening, lines and closing from one snapshot) and never commit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, text

from app.core import ledger
from app.errors import CurrencyNotEnabled

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
    if not rows:
        ledger.require_player(conn, player_id)
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
        ledger.require_player(conn, player_id)
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
    condition = window("j.created_at", start, end)
    order = "j.created_at, p.id" if start else "j.created_at DESC, p.id DESC"
    rows = [
        dict(r._mapping)
        for r in conn.execute(text(_LINES.format(window=condition, order=order)), params)
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
    query = _ACCOUNT_BALANCE.format(window=window("j.created_at", None, end))
    return Decimal(conn.execute(text(query), {"account": account, "end": end}).scalar_one())


_ACCOUNT_BALANCE = """
SELECT coalesce(sum(p.amount), 0) FROM postings p
JOIN journal_transactions j ON j.id = p.journal_id
WHERE p.account_id = :account AND {window}
"""


def window(column: str, start: datetime | None, end: datetime | None) -> str:
    """The SQL condition ``start <= column < end`` for the bounds given (``:start``,
    ``:end``); built in Python so each query is planned for the bounds it has."""
    parts = ["TRUE"]
    if start is not None:
        parts.append(f"{column} >= :start")
    if end is not None:
        parts.append(f"{column} < :end")
    return " AND ".join(parts)
