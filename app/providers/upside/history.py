"""Reading a player's Upside sessions: the open ones, and the finished ones with totals.

``history`` lists ``settled`` sessions newest first, one page at a time; ``total``
and the aggregate ``Stats`` cover every settled session that matches, not only the
page. Amounts are atomic WIN units. Functions take a Connection, never commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Row, Select, Text, case, func, select

from app import exact_json
from app.providers.upside import win_units
from app.providers.upside.models import upside_sessions
from app.providers.upside.sessions import BET_PLACED, SETTLED

MAX_PAGE = 100


@dataclass(frozen=True)
class SessionView:
    session_id: str
    game_id: str
    game_type: str
    status: str
    bet: int
    payout: int | None
    result: str | None
    game_data: Any
    thumbnail_url: str | None
    client_nonce: str | None
    created_at: datetime
    settled_at: datetime | None


@dataclass(frozen=True)
class Stats:
    sessions: int
    wagered: int
    paid_out: int
    wins: int
    losses: int
    pushes: int

    @property
    def net(self) -> int:
        """The player's result: paid out minus wagered (negative when the house won)."""
        return self.paid_out - self.wagered


@dataclass(frozen=True)
class History:
    sessions: list[SessionView]
    total: int
    stats: Stats


def active(conn: Connection, player_id: str, game_types: Sequence[str]) -> list[SessionView]:
    query = _columns().where(*_mine(player_id, game_types, BET_PLACED))
    rows = conn.execute(query.order_by(upside_sessions.c.created_at.desc()).limit(MAX_PAGE))
    return [_view(row) for row in rows]


@dataclass(frozen=True)
class OpenSession:
    session_id: str
    game_type: str
    player_id: str
    bet: int
    created_at: datetime
    age_seconds: int


def open_sessions(
    conn: Connection, older_than: timedelta, game_type: str | None = None
) -> list[OpenSession]:
    """Every player's sessions with a bet and no payout, placed more than ``older_than``
    ago (by the database clock), oldest first."""
    age = func.now() - upside_sessions.c.created_at
    query = select(
        upside_sessions.c.session_id,
        upside_sessions.c.game_type,
        upside_sessions.c.player_id,
        upside_sessions.c.bet_amount,
        upside_sessions.c.created_at,
        func.floor(func.extract("epoch", age)).label("age"),
    ).where(upside_sessions.c.status == BET_PLACED, age > older_than)
    if game_type:
        query = query.where(upside_sessions.c.game_type == game_type)
    rows = conn.execute(query.order_by(upside_sessions.c.created_at, upside_sessions.c.session_id))
    return [
        OpenSession(
            row.session_id,
            row.game_type,
            row.player_id,
            win_units.to_atomic(row.bet_amount),
            row.created_at,
            int(row.age),
        )
        for row in rows
    ]


def history(
    conn: Connection, player_id: str, game_types: Sequence[str], limit: int, offset: int
) -> History:
    where = _mine(player_id, game_types, SETTLED)
    rows = conn.execute(
        _columns()
        .where(*where)
        .order_by(upside_sessions.c.settled_at.desc(), upside_sessions.c.session_id)
        .limit(min(limit, MAX_PAGE))
        .offset(offset)
    )
    sessions = [_view(row) for row in rows]
    stats = _stats(conn, where)
    return History(sessions, stats.sessions, stats)


def _mine(player_id: str, game_types: Sequence[str], status: str) -> list[Any]:
    return [
        upside_sessions.c.player_id == player_id,
        upside_sessions.c.status == status,
        upside_sessions.c.game_type.in_(list(game_types)),
    ]


def _columns() -> Select:
    game_data = upside_sessions.c.game_data.cast(Text).label("game_data_text")
    others = [c for c in upside_sessions.c if c.name != "game_data"]
    return select(*others, game_data)


def _stats(conn: Connection, where: list[Any]) -> Stats:
    bet, payout = upside_sessions.c.bet_amount, upside_sessions.c.payout_amount
    row = conn.execute(
        select(
            func.count(),
            func.coalesce(func.sum(bet), 0),
            func.coalesce(func.sum(payout), 0),
            func.count(case((payout > bet, 1))),
            func.count(case((payout < bet, 1))),
            func.count(case((payout == bet, 1))),
        ).where(*where)
    ).one()
    count, wagered, paid, wins, losses, pushes = row
    return Stats(
        count, win_units.to_atomic(wagered), win_units.to_atomic(paid), wins, losses, pushes
    )


def _view(row: Row) -> SessionView:
    text = row.game_data_text
    return SessionView(
        session_id=row.session_id,
        game_id=row.game_id,
        game_type=row.game_type,
        status=row.status,
        bet=win_units.to_atomic(row.bet_amount),
        payout=None if row.payout_amount is None else win_units.to_atomic(row.payout_amount),
        result=row.result,
        game_data=None if text is None else exact_json.loads(text),
        thumbnail_url=row.thumbnail_url,
        client_nonce=row.client_nonce,
        created_at=row.created_at,
        settled_at=row.settled_at,
    )
