"""Upside game types and their WIN pools (the house bankroll per game).

A game's pool is the ledger system account ``pool:<game_type>`` in WIN; its balance
is the sum of its postings. Bets pay into it without any lock (they only make it
larger); every movement *out* of it happens while the caller holds the game row
``FOR UPDATE`` (:func:`lock_game`), so two payouts never both spend the same WIN.

The max-bet rule: ``floor(pool_balance / max_multiplier)`` atomic units, so a single
bet's largest possible payout (stake × max multiplier) is covered by the pool as it
stands before the stake is added. Functions take a Connection and never commit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from sqlalchemy import Connection, Row, select
from sqlalchemy.dialects.postgresql import insert

from app.core import ledger, wallet
from app.errors import InvalidRequest
from app.providers.upside import win_units
from app.providers.upside.errors import GameInactive, GameNotFound
from app.providers.upside.models import upside_games

POOL_PREFIX = "pool:"
BANKROLL = "upside:bankroll"
_GAME_TYPE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,47}")
MAX_MULTIPLIER_LIMIT = Decimal(10) ** 12


@dataclass(frozen=True)
class Game:
    game_type: str
    max_multiplier: Decimal
    active: bool

    @property
    def pool_account(self) -> str:
        return POOL_PREFIX + self.game_type

    def max_payout(self, stake: int) -> int:
        """The most a stake of ``stake`` atomic units may win: floor(stake × multiplier)."""
        numerator, denominator = self.max_multiplier.as_integer_ratio()
        return stake * numerator // denominator

    def max_bet(self, pool_balance: int) -> int:
        numerator, denominator = self.max_multiplier.as_integer_ratio()
        return max(pool_balance, 0) * denominator // numerator


def check_game_type(game_type: str) -> str:
    if not isinstance(game_type, str) or not _GAME_TYPE.fullmatch(game_type):
        raise InvalidRequest(
            "gameType must be 1-48 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    return game_type


def parse_multiplier(raw: str) -> Decimal:
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise InvalidRequest(f"max multiplier must be a number, got {raw!r}") from None
    if not value.is_finite() or value < 1 or value >= MAX_MULTIPLIER_LIMIT:
        raise InvalidRequest("max multiplier must be at least 1 and below 10^12")
    if value != value.quantize(Decimal("0.000001")):
        raise InvalidRequest("max multiplier has at most 6 decimal places")
    return value


def create(conn: Connection, game_type: str, max_multiplier: Decimal, active: bool) -> Game:
    """Create a game type (and its empty pool account); an existing one is an error."""
    check_game_type(game_type)
    inserted = conn.execute(
        insert(upside_games)
        .values(game_type=game_type, max_multiplier=max_multiplier, active=active)
        .on_conflict_do_nothing()
        .returning(upside_games.c.game_type)
    ).first()
    if inserted is None:
        raise InvalidRequest(f"game {game_type!r} already exists")
    ledger.system_account(conn, POOL_PREFIX + game_type, win_units.CURRENCY)
    return Game(game_type, max_multiplier, active)


def set_active(conn: Connection, game_type: str, active: bool) -> Game:
    updated = conn.execute(
        upside_games.update()
        .where(upside_games.c.game_type == game_type)
        .values(active=active)
        .returning(*upside_games.c)
    ).first()
    if updated is None:
        raise GameNotFound(f"game {game_type!r} does not exist")
    return _game(updated)


def find(conn: Connection, game_type: str) -> Game:
    row = conn.execute(select(upside_games).where(upside_games.c.game_type == game_type)).first()
    if row is None:
        raise GameNotFound(f"game {game_type!r} does not exist")
    return _game(row)


def find_active(conn: Connection, game_type: str) -> Game:
    game = find(conn, game_type)
    if not game.active:
        raise GameInactive(f"game {game_type!r} is not active")
    return game


def lock_game(conn: Connection, game_type: str) -> Game:
    """Lock the game row until the transaction ends: the only way WIN leaves its pool."""
    row = conn.execute(
        select(upside_games).where(upside_games.c.game_type == game_type).with_for_update()
    ).first()
    if row is None:
        raise GameNotFound(f"game {game_type!r} does not exist")
    return _game(row)


def list_all(conn: Connection) -> list[tuple[Game, int]]:
    rows = conn.execute(select(upside_games).order_by(upside_games.c.game_type))
    games = [_game(row) for row in rows]
    return [(game, pool_balance(conn, game)) for game in games]


def pool_balance(conn: Connection, game: Game) -> int:
    """The pool's balance in atomic units, derived from its postings."""
    account = ledger.system_account(conn, game.pool_account, win_units.CURRENCY)
    return win_units.to_atomic(ledger.account_balance(conn, account))


def max_bet(conn: Connection, game_type: str) -> int:
    game = find_active(conn, game_type)
    return game.max_bet(pool_balance(conn, game))


def fund_pool(conn: Connection, game_type: str, atomic: int) -> int:
    """Move ``atomic`` WIN units from the operator's bankroll into the game's pool."""
    if atomic <= 0:
        raise InvalidRequest("the amount to fund must be more than zero")
    game = lock_game(conn, game_type)
    amount = win_units.to_decimal(atomic)
    wallet.move_between_system_accounts(
        conn, "pool_funding", BANKROLL, game.pool_account, win_units.CURRENCY, amount
    )
    return pool_balance(conn, game)


def _game(row: Row) -> Game:
    return Game(row.game_type, Decimal(row.max_multiplier), bool(row.active))
