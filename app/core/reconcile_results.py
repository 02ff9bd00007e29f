"""A reconciliation's outcome read back, one category at a time, as JSON documents.

The ``recon_result`` table :mod:`app.core.reconcile` filled is read through a
server-side cursor, so that the caller can write millions of rows without holding them.
Amounts are shown to their currency's exponent when that is exact, as the CLI prints
them.
"""

from __future__ import annotations

from collections.abc import Iterator

import orjson
from sqlalchemy import Connection

from app.core import stream
from app.core.money import CURRENCY_EXPONENTS


def results(conn: Connection, category: str) -> Iterator[str]:
    """The rows of one category as JSON text: report rows in file order, wallet rows in
    time order. Matched rows (nearly all of a million) are built here from a narrow
    select, which costs less than PostgreSQL's JSON functions; the others, few, by
    PostgreSQL with the wallet's side formatted."""
    if category == "matched":
        for values in stream.rows(conn, _MATCHED, {}):
            yield orjson.dumps(dict(zip(_MATCHED_KEYS, values, strict=True))).decode()
        return
    order = "here_at, here_id" if category == "missing_there" else "line"
    money = _money_sql()
    shape = _SHAPES[category].format(
        here_amount=money.format(amount="here_amount", currency="here_currency"),
        here_moved=money.format(amount="here_moved", currency="here_currency"),
        here_at=_TIME.format("here_at"),
    )
    sql = _RESULTS.format(shape=shape, order=order)
    for (document,) in stream.rows(conn, sql, {"category": category}):
        yield document


_MATCHED_KEYS = (
    "line", "row", "id", "kind", "player_id", "currency", "amount", "status", "transaction_id",
    "note",
)  # fmt: skip
_MATCHED = """
SELECT line, row_no, id, kind, player_id, currency, amount, status, here_id, note
FROM recon_result WHERE category = 'matched' ORDER BY line
"""


def _money_sql() -> str:
    """``money(amount, currency)``: the amount to its currency's exponent when that is
    exact (a report may carry more digits), as the CLI prints amounts."""
    odd = {code: e for code, e in CURRENCY_EXPONENTS.items() if e != 2}
    cases = " ".join(f"WHEN '{code}' THEN {e}" for code, e in sorted(odd.items()))
    return _MONEY.format(cases=cases)


_MONEY = """
CASE WHEN {{amount}} IS NULL THEN NULL
     WHEN round({{amount}}, CASE {{currency}} {cases} ELSE 2 END) = {{amount}}
         THEN round({{amount}}, CASE {{currency}} {cases} ELSE 2 END)::text
     ELSE trim_scale({{amount}})::text END"""
_TIME = "to_char({0} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"+00:00\"')"
_REPORT_SIDE = """'line', line, 'row', row_no, 'id', id, 'kind', kind, 'player_id', player_id,
    'currency', currency, 'amount', amount, 'status', status"""
_HERE_SIDE = """'transaction_id', here_id, 'id', here_external_id, 'kind', here_kind,
    'status', here_status, 'reason', here_reason, 'player_id', here_player_id,
    'currency', here_currency, 'amount', {here_amount}, 'moved', {here_moved},
    'time', {here_at}"""
_SHAPES = {
    "missing_here": f"""json_build_object({_REPORT_SIDE}, 'time', {_TIME.format("at")},
    'reason', note, 'callback', CASE WHEN callback_id IS NULL THEN NULL ELSE json_build_object(
        'id', callback_id, 'received_at', {_TIME.format("callback_at")},
        'outcome', callback_outcome, 'attempts', attempts) END)""",
    "missing_there": f"json_build_object({_HERE_SIDE})",
    "mismatched": f"""json_build_object({_REPORT_SIDE}, 'time', {_TIME.format("at")},
    'differences', differences, 'note', note, 'here', json_build_object({_HERE_SIDE}))""",
}
_RESULTS = """
SELECT ({shape})::text FROM recon_result
WHERE category = %(category)s ORDER BY {order}
"""
