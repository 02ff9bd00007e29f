"""Reconciliation of a provider's transaction report against the wallet, in PostgreSQL.

The report is streamed into a temporary table (``COPY``, a batch at a time), then
compared with ``provider_transactions`` by set-based SQL, and the outcome is read back
through a server-side cursor (:mod:`app.core.reconcile_results`): the Python side never
holds more than a batch, whatever the report's size. Each report row is

* **matched**: the wallet has it with the same kind, player, currency and amount
  (compared as numbers), in an agreeing state;
* **missing here**: the wallet has no record of it; the audit trail (``callbacks``) says
  whether its callback was **refused** (and with what) or **never reached** us, or
  ``unknown`` when the trail holds nothing for the period (:mod:`app.core.reconcile_trail`);
* **mismatched**: a field differs, or the states disagree (declined here but accepted
  there, applied here but cancelled or declined there).

Wallet transactions that moved money inside the window and are absent from the report
are **missing there**. States compared: a bet or win is *applied*, *reversed* (applied,
then an applied rollback), or *refused* (declined, or cancelled by an earlier
rollback); a rollback is *applied* (it moved money) or *acknowledged* (nothing to
reverse). A report's row is *accepted*, *cancelled* or *declined*. A bet reported as
cancelled matches one reversed here, and then the reversing rollback needs no row of
its own; rows that moved no money on either side match.

Functions take a Connection in an open transaction; the temporary tables go when it
ends.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, text

from app.core import reconcile_trail as trail
from app.core import stream
from app.core.report_layout import Layout
from app.core.report_rows import ReportError, Row

CATEGORIES = ("matched", "missing_here", "missing_there", "mismatched")


@dataclass(frozen=True)
class Window:
    start: datetime
    end: datetime  # exclusive
    source: str  # "options" or "report"


@dataclass(frozen=True)
class Summary:
    rows: int
    window: Window | None
    counts: dict[str, int]
    missing_here_reasons: dict[str, int]

    @property
    def ok(self) -> bool:
        return all(self.counts[c] == 0 for c in CATEGORIES if c != "matched")


def load(conn: Connection, rows: Iterable[Row]) -> int:
    """Copy the report's rows into the session's ``recon_report`` table; return how many."""
    for statement in _CREATE:
        conn.execute(text(statement))
    count = stream.copy(conn, _COPY, rows, _COPY_TYPES)
    conn.execute(text("ANALYZE recon_report"))
    return count


_CREATE = (
    """
CREATE TEMPORARY TABLE recon_report (
    line bigint NOT NULL, row_no bigint NOT NULL, key text NOT NULL, alt_key text,
    id text NOT NULL, kind text NOT NULL, player_id text NOT NULL, currency text NOT NULL,
    amount text, status text NOT NULL, at timestamptz NOT NULL, search_id text NOT NULL
) ON COMMIT DROP""",
    """
CREATE TEMPORARY TABLE recon_result (
    category text NOT NULL, line bigint, row_no bigint, id text, kind text, player_id text,
    currency text, amount text, status text, at timestamptz,
    here_id bigint, here_external_id text, here_kind text, here_status text, here_reason text,
    here_player_id text, here_currency text, here_amount numeric, here_moved numeric,
    here_at timestamptz, differences text[], note text, search_id text,
    callback_id bigint, callback_at timestamptz, callback_outcome text, attempts bigint
) ON COMMIT DROP""",
    """
CREATE TEMPORARY TABLE recon_here (
    id bigint NOT NULL, external_id text NOT NULL, kind text NOT NULL, status text NOT NULL,
    reason text, player_id text NOT NULL, currency text NOT NULL, amount numeric NOT NULL,
    moved numeric NOT NULL, reference_id text, created_at timestamptz NOT NULL
) ON COMMIT DROP""",
)
_COPY = (
    "COPY recon_report (line, row_no, key, alt_key, id, kind, player_id, currency, amount, "
    "status, at, search_id) FROM STDIN (FORMAT BINARY)"
)
_COPY_TYPES = ["int8", "int8", *["text"] * 8, "timestamptz", "text"]


def check_duplicates(conn: Connection) -> None:
    """Two rows for one transaction make the report ambiguous: name the second."""
    found = conn.execute(text(_DUPLICATE)).first()
    if found is not None:
        raise ReportError(
            f"line {found.line} (row {found.row_no}, id {found.id!r}): the id appears twice "
            f"(first on line {found.first_line})"
        )


# A hash aggregate finds the keys that repeat (usually none); only their rows are sorted.
_DUPLICATE = """
WITH repeated AS (
    SELECT coalesce(alt_key, key) AS k FROM recon_report GROUP BY 1 HAVING count(*) > 1
)
SELECT line, row_no, id, first_line FROM (
    SELECT line, row_no, id,
           min(line) OVER (PARTITION BY coalesce(alt_key, key)) AS first_line
    FROM recon_report WHERE coalesce(alt_key, key) IN (SELECT k FROM repeated)) AS d
