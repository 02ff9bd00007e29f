"""Upside sessions: a bet (player → pool) and at most one payout (pool → player).

How each step happens at most once
----------------------------------
* ``place_bet`` inserts the session row first (``ON CONFLICT DO NOTHING``): a
  session id already used, even by a concurrent request, is refused before any
  money moves. The stake then goes through ``wallet.execute`` (player row lock,
  never below zero). A declined stake leaves the session ``failed``, recorded.
* ``process_payout`` locks the session row (``NOWAIT``), then the game row
  (``lock_game``), checks the session is still ``bet_placed``, caps the payout at
  stake × max multiplier and at the pool's balance, pays through ``wallet.execute``
  and marks the session ``settled``. Of twenty concurrent payouts one takes the
  session lock and pays; the others are refused at once (409, "already processed
  or in progress") instead of queueing into lock timeouts; later ones find it settled.
* ``settle_open`` and ``refund_open`` are the operator's way to finish a session a
  worker abandoned (``wallet upside sessions reconcile``): the same locks and the
  same once-only state change, a refund being the bet's rollback.

Amounts are atomic WIN units (``int``). Functions take a Connection, never commit.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import Connection, Row, Text, bindparam, cast, func, select
from sqlalchemy.dialects.postgresql import JSONB, insert
from sqlalchemy.exc import OperationalError

from app import exact_json
from app.core import wallet
from app.errors import InvalidRequest
from app.providers.upside import games, win_units
from app.providers.upside.errors import (
    BetAboveMaxBet,
    PayoutAboveMaximum,
    PayoutAlreadyProcessed,
    PayoutInProgress,
    PoolCannotPay,
    SessionAlreadyFinished,
    SessionAlreadyUsed,
    SessionNotFound,
    SessionOfAnotherGame,
    SessionOfAnotherPlayer,
)
from app.providers.upside.models import upside_sessions

PROVIDER = "upside"
BET_PLACED, SETTLED, FAILED = "bet_placed", "settled", "failed"
REFUNDED = "refunded"  # the failure reason of a session the operator refunded


@dataclass(frozen=True)
class BetRequest:
    player_id: str
    game_type: str
    bet: int
    session_id: str | None = None
    game_id: str | None = None
    thumbnail_url: str | None = None
    client_nonce: str | None = None
    game_data: Any = None


@dataclass(frozen=True)
class PayoutRequest:
    player_id: str
    game_type: str
    session_id: str
    payout: int
    result: str | None = None
    game_data: Any = None


@dataclass(frozen=True)
class Declined:
    """A stake the wallet declined (insufficient WIN, or a blocked player). Not an error
    that undoes the transaction: the failed session is recorded and committed, and the
    worker is then told why."""

    reason: wallet.Reason
    message: str


@dataclass(frozen=True)
class Settlement:
    """What a bet or payout answered: the session, and the player's balance after it."""

    session_id: str
    game_id: str
    balance: int
    result: str | None = None
    payout: int = 0
    declined: Declined | None = None
    player_id: str | None = None


def place_bet(conn: Connection, request: BetRequest) -> Settlement:
    if request.bet <= 0:
        raise InvalidRequest("betAmount must be more than zero")
    wallet.balances(conn, request.player_id)  # raises UnknownPlayer before anything is written
    game = games.find_active(conn, request.game_type)
    limit = game.max_bet(games.pool_balance(conn, game))
    if request.bet > limit:
        raise BetAboveMaxBet(
            f"betAmount {request.bet} is above the current max bet {limit} for {game.game_type}"
        )
    session_id = request.session_id or str(uuid.uuid4())
    game_id = request.game_id or str(uuid.uuid4())
    _claim_session(conn, request, session_id, game_id)
    outcome = wallet.execute(conn, _money(request.player_id, game, "bet", session_id, request.bet))
    balance = win_units.to_atomic(outcome.balance_after)
    if outcome.declined:
        _mark_failed(conn, session_id, str(outcome.reason))
        return Settlement(session_id, game_id, balance, declined=_decline(outcome, request))
    return Settlement(session_id, game_id, balance)


