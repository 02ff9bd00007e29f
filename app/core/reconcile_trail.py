"""Why a report row is missing here: its callback was refused, or never reached us.

After :func:`app.core.reconcile.compare` has classified the rows, the audit trail
(``callbacks``) around the missing rows' times is searched for each one's id, where the
provider's :class:`~app.core.report_layout.Layout` says a callback body names it: a
callback found means the row was **refused** (with what we answered); none, while the
trail holds callbacks for that time, means **never reached**; no trail at all means
``unknown`` (``CALLBACK_AUDIT=off`` or pruned).
"""

from __future__ import annotations

from datetime import timedelta

import orjson
from sqlalchemy import Connection, text

from app.core.report_layout import Layout

# Callbacks are looked for from an hour before the report's first time to a day after
# its last (providers retry late).
_TRAIL_BEFORE, _TRAIL_AFTER = timedelta(hours=1), timedelta(days=1)


def explain_missing(conn: Connection, provider: str, layout: Layout) -> dict[str, int]:
    """Refused or never reached, from the audit trail of callbacks around the rows' times:
    a callback is the row's when its body names the row's id (and kind) where the
    provider's layout says."""
    span = conn.execute(
        text("SELECT min(at), max(at) FROM recon_result WHERE category = 'missing_here'")
    ).one()
    if span[0] is None:
        return {}
    params = {
        "provider": provider,
        "lo": span[0] - _TRAIL_BEFORE,
        "hi": span[1] + _TRAIL_AFTER,
        "id_pattern": layout.body_id_pattern(),
        "kind_pattern": layout.body_kind_pattern(),
        "kinds": orjson.dumps(layout.callback_kinds).decode(),
    }
    trail = conn.execute(text(_TRAIL_PRESENT), params).scalar()
    if params["id_pattern"] is not None:
        conn.execute(text(_REFUSED), params)
    conn.execute(
        text(
            "UPDATE recon_result SET note = :note WHERE category = 'missing_here' "
            "AND callback_id IS NULL"
        ),
        {"note": "never_reached" if trail else "unknown"},
    )
    rows = conn.execute(text(_REASONS))
    return {row.note: int(row.n) for row in rows}


_REASONS = """
SELECT note, count(*) AS n FROM recon_result WHERE category = 'missing_here' GROUP BY note
"""
_TRAIL_PRESENT = """
SELECT EXISTS (SELECT 1 FROM callbacks WHERE received_at >= :lo AND received_at < :hi)
"""
_REFUSED = """
WITH seen AS (
    SELECT c.id, c.received_at, c.outcome, substring(b.body FROM :id_pattern) AS search_id,
           coalesce(CAST(:kinds AS jsonb) ->> k.word, k.word) AS kind
    FROM callbacks c CROSS JOIN LATERAL (SELECT encode(c.body, 'escape') AS body) AS b
    CROSS JOIN LATERAL (SELECT substring(b.body FROM :kind_pattern) AS word) AS k
    WHERE c.provider = :provider AND c.received_at >= :lo AND c.received_at < :hi
), found AS (
    SELECT DISTINCT ON (m.line) m.line, s.id, s.received_at, s.outcome,
           count(*) OVER (PARTITION BY m.line) AS attempts
    FROM recon_result m
    JOIN seen s ON s.search_id = m.search_id AND (s.kind IS NULL OR s.kind = m.kind)
    WHERE m.category = 'missing_here'
    ORDER BY m.line, s.id DESC
)
UPDATE recon_result r
SET note = 'refused', callback_id = f.id, callback_at = f.received_at,
    callback_outcome = f.outcome, attempts = f.attempts
FROM found f
WHERE r.category = 'missing_here' AND r.line = f.line
"""
