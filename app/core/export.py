"""Transaction exports for a regulator or a data warehouse, streamed in time order.

One row per provider transaction (bets, wins, rollbacks of every provider) and per
cashier movement (deposits, withdrawals, imported opening balances), whatever its
outcome, with the balances the player's wallet had before and after it and the journal
transaction that moved the money (none when nothing moved). ``movement`` is the signed
change to the player's balance, so the movements of an export add up to what the
players' wallets moved in the period. The columns are documented in docs/finance.md.

PostgreSQL formats every value (amounts to the currency's exponent, times in ISO 8601
UTC) and streams them: CSV with ``COPY … TO STDOUT``, JSON lines through a server-side
cursor. Python only passes the text on, so an export runs at the database's pace and in
bounded memory.
"""

from __future__ import annotations

from datetime import datetime
from typing import IO, Any

from sqlalchemy import Connection

from app.core import stream
from app.core.money import CURRENCY_EXPONENTS

COLUMNS = (
    "created_at",
    "provider",
    "transaction_id",
    "kind",
    "status",
    "reason",
    "player_id",
    "currency",
    "amount",
    "movement",
    "balance_before",
    "balance_after",
    "reference_id",
    "wallet_transaction_id",
    "journal_id",
)

_ROWS = """
SELECT to_char(t.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"')
           AS created_at,
       t.provider, t.external_id AS transaction_id, t.kind, t.status, t.reason, t.player_id,
       t.currency, round(t.amount, e.exponent)::text AS amount,
       round(t.balance_after - t.balance_before, e.exponent)::text AS movement,
       round(t.balance_before, e.exponent)::text AS balance_before,
       round(t.balance_after, e.exponent)::text AS balance_after,
       t.reference_id, t.id AS wallet_transaction_id, j.id AS journal_id
FROM provider_transactions t
JOIN unnest(%(codes)s::text[], %(exponents)s::int[]) AS e(code, exponent) ON e.code = t.currency
LEFT JOIN journal_transactions j ON j.provider_transaction_id = t.id
WHERE {where}
ORDER BY t.created_at, t.id
"""
_CSV = "COPY ({rows}) TO STDOUT WITH (FORMAT csv, HEADER)"
_JSON = "SELECT row_to_json(x)::text FROM ({rows}) AS x"


def write(
    conn: Connection,
    out: IO[str],
    fmt: str,
    start: datetime | None,
    end: datetime | None,
    provider: str | None,
) -> int:
    """Every provider transaction created in ``start <= t < end`` (of ``provider``),
    oldest first, as CSV with a header or JSON lines; return how many rows."""
    sql, params = _query(start, end, provider)
    if fmt == "csv":
        return stream.copy_out(conn, _CSV.format(rows=sql), params, out)
    count = 0
    for (line,) in stream.rows(conn, _JSON.format(rows=sql), params):
        out.write(line)
        out.write("\n")
        count += 1
    return count


def _query(
    start: datetime | None, end: datetime | None, provider: str | None
) -> tuple[str, dict[str, Any]]:
    where = ["TRUE"]
    if start is not None:
        where.append("t.created_at >= %(start)s")
    if end is not None:
        where.append("t.created_at < %(end)s")
    if provider is not None:
        where.append("t.provider = %(provider)s")
    params = {
        "start": start,
        "end": end,
        "provider": provider,
        "codes": list(CURRENCY_EXPONENTS),
        "exponents": list(CURRENCY_EXPONENTS.values()),
    }
    return _ROWS.format(where=" AND ".join(where)), params
