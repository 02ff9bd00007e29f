"""Transaction exports for a regulator or a data warehouse, streamed in time order.

One row per provider transaction (bets, wins, rollbacks of every provider) and per
cashier movement (deposits, withdrawals, imported opening balances), whatever its
outcome, with the balances the player's wallet had before and after it and the journal
transaction that moved the money (none when nothing moved). ``movement`` is the signed
change to the player's balance, so the movements of an export add up to what the
players' wallets moved in the period. The columns are documented in docs/finance.md.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from typing import IO, Any

import orjson
from sqlalchemy import Connection

from app import money
from app.core import stream

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
_AMOUNTS = ("amount", "movement", "balance_before", "balance_after")

_SQL = """
SELECT t.created_at, t.provider, t.external_id, t.kind, t.status, t.reason, t.player_id,
       t.currency, t.amount, t.balance_after - t.balance_before, t.balance_before,
       t.balance_after, t.reference_id, t.id,
       (SELECT min(j.id) FROM journal_transactions j WHERE j.provider_transaction_id = t.id)
FROM provider_transactions t
WHERE {where}
ORDER BY t.created_at, t.id
"""


def transactions(
    conn: Connection, start: datetime | None, end: datetime | None, provider: str | None
) -> Iterator[dict[str, Any]]:
    """Every provider transaction created in ``start <= t < end``, oldest first."""
    where = ["TRUE"]
    if start is not None:
        where.append("t.created_at >= %(start)s")
    if end is not None:
        where.append("t.created_at < %(end)s")
    if provider is not None:
        where.append("t.provider = %(provider)s")
    sql = _SQL.format(where=" AND ".join(where))
    params = {"start": start, "end": end, "provider": provider}
    for values in stream.rows(conn, sql, params):
        yield dict(zip(COLUMNS, values, strict=True))


def formatted(row: dict[str, Any]) -> dict[str, Any]:
    """Amounts as decimal strings to the currency's exponent, times in ISO 8601 UTC."""
    currency = row["currency"]
    for key in _AMOUNTS:
        row[key] = _amount(row[key], currency)
    row["created_at"] = row["created_at"].isoformat()
    return row


def _amount(value: Decimal, currency: str) -> str:
    return money.format_amount(value, currency)


def write(rows: Iterator[dict[str, Any]], out: IO[str], fmt: str) -> int:
    """Write ``rows`` as CSV (with a header) or JSON lines; return how many."""
    count = 0
    if fmt == "csv":
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(COLUMNS)
        buffer: list[list[Any]] = []
        for row in rows:
            shown = formatted(row)
            buffer.append([shown[c] for c in COLUMNS])
            count += 1
            if len(buffer) == 1000:
                writer.writerows(buffer)
                buffer.clear()
        writer.writerows(buffer)
        return count
    chunk = io.StringIO()
    for row in rows:
        chunk.write(orjson.dumps(formatted(row)).decode())
        chunk.write("\n")
        count += 1
        if count % 1000 == 0:
            out.write(chunk.getvalue())
            chunk = io.StringIO()
    out.write(chunk.getvalue())
    return count
