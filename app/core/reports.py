"""Reports for finance and support, read straight from the ledger (no Flask here): GGR,
negative balances, tombstones, one provider transaction in full (statements are in
:mod:`app.core.finance`).

GGR is what the players lost to a provider's games: the negated sum of the postings
on the players' accounts made by that provider's transactions, so bets, wins and
rollbacks (of either) are all counted exactly once, on the day they were booked (in
the reporting time zone, ``LIMITS_TIMEZONE``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select, text

from app.core import wallet
from app.core.models import accounts, journal_transactions, postings, provider_transactions
from app.core.wallet import CASHIER

NOT_GAMES = (CASHIER, "import")

_GGR = """
SELECT (pt.created_at AT TIME ZONE CAST(:timezone AS text))::date AS day, pt.provider,
       pt.currency,
       count(*) FILTER (WHERE pt.kind = 'bet') AS bets,
       coalesce(-sum(p.amount) FILTER (WHERE pt.kind = 'bet'), 0) AS bet_amount,
       count(*) FILTER (WHERE pt.kind = 'win') AS wins,
       coalesce(sum(p.amount) FILTER (WHERE pt.kind = 'win'), 0) AS win_amount,
       count(*) FILTER (WHERE pt.kind = 'rollback') AS rollbacks,
       coalesce(sum(p.amount) FILTER (WHERE pt.kind = 'rollback'), 0) AS rollback_amount,
       -sum(p.amount) AS ggr
FROM provider_transactions pt
JOIN journal_transactions j ON j.provider_transaction_id = pt.id
JOIN postings p ON p.journal_id = j.id AND p.account_id = pt.account_id
WHERE (CAST(:start AS timestamptz) IS NULL OR pt.created_at >= :start)
  AND (CAST(:end AS timestamptz) IS NULL OR pt.created_at < :end)
  AND pt.provider <> ALL(:not_games)
  AND (CAST(:provider AS text) IS NULL OR pt.provider = :provider)
  AND (CAST(:currency AS text) IS NULL OR pt.currency = :currency)
GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
"""

_NEGATIVE = """
SELECT a.player_id, a.currency, a.balance, p.blocked
FROM accounts a JOIN players p ON p.id = a.player_id
WHERE a.balance < 0 ORDER BY a.balance, a.player_id
"""

_TOMBSTONES = """
SELECT t.provider, t.external_id AS rollback_id, t.reference_id AS original_id, t.player_id,
       t.currency, t.amount, t.created_at
FROM provider_transactions t
WHERE t.status = 'tombstone' AND NOT EXISTS (
    SELECT 1 FROM provider_transactions o
    WHERE o.provider = t.provider AND o.external_id = t.reference_id)
  AND (CAST(:provider AS text) IS NULL OR t.provider = :provider)
ORDER BY t.created_at
"""


def ggr(
    conn: Connection,
    start: datetime | None,
    end: datetime | None,
    provider: str | None,
    currency: str | None,
    timezone: str = "UTC",
) -> list[dict[str, Any]]:
    """Per day of ``timezone``, provider and currency: bets, wins, rollbacks and GGR of
    the transactions booked in ``start <= t < end`` (``end`` None: up to now)."""
    params = {
        "start": start,
        "end": end,
        "timezone": timezone,
        "provider": provider,
        "currency": currency,
        "not_games": list(NOT_GAMES),
    }
    return _rows(conn, _GGR, params)


def negative_balances(conn: Connection) -> list[dict[str, Any]]:
    return _rows(conn, _NEGATIVE, {})


def tombstones(conn: Connection, provider: str | None = None) -> list[dict[str, Any]]:
    """Rollbacks whose original has never arrived."""
    return _rows(conn, _TOMBSTONES, {"provider": provider})


def provider_transaction(
    conn: Connection, provider: str, external_id: str
) -> dict[str, Any] | None:
    """One provider transaction as recorded, with its postings and the rollbacks that name
    it; None when there is none."""
    record = conn.execute(
        select(provider_transactions).where(
            provider_transactions.c.provider == provider,
            provider_transactions.c.external_id == external_id,
        )
    ).first()
    if record is None:
        return None
    data = dict(record._mapping)
    legs = conn.execute(
        select(
            postings.c.journal_id,
            postings.c.account_id,
            accounts.c.player_id,
            accounts.c.name,
            postings.c.currency,
            postings.c.amount,
        )
        .join(accounts, accounts.c.id == postings.c.account_id)
        .join(journal_transactions, journal_transactions.c.id == postings.c.journal_id)
        .where(journal_transactions.c.provider_transaction_id == record.id)
        .order_by(postings.c.id)
    )
    data["postings"] = [dict(leg._mapping) for leg in legs]
    rollbacks = conn.execute(
        select(provider_transactions.c.external_id, provider_transactions.c.status).where(
            provider_transactions.c.provider == provider,
            provider_transactions.c.kind == wallet.Kind.ROLLBACK,
            provider_transactions.c.reference_id == external_id,
        )
    )
    data["rolled_back_by"] = [dict(r._mapping) for r in rollbacks]
    return data


def _rows(conn: Connection, sql: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    return [dict(row._mapping) for row in conn.execute(text(sql), params)]
