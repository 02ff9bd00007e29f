"""The double-entry ledger: accounts, balanced journal transactions, verification.

Design overview
---------------
* A **journal transaction** groups **postings**; the postings of one journal
  transaction sum to zero per currency. PostgreSQL enforces it with a deferred
  constraint trigger checked at commit, and refuses postings of amount zero and
  any update or delete of ledger rows: a correction is a new transaction.
* A **player account** (player, currency) caches its balance on its row. The
  cached balance moves only with its postings, in the same statement
  (``ledger_post`` in ``app/core/sql/``, the one writer of journal rows), under the
  account's row lock.
* A **system account** (house per provider and currency, cashier, game pool) has
  no cached balance: it is the sum of its postings. No bet locks a system row, so
  bets on different players never wait for each other.

Functions here take a SQLAlchemy ``Connection`` inside an open transaction and
never commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import NoReturn

from sqlalchemy import Connection, func, select, text

from app.core.models import accounts, players, postings
from app.db import fetch_one
from app.errors import CurrencyNotEnabled, UnknownPlayer


@dataclass(frozen=True)
class PlayerAccount:
    id: int
    player_id: str
    currency: str
    balance: Decimal
    blocked: bool


@dataclass(frozen=True)
class Leg:
    account_id: int
    currency: str
    amount: Decimal


def lock_player_account(conn: Connection, player_id: str, currency: str) -> PlayerAccount:
    """Lock the player's account row (``FOR UPDATE``) until the transaction ends."""
    row = fetch_one(conn, _LOCK, {"player": player_id, "currency": currency})
    if row is None:
        raise_missing(conn, player_id, currency)
    return PlayerAccount(row.id, player_id, currency, row.balance, row.blocked)


_LOCK = """
SELECT a.id, a.balance, p.blocked
FROM accounts a JOIN players p ON p.id = a.player_id
WHERE a.player_id = %(player)s AND a.currency = %(currency)s
FOR UPDATE OF a
"""


def player_exists(conn: Connection, player_id: str) -> bool:
    return conn.execute(select(players.c.id).where(players.c.id == player_id)).first() is not None


def require_player(conn: Connection, player_id: str) -> None:
    """Raise :class:`UnknownPlayer` unless the player exists."""
    if not player_exists(conn, player_id):
        raise UnknownPlayer(f"player {player_id!r} does not exist")


def raise_missing(conn: Connection, player_id: str, currency: str) -> NoReturn:
    """Say which is missing: the player, or the player's account in ``currency``."""
    require_player(conn, player_id)
    raise CurrencyNotEnabled(f"player {player_id!r} has no {currency} wallet")


def system_account(conn: Connection, name: str, currency: str) -> int:
    """The id of system account ``name`` in ``currency``, created on first use."""
    query = select(accounts.c.id).where(accounts.c.name == name, accounts.c.currency == currency)
    found = conn.execute(query).scalar()
    if found is not None:
        return int(found)
    conn.execute(
        text(
            "INSERT INTO accounts (name, currency) VALUES (:name, :currency) "
            "ON CONFLICT (name, currency) DO NOTHING"
        ),
        {"name": name, "currency": currency},
    )
    return int(conn.execute(query).scalar_one())


def post(
    conn: Connection, kind: str, legs: Sequence[Leg], provider_transaction_id: int | None
) -> int:
    """Post one journal transaction with its legs (``ledger_post``, the one writer of
    journal rows); a leg on a player account moves its cached balance too. Return the
    journal transaction's id. The database checks the balance at commit."""
    params = {
        "kind": kind,
        "ptx": provider_transaction_id,
        "account_ids": [leg.account_id for leg in legs],
        "currencies": [leg.currency for leg in legs],
        "amounts": [leg.amount for leg in legs],
    }
    return int(conn.execute(_POST, params).scalar_one())


_POST = text(
    "SELECT ledger_post(:kind, :ptx, CAST(:account_ids AS bigint[]), "
    "CAST(:currencies AS text[]), CAST(:amounts AS numeric[]))"
)


def legs_of(conn: Connection, journal_id: int) -> list[Leg]:
    rows = conn.execute(
        select(postings.c.account_id, postings.c.currency, postings.c.amount)
        .where(postings.c.journal_id == journal_id)
        .order_by(postings.c.id)
    )
    return [Leg(r.account_id, r.currency, r.amount) for r in rows]


def account_balance(conn: Connection, account_id: int) -> Decimal:
    """A balance derived from postings (how system accounts are read)."""
    total = conn.execute(
        select(func.coalesce(func.sum(postings.c.amount), 0)).where(
            postings.c.account_id == account_id
        )
    ).scalar_one()
    return Decimal(total)


@dataclass(frozen=True)
class Verification:
    unbalanced: list[dict[str, object]]
    mismatched: list[dict[str, object]]
    orphans: list[dict[str, object]]
    negative: list[dict[str, object]]

    @property
    def ok(self) -> bool:
        return not (self.unbalanced or self.mismatched or self.orphans)


def verify(conn: Connection) -> Verification:
    """Check the books: every journal balances, every cached balance equals its postings.

    Negative player balances (left by honoured rollbacks of wins) are reported but
    are not an error.
    """
    return Verification(
        unbalanced=_rows(conn, _UNBALANCED),
        mismatched=_rows(conn, _MISMATCHED),
        orphans=_rows(conn, _ORPHANS),
        negative=_rows(conn, _NEGATIVE),
    )


def _rows(conn: Connection, sql: str) -> list[dict[str, object]]:
    return [dict(row._mapping) for row in conn.execute(text(sql))]


_UNBALANCED = """
SELECT journal_id, currency, sum(amount) AS total FROM postings
GROUP BY journal_id, currency HAVING sum(amount) <> 0 ORDER BY journal_id
"""
_MISMATCHED = """
SELECT a.id AS account_id, a.player_id, a.currency, a.balance AS cached,
       coalesce(p.total, 0) AS postings
FROM accounts a
LEFT JOIN (SELECT account_id, sum(amount) AS total FROM postings GROUP BY account_id) p
       ON p.account_id = a.id
WHERE a.player_id IS NOT NULL AND a.balance <> coalesce(p.total, 0)
ORDER BY a.id
"""
_ORPHANS = """
SELECT p.id AS posting_id, p.account_id, p.currency FROM postings p
LEFT JOIN accounts a ON a.id = p.account_id
WHERE a.id IS NULL OR a.currency <> p.currency ORDER BY p.id
"""
_NEGATIVE = """
SELECT player_id, currency, balance FROM accounts
WHERE player_id IS NOT NULL AND balance < 0 ORDER BY player_id, currency
"""