WHERE line <> first_line ORDER BY line LIMIT 1
"""


def window(conn: Connection, start: datetime | None, end: datetime | None) -> Window | None:
    """The wallet's side of the comparison: the period given, else (for a bound not
    given) the report's first or last time, inclusive. None for an empty report with no
    period: nothing is missing there."""
    if start is not None and end is not None:
        return Window(start, end, "options")
    first, last = conn.execute(text("SELECT min(at), max(at) FROM recon_report")).one()
    if first is None:
        return None
    source = "report" if start is None and end is None else "options and report"
    return Window(start or first, end or last + timedelta(microseconds=1), source)


def compare(conn: Connection, provider: str, layout: Layout, span: Window | None) -> Summary:
    """Classify every report row and every wallet transaction of the window."""
    params = {"provider": provider}
    alternative = _gather(conn, provider, span)
    if alternative:
        classify = _CLASSIFY.format(alternative=_ALTERNATIVE, key=_ALTERNATIVE_KEY)
    else:
        classify = _CLASSIFY.format(alternative="", key="r.key")
    conn.execute(text(classify), params)
    conn.execute(text("ANALYZE recon_result"))
    if span is not None:
        conn.execute(text(_MISSING_THERE), {"start": span.start, "end": span.end})
    reasons = trail.explain_missing(conn, provider, layout)
    counts = dict.fromkeys(CATEGORIES, 0)
    for row in conn.execute(text("SELECT category, count(*) AS n FROM recon_result GROUP BY 1")):
        counts[row.category] = int(row.n)
    total = int(conn.execute(text("SELECT count(*) FROM recon_report")).scalar_one())
    return Summary(total, span, counts, reasons)


# The wallet's side is read once into ``recon_here``: the provider's transactions of the
# window and a day either side (a range of the BRIN index on created_at, however long the
# history), then, by the unique key, the few the report names that were booked outside it.
_MARGIN = timedelta(days=1)


def _gather(conn: Connection, provider: str, span: Window | None) -> bool:
    """Fill ``recon_here``; say whether any report row has an alternative key."""
    params = {"provider": provider}
    if span is not None:
        near = {**params, "lo": span.start - _MARGIN, "hi": span.end + _MARGIN}
        conn.execute(text(_NEAR), near)
        conn.execute(text("ANALYZE recon_here"))
    conn.execute(text(_FAR.format(wanted=_OWN_KEYS)), params)
    alternative = bool(conn.execute(text(_ANY_ALTERNATIVE)).scalar())
    if alternative:
        conn.execute(text(_FAR.format(wanted=_ALTERNATIVE_KEYS)), params)
    if span is None:
        conn.execute(text("ANALYZE recon_here"))
    return alternative


_NEAR = """
INSERT INTO recon_here
SELECT t.id, t.external_id, t.kind, t.status, t.reason, t.player_id, t.currency, t.amount,
       t.balance_after - t.balance_before, t.reference_id, t.created_at
FROM provider_transactions t
WHERE t.provider = :provider AND t.created_at >= :lo AND t.created_at < :hi
"""
# The keys not found near the window first (a hash anti-join), then only those looked up.
_FAR = """
WITH missing AS MATERIALIZED (
    SELECT w.wanted FROM ({wanted}) AS w
    WHERE NOT EXISTS (SELECT 1 FROM recon_here h WHERE h.external_id = w.wanted)
)
INSERT INTO recon_here
SELECT t.id, t.external_id, t.kind, t.status, t.reason, t.player_id, t.currency, t.amount,
       t.balance_after - t.balance_before, t.reference_id, t.created_at
FROM missing m
JOIN provider_transactions t ON t.provider = :provider AND t.external_id = m.wanted
"""
# Unique, by the duplicate check: a key is the row's own unless it has an alternative.
_OWN_KEYS = "SELECT key AS wanted FROM recon_report WHERE alt_key IS NULL"
_ALTERNATIVE_KEYS = """
SELECT alt_key AS wanted FROM recon_report WHERE alt_key IS NOT NULL
UNION SELECT key FROM recon_report WHERE alt_key IS NOT NULL
"""
_ANY_ALTERNATIVE = "SELECT EXISTS (SELECT 1 FROM recon_report WHERE alt_key IS NOT NULL)"
_ALTERNATIVE = "LEFT JOIN recon_here ta ON ta.external_id = r.alt_key"
_ALTERNATIVE_KEY = "coalesce(ta.external_id, r.key)"


# Report rows against the wallet, in three steps fenced by OFFSET 0 so that each value is
# computed once per row (a subquery pulled up would repeat its expression at every use).
# 1. ``t`` is the wallet's transaction (by the row's ``alt_key`` first when its provider's
#    layout gave one), ``rb`` the applied rollback that reversed it; ``here`` is the
#    wallet's state and ``expected`` what the report's amount should be.
# 2. ``status_note`` says how the states disagree, ``match_note`` why agreeing states with
#    no money moved match; ``differences`` lists what differs.
# 3. The category.
_CLASSIFY = """
INSERT INTO recon_result
SELECT CASE WHEN here_id IS NULL THEN CASE WHEN status = 'accepted' THEN 'missing_here'
                                           ELSE 'matched' END
            WHEN cardinality(differences) = 0 THEN 'matched' ELSE 'mismatched' END,
       line, row_no, id, kind, player_id, currency, amount, status, at,
       here_id, here_external_id, here_kind, here_status, here_reason, here_player_id,
       here_currency, here_amount, here_moved, here_at, differences,
       CASE WHEN here_id IS NULL AND status <> 'accepted'
                THEN status || ' there and not recorded here: no money moved'
            ELSE coalesce(status_note, match_note) END,
       search_id, NULL, NULL, NULL, NULL