def process_payout(conn: Connection, request: PayoutRequest) -> Settlement:
    session = _lock_session(conn, request)
    game = games.lock_game(conn, session.game_type)
    stake = win_units.to_atomic(session.bet_amount)
    _check_payout(conn, game, stake, request.payout)
    result = request.result or ("win" if request.payout > stake else "loss")
    outcome = wallet.execute(
        conn, _money(request.player_id, game, "payout", session.session_id, request.payout)
    )
    settled: dict[str, Any] = {
        "status": SETTLED,
        "payout_amount": win_units.to_decimal(request.payout),
        "result": result,
        "settled_at": func.now(),
    }
    if request.game_data is not None:  # a payout without gameData keeps the bet's
        settled["game_data"] = jsonb(request.game_data)
    conn.execute(
        upside_sessions.update()
        .where(upside_sessions.c.session_id == session.session_id)
        .values(**settled)
    )
    balance = win_units.to_atomic(outcome.balance_after)
    return Settlement(session.session_id, session.game_id, balance, result, request.payout)


def settle_open(conn: Connection, session_id: str, payout: int) -> Settlement:
    """The operator settles an open session with ``payout``, exactly as processPayout would."""
    request = _operator_request(conn, session_id, payout)
    return replace(process_payout(conn, request), player_id=request.player_id)


def refund_open(conn: Connection, session_id: str) -> Settlement:
    """The operator refunds an open session: the bet's postings are reversed (a wallet
    rollback ``refund:<sessionId>``, pool → player) and the session ends ``failed``
    with reason ``refunded``. Like a payout, it holds the session and game row locks
    and never takes more from the pool than it holds."""
    session = _lock_session(conn, _operator_request(conn, session_id, 0))
    game = games.lock_game(conn, session.game_type)
    stake = win_units.to_atomic(session.bet_amount)
    if stake > games.pool_balance(conn, game):
        raise PoolCannotPay(
            f"the {game.game_type} pool cannot refund {stake}; fund it, then retry the refund"
        )
    outcome = wallet.execute(conn, _refund(session, game))
    _mark_failed(conn, session_id, REFUNDED)
    balance = win_units.to_atomic(outcome.balance_after)
    return Settlement(
        session_id, session.game_id, balance, REFUNDED, stake, player_id=session.player_id
    )


def _operator_request(conn: Connection, session_id: str, payout: int) -> PayoutRequest:
    """A payout request on behalf of the session's own player and game."""
    row = conn.execute(
        select(upside_sessions.c.player_id, upside_sessions.c.game_type).where(
            upside_sessions.c.session_id == session_id
        )
    ).first()
    if row is None:
        raise SessionNotFound(f"session {session_id!r} not found")
    return PayoutRequest(row.player_id, row.game_type, session_id, payout)


def _refund(session: Row, game: games.Game) -> wallet.Request:
    return wallet.Request(
        provider=PROVIDER,
        external_id=f"refund:{session.session_id}",
        kind=wallet.Kind.ROLLBACK,
        player_id=session.player_id,
        currency=win_units.CURRENCY,
        amount=session.bet_amount,
        reference_id=f"bet:{session.session_id}",
        counterparty=game.pool_account,
        details={"gameType": game.game_type, "sessionId": session.session_id},
    )


def jsonb(value: Any) -> Any:
    """A JSON value as given, numbers exact (``None`` stays SQL NULL)."""
    if value is None:
        return None
    return cast(bindparam(None, exact_json.dumps(value), type_=Text), JSONB)


def _claim_session(conn: Connection, request: BetRequest, session_id: str, game_id: str) -> None:
    statement = (
        insert(upside_sessions)
        .values(
            session_id=session_id,
            game_id=game_id,
            game_type=request.game_type,
            player_id=request.player_id,
            status=BET_PLACED,
            bet_amount=win_units.to_decimal(request.bet),
            thumbnail_url=request.thumbnail_url,
            client_nonce=request.client_nonce,
            game_data=jsonb(request.game_data),
        )
        .on_conflict_do_nothing()
        .returning(upside_sessions.c.session_id)
    )
    try:
        claimed = conn.execute(statement).first()
    except OperationalError as exc:
        if not _lock_unavailable(exc):
            raise
        claimed = None  # a concurrent bet holds this id past lock_timeout: it is used
    if claimed is None:
        raise SessionAlreadyUsed(f"session {session_id!r} was already used for a bet")


