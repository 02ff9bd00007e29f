"""The eight Upside triggers: each turns a loaded request into a core call and an answer.

A handler takes the transaction's Connection and a ``Call`` and returns the
trigger-specific fields of the answer (the adapter adds ``success`` and ``trigger``),
or, for a declined bet, the ``Declined`` stake: the adapter commits the failed session,
then answers the refusal.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection

from app.core import limits, wallet
from app.providers.upside import games, history, sessions, win_units
from app.providers.upside.keys import ApiKey

Answer = dict[str, Any] | sessions.Declined


@dataclass(frozen=True)
class Call:
    player_id: str
    key: ApiKey
    data: dict[str, Any]

    @property
    def game_types(self) -> list[str]:
        """The games a read may cover: the one asked for, else every game of the key."""
        asked = self.data.get("game_type")
        return [asked] if asked else list(self.key.games)


def check_auth(conn: Connection, call: Call) -> Answer:
    _balance(conn, call.player_id)
    return {"authenticated": True, "userId": call.player_id}


def get_user(conn: Connection, call: Call) -> Answer:
    _balance(conn, call.player_id)
    user = {"id": call.player_id, "userId": call.player_id, "addresses": []}
    return {"userId": call.player_id, "user": user}


def get_balance(conn: Connection, call: Call) -> Answer:
    balance = _balance(conn, call.player_id)
    return {
        "userId": call.player_id,
        "currency": win_units.CURRENCY,
        **win_units.amount_fields("balance", balance),
        **win_units.amount_fields("userBalance", balance),
    }


def get_max_bet(conn: Connection, call: Call) -> Answer:
    """The pool's rule, and never more than the player's loss or wager limits leave."""
    game_type = call.data["game_type"]
    limit = games.max_bet(conn, game_type)
    allowance = limits.bet_allowance(conn, call.player_id, win_units.CURRENCY)
    if allowance is not None:
        limit = min(limit, win_units.to_atomic(allowance))
    return {"gameType": game_type, **win_units.amount_fields("maxBetAmount", limit)}


def place_bet(conn: Connection, call: Call) -> Answer:
    data = call.data
    bet = sessions.BetRequest(
        player_id=call.player_id,
        game_type=data["game_type"],
        bet=data["bet_amount"],
        session_id=data.get("session_id"),
        game_id=data.get("game_id"),
        thumbnail_url=data.get("thumbnail_url"),
        client_nonce=data.get("client_nonce"),
        game_data=data.get("game_data"),
    )
    done = sessions.place_bet(conn, bet)
    if done.declined is not None:
        return done.declined
    return {
        "sessionId": done.session_id,
        "gameId": done.game_id,
        "gameType": bet.game_type,
        **win_units.amount_fields("betAmount", bet.bet),
        **win_units.amount_fields("userBalance", done.balance),
    }


def process_payout(conn: Connection, call: Call) -> Answer:
    data = call.data
    payout = sessions.PayoutRequest(
        player_id=call.player_id,
        game_type=data["game_type"],
        session_id=data["session_id"],
        payout=data["payout_amount"],
        result=data.get("result"),
        game_data=data.get("game_data"),
    )
    done = sessions.process_payout(conn, payout)
    return {
        "sessionId": done.session_id,
        "gameId": done.game_id,
        "gameType": payout.game_type,
        "result": done.result,
        **win_units.amount_fields("payoutAmount", done.payout),
        **win_units.amount_fields("userBalance", done.balance),
    }


def get_active(conn: Connection, call: Call) -> Answer:
    found = history.active(conn, call.player_id, call.game_types)
    return {"sessions": [_session(s) for s in found], "total": len(found)}


def get_history(conn: Connection, call: Call) -> Answer:
    limit, offset = call.data.get("limit", 20), call.data.get("offset", 0)
    found = history.history(conn, call.player_id, call.game_types, limit, offset)
    stats = found.stats
    return {
        "sessions": [_session(s) for s in found.sessions],
        "total": found.total,
        "limit": limit,
        "offset": offset,
        "hasMore": offset + len(found.sessions) < found.total,
        "stats": {
            "totalSessions": stats.sessions,
            "wins": stats.wins,
            "losses": stats.losses,
            "pushes": stats.pushes,
            **win_units.amount_fields("totalWagered", stats.wagered),
            **win_units.amount_fields("totalPayout", stats.paid_out),
            **win_units.amount_fields("netProfit", stats.net),
        },
    }


def _balance(conn: Connection, player_id: str) -> int:
    """The player's WIN balance in atomic units (raises UnknownPlayer); 0 without a wallet."""
    found = wallet.balances(conn, player_id, win_units.CURRENCY)
    return win_units.to_atomic(found.get(win_units.CURRENCY, Decimal(0)))


def _session(view: history.SessionView) -> dict[str, Any]:
    payout = {} if view.payout is None else win_units.amount_fields("payoutAmount", view.payout)
    return {
        "sessionId": view.session_id,
        "gameId": view.game_id,
        "gameType": view.game_type,
        "status": view.status,
        **win_units.amount_fields("betAmount", view.bet),
        **payout,
        "result": view.result,
        "gameData": view.game_data,
        "thumbnailUrl": view.thumbnail_url,
        "clientNonce": view.client_nonce,
        "createdAt": view.created_at.isoformat(),
        "settledAt": view.settled_at.isoformat() if view.settled_at else None,
    }


TRIGGERS: dict[str, Callable[[Connection, Call], Answer]] = {
    "checkAuth": check_auth,
    "getUser": get_user,
    "getBalance": get_balance,
    "getMaxBet": get_max_bet,
    "placeBet": place_bet,
    "processPayout": process_payout,
    "getActive": get_active,
    "getHistory": get_history,
}