FROM (
    SELECT c.*,
           CASE WHEN status_note IS NULL AND kind = here_kind AND player_id = here_player_id
                     AND currency = here_currency
                     AND (amount IS NULL OR amount::numeric = expected)
                THEN '{{}}'::text[]
                ELSE array_remove(ARRAY[
                    CASE WHEN status_note IS NOT NULL THEN 'status' END,
                    CASE WHEN kind <> here_kind THEN 'kind' END,
                    CASE WHEN player_id <> here_player_id THEN 'player' END,
                    CASE WHEN currency <> here_currency THEN 'currency' END,
                    CASE WHEN amount::numeric <> expected THEN 'amount' END], NULL)
           END AS differences
    FROM (
        SELECT b.*,
               CASE WHEN status = 'accepted' AND here = 'refused'
                        THEN 'declined here (' || coalesce(here_reason, here_status)
                             || '), accepted there'
                    WHEN status = 'cancelled' AND here = 'applied'
                        THEN 'applied here, cancelled there'
                    WHEN status = 'declined' AND here = 'applied'
                        THEN 'applied here, declined there'
                    WHEN status = 'declined' AND here = 'reversed'
                        THEN 'applied (then rolled back) here, declined there'
               END AS status_note,
               CASE WHEN status = 'cancelled' AND here = 'reversed'
                        THEN 'cancelled there, rolled back here by ' || reversed_by
                    WHEN status <> 'accepted' AND here IN ('refused', 'acknowledged')
                        THEN 'no money moved on either side'
               END AS match_note
        FROM (
            SELECT r.line, r.row_no, r.id, r.kind, r.player_id, r.currency, r.amount,
                   r.status, r.at, r.search_id,
                   t.id AS here_id, t.external_id AS here_external_id, t.kind AS here_kind,
                   t.status AS here_status, t.reason AS here_reason,
                   t.player_id AS here_player_id, t.currency AS here_currency,
                   t.amount AS here_amount, t.moved AS here_moved, t.created_at AS here_at,
                   rb.external_id AS reversed_by,
                   CASE WHEN t.id IS NULL THEN NULL
                        WHEN t.kind = 'rollback' AND t.status = 'applied' THEN 'applied'
                        WHEN t.kind = 'rollback' THEN 'acknowledged'
                        WHEN t.status IN ('declined', 'cancelled') THEN 'refused'
                        WHEN rb.id IS NOT NULL THEN 'reversed'
                        ELSE 'applied' END AS here,
                   CASE WHEN t.kind = 'rollback' AND t.status = 'applied' THEN abs(t.moved)
                        WHEN t.kind = 'rollback' AND t.amount = 0 THEN r.amount::numeric
                        ELSE t.amount END AS expected
            FROM recon_report r
            {alternative}
            LEFT JOIN recon_here t ON t.external_id = {key}
            LEFT JOIN provider_transactions rb
                   ON t.kind IN ('bet', 'win') AND rb.provider = :provider
                  AND rb.kind = 'rollback' AND rb.reference_id = t.external_id
                  AND rb.status = 'applied'
            OFFSET 0) AS b
        OFFSET 0) AS c
    OFFSET 0) AS d
"""

# Wallet transactions of the window that moved money (or recorded a zero win) and that no
# report row names, except rollbacks of originals the report calls cancelled.
_MISSING_THERE = """
INSERT INTO recon_result (category, here_id, here_external_id, here_kind, here_status,
    here_reason, here_player_id, here_currency, here_amount, here_moved, here_at)
SELECT 'missing_there', t.id, t.external_id, t.kind, t.status, t.reason, t.player_id,
       t.currency, t.amount, t.moved, t.created_at
FROM recon_here t
WHERE t.created_at >= :start AND t.created_at < :end AND t.status = 'applied'
  AND NOT EXISTS (SELECT 1 FROM recon_result x WHERE x.here_id = t.id)
  AND NOT EXISTS (
        SELECT 1 FROM recon_result c
        WHERE t.kind = 'rollback' AND c.status = 'cancelled'
          AND c.here_external_id = t.reference_id)
"""


def run(
    conn: Connection,
    provider: str,
    layout: Layout,
    rows: Iterable[Row],
    start: datetime | None,
    end: datetime | None,
    on_phase: Callable[[str], None] | None = None,
) -> Summary:
    """Load, check and compare; the caller then reads
    :func:`app.core.reconcile_results.results` per category."""
    load(conn, rows)
    if on_phase:
        on_phase("comparing with the wallet")
    check_duplicates(conn)
    return compare(conn, provider, layout, window(conn, start, end))