def _money(player_id: str, game: games.Game, step: str, session_id: str, atomic: int) -> Any:
    return wallet.Request(
        provider=PROVIDER,
        external_id=f"{step}:{session_id}",
        kind=wallet.Kind.BET if step == "bet" else wallet.Kind.WIN,
        player_id=player_id,
        currency=win_units.CURRENCY,
        amount=win_units.to_decimal(atomic),
        reference_id=session_id,
        counterparty=game.pool_account,
        details={"gameType": game.game_type, "sessionId": session_id},
    )


def _decline(outcome: wallet.Outcome, request: BetRequest) -> Declined:
    if outcome.reason is wallet.Reason.PLAYER_BLOCKED:
        message = f"player {request.player_id!r} is blocked and cannot bet"
        return Declined(wallet.Reason.PLAYER_BLOCKED, message)
    if outcome.reason is wallet.Reason.PLAYER_EXCLUDED:
        message = f"player {request.player_id!r} is self-excluded or on a time-out"
        return Declined(wallet.Reason.PLAYER_EXCLUDED, message)
    if outcome.reason is wallet.Reason.LIMIT_EXCEEDED:
        left = win_units.to_atomic(outcome.remaining or 0)
        message = f"betAmount {request.bet} is above the {outcome.limit} limit: {left} left"
        return Declined(wallet.Reason.LIMIT_EXCEEDED, message)
    return Declined(
        wallet.Reason.INSUFFICIENT_FUNDS,
        f"insufficient WIN: balance {win_units.to_atomic(outcome.balance_after)} "
        f"is below betAmount {request.bet}",
    )


def _mark_failed(conn: Connection, session_id: str, reason: str) -> None:
    conn.execute(
        upside_sessions.update()
        .where(upside_sessions.c.session_id == session_id)
        .values(status=FAILED, failure_reason=reason, settled_at=func.now())
    )


def _lock_session(conn: Connection, request: PayoutRequest) -> Row:
    query = (
        select(upside_sessions)
        .where(upside_sessions.c.session_id == request.session_id)
        .with_for_update(nowait=True)
    )
    try:
        session = conn.execute(query).first()
    except OperationalError as exc:
        if not _lock_unavailable(exc):
            raise
        raise PayoutInProgress(
            f"payout already processed or in progress for session {request.session_id!r}: "
            "another processPayout holds it; reconcile with getHistory"
        ) from None
    if session is None:
        raise SessionNotFound(f"session {request.session_id!r} not found")
    if session.player_id != request.player_id:
        raise SessionOfAnotherPlayer(
            f"session {request.session_id!r} belongs to a different player"
        )
    if session.game_type != request.game_type:
        raise SessionOfAnotherGame(
            f"session {request.session_id!r} belongs to game {session.game_type!r}, "
            f"not {request.game_type!r}"
        )
    if session.status == SETTLED:
        raise PayoutAlreadyProcessed(
            f"payout already processed: session {request.session_id!r} is already finished"
        )
    if session.status == FAILED:
        why = "was refunded" if session.failure_reason == REFUNDED else "was declined"
        raise SessionAlreadyFinished(
            f"session {request.session_id!r} already finished: its bet {why}"
        )
    return session


def _lock_unavailable(exc: OperationalError) -> bool:
    """SQLSTATE 55P03: NOWAIT found the row locked, or lock_timeout expired."""
    return getattr(exc.orig, "sqlstate", None) == "55P03"


def _check_payout(conn: Connection, game: games.Game, stake: int, payout: int) -> None:
    cap = game.max_payout(stake)
    if payout > cap:
        raise PayoutAboveMaximum(
            f"payoutAmount {payout} is above stake × max multiplier ({cap}) for {game.game_type}"
        )
    if payout > 0 and payout > games.pool_balance(conn, game):
        raise PoolCannotPay(
            f"the {game.game_type} pool cannot pay {payout}; no active WIN pool is available "
            "for this payout, retry once the operator has funded it"
        )
