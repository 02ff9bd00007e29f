"""Self-exclusion and time-outs: while one is in force the player cannot bet or deposit.

A self-exclusion runs for a duration, until a date, or for ever; a time-out is a short
break (``--for 24h``). Each is a row of ``player_exclusions`` (who, why, from, until),
and ``players.excluded_until`` holds the latest end of them all ('infinity' for a
permanent one): ``wallet_transfer`` declines a bet or a deposit before that time, read
from the player row it joins anyway, so players never excluded pay nothing for the
check. Both end by themselves. Wins, rollbacks, payouts and withdrawals are never
refused. Nothing lifts an exclusion early: a new one can only push ``excluded_until``
later, and ``unexclude`` refuses while one is in force; once it has ended,
``unexclude`` records that the operator checked the player may return.

Functions take a Connection inside an open transaction and never commit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, text

from app.core import ledger
from app.core.durations import Duration
from app.errors import InvalidRequest, WalletError

EXCLUSION, TIMEOUT = "exclusion", "timeout"


class ExclusionInForce(WalletError):
    """``unexclude`` before the exclusion's end."""


@dataclass(frozen=True)
class Exclusion:
    id: int
    player_id: str
    kind: str
    starts_at: datetime
    ends_at: datetime | None  # None: permanent
    reason: str | None
    created_by: str
    reviewed_at: datetime | None = None
    reviewed_by: str | None = None

    @property
    def permanent(self) -> bool:
        return self.ends_at is None


def exclude(
    conn: Connection,
    player_id: str,
    kind: str,
    *,
    by: str,
    duration: Duration | None = None,
    until: date | datetime | None = None,
    reason: str | None = None,
) -> Exclusion:
    """Exclude the player from now on: for ``duration``, until ``until`` (a day starts
    at midnight in ``LIMITS_TIMEZONE``), or, with neither, permanently (exclusions only)."""
    ledger.require_player(conn, player_id)
    if kind == TIMEOUT and duration is None:
        raise InvalidRequest("a time-out needs --for, e.g. --for 24h")
    if duration is not None and duration.is_zero:
        raise InvalidRequest("--for must be longer than 0")
    now, ends_at = conn.execute(text(_END), _end(duration, until)).one()
    if ends_at is not None and ends_at <= now:
        raise InvalidRequest(f"--until {until}: that time has passed; give a later one")
    values = {"player": player_id, "kind": kind, "starts_at": now, "ends_at": ends_at}
    row = conn.execute(text(_EXCLUDE), {**values, "reason": reason, "by": by}).one()
    return _exclusion(row)


def _end(duration: Duration | None, until: date | datetime | None) -> dict[str, Any]:
    """``_END``'s parameters: a duration, a moment, a day (midnight in the limits' zone),
    or none of them (permanent)."""
    interval = duration.sql_parameters() if duration else {"months": 0, "days": 0, "seconds": 0}
    moment = until if isinstance(until, datetime) else None
    day = None if isinstance(until, datetime) else until
    return {**interval, "timed": duration is not None, "moment": moment, "day": day}


_END = """
SELECT n.now,
       CASE WHEN :timed THEN n.now + make_interval(months => :months, days => :days,
                                                   secs => :seconds)
            WHEN CAST(:day AS date) IS NOT NULL
                THEN CAST(:day AS date)::timestamp AT TIME ZONE zone.name
            ELSE CAST(:moment AS timestamptz) END AS ends_at
FROM (SELECT wallet_now() AS now) AS n CROSS JOIN limits_timezone() AS zone
"""
_EXCLUDE = """
WITH made AS (
    INSERT INTO player_exclusions (player_id, kind, starts_at, ends_at, reason, created_by)
    VALUES (:player, :kind, :starts_at, :ends_at, :reason, :by)
    RETURNING *
), player AS (
    UPDATE players p
    SET excluded_until = greatest(p.excluded_until, coalesce(made.ends_at, 'infinity'))
    FROM made WHERE p.id = made.player_id
)
SELECT * FROM made
"""


def in_force(conn: Connection, player_id: str) -> list[Exclusion]:
    """The player's exclusions and time-outs in force now, the one ending last first."""
    rows = conn.execute(text(_IN_FORCE), {"player": player_id})
    return [_exclusion(row) for row in rows]


_IN_FORCE = """
SELECT e.* FROM player_exclusions e CROSS JOIN (SELECT wallet_now() AS now) AS n
WHERE e.player_id = :player AND e.starts_at <= n.now AND (e.ends_at IS NULL OR e.ends_at > n.now)
ORDER BY e.ends_at DESC NULLS FIRST, e.id
"""


def unexclude(conn: Connection, player_id: str, by: str) -> list[Exclusion]:
    """Record that the operator checked a player whose exclusions have ended may return.
    Refused while an exclusion or a time-out is in force, saying until when."""
    ledger.require_player(conn, player_id)
    current = in_force(conn, player_id)
    if current:
        raise ExclusionInForce(_refusal(player_id, current[0]))
    rows = conn.execute(text(_REVIEW), {"player": player_id, "by": by})
    return [_exclusion(row) for row in rows]


def _refusal(player_id: str, longest: Exclusion) -> str:
    what = "time-out" if longest.kind == TIMEOUT else "self-exclusion"
    if longest.ends_at is None:
        return f"player {player_id!r} is permanently self-excluded: it cannot be lifted"
    return (
        f"player {player_id!r} has a {what} until {longest.ends_at.isoformat()}: "
        "it cannot be lifted before it ends"
    )


_REVIEW = """
UPDATE player_exclusions e SET reviewed_at = n.now, reviewed_by = :by
FROM (SELECT wallet_now() AS now) AS n
WHERE e.player_id = :player AND e.kind = 'exclusion' AND e.reviewed_at IS NULL
  AND e.ends_at <= n.now
RETURNING e.*
"""


def history(conn: Connection, player_id: str) -> list[Exclusion]:
    ledger.require_player(conn, player_id)
    rows = conn.execute(
        text("SELECT * FROM player_exclusions WHERE player_id = :player ORDER BY id"),
        {"player": player_id},
    )
    return [_exclusion(row) for row in rows]


def _exclusion(row: Any) -> Exclusion:
    return Exclusion(
        row.id,
        row.player_id,
        row.kind,
        row.starts_at,
        row.ends_at,
        row.reason,
        row.created_by,
        row.reviewed_at,
        row.reviewed_by,
    )
