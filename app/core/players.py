"""Players and their wallets: create, block, and bulk import with opening balances."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from sqlalchemy import Connection, select, text

from app.core import money
from app.core.models import players
from app.core.wallet import CASHIER
from app.errors import InvalidRequest, PlayerAlreadyExists, UnknownPlayer, WalletError

IMPORT_PROVIDER = "import"


def create(conn: Connection, player_id: str, currencies: Sequence[str]) -> None:
    """Create a player with an empty wallet per currency; an existing player is an error."""
    for currency in currencies:
        money.exponent(currency)
    inserted = conn.execute(
        text("INSERT INTO players (id) VALUES (:id) ON CONFLICT DO NOTHING RETURNING id"),
        {"id": player_id},
    ).first()
    if inserted is None:
        raise PlayerAlreadyExists(f"player {player_id!r} already exists")
    add_currencies(conn, player_id, currencies)


def add_currencies(conn: Connection, player_id: str, currencies: Sequence[str]) -> None:
    conn.execute(
        text(
            "INSERT INTO accounts (player_id, currency) SELECT :id, c FROM unnest("
            "CAST(:currencies AS text[])) AS c ON CONFLICT (player_id, currency) DO NOTHING"
        ),
        {"id": player_id, "currencies": list(currencies)},
    )


def set_blocked(conn: Connection, player_id: str, blocked: bool) -> None:
    updated = conn.execute(
        players.update().where(players.c.id == player_id).values(blocked=blocked)
    ).rowcount
    if not updated:
        raise UnknownPlayer(f"player {player_id!r} does not exist")


def is_blocked(conn: Connection, player_id: str) -> bool:
    found = conn.execute(select(players.c.blocked).where(players.c.id == player_id)).first()
    if found is None:
        raise UnknownPlayer(f"player {player_id!r} does not exist")
    return bool(found.blocked)


@dataclass(frozen=True)
class ImportRow:
    line: int
    player_id: str
    currency: str
    balance: Decimal

    @property
    def reference(self) -> str:
        return f"{self.player_id}:{self.currency}"


def read_csv(path: Path) -> list[ImportRow]:
    """Parse and validate the whole file first, so a bad line changes nothing."""
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        expected = {"player_id", "currency", "balance"}
        if reader.fieldnames is None or not expected <= set(reader.fieldnames):
            raise InvalidRequest("the CSV header must be player_id,currency,balance")
        rows = list(_validated(reader))
    seen: set[str] = set()
    for row in rows:
        if row.reference in seen:
            raise InvalidRequest(f"line {row.line}: {row.reference} appears twice")
        seen.add(row.reference)
    return rows


def _validated(reader: Iterable[dict[str, str]]) -> Iterator[ImportRow]:
    for line, record in enumerate(reader, start=2):
        player_id = (record.get("player_id") or "").strip()
        currency = (record.get("currency") or "").strip().upper()
        if not player_id or len(player_id) > 64:
            raise InvalidRequest(f"line {line}: player_id must be 1 to 64 characters")
        try:
            balance = money.parse_amount((record.get("balance") or "0").strip(), currency)
        except WalletError as exc:
            raise InvalidRequest(f"line {line}: {exc}") from None
        yield ImportRow(line, player_id, currency, balance)


def import_batch(conn: Connection, rows: Sequence[ImportRow]) -> int:
    """Create players and wallets, and deposit each opening balance once; return how many
    opening deposits were new. Three statements a batch, so thousands of rows take three
    round trips.
    Re-running the same file changes nothing: each deposit is keyed by player and currency.
    """
    ids = [r.player_id for r in rows]
    currencies = [r.currency for r in rows]
    conn.execute(
        text(
            "INSERT INTO players (id) SELECT DISTINCT unnest(CAST(:ids AS text[])) "
            "ON CONFLICT DO NOTHING"
        ),
        {"ids": ids},
    )
    conn.execute(
        text(
            "INSERT INTO accounts (player_id, currency) SELECT * FROM unnest("
            "CAST(:ids AS text[]), CAST(:currencies AS text[])) ON CONFLICT DO NOTHING"
        ),
        {"ids": ids, "currencies": currencies},
    )
    new = conn.execute(
        text(_DEPOSITS),
        {
            "ids": ids,
            "currencies": currencies,
            "amounts": [r.balance for r in rows],
            "refs": [r.reference for r in rows],
            "provider": IMPORT_PROVIDER,
            "cashier": CASHIER,
        },
    ).scalar_one()
    return int(new)


# One deposit per row through the wallet's own rule (wallet_transfer, app/core/sql/), in
# account order so two imports never lock in opposite orders; a reference already
# imported is a replay and moves nothing. Returns how many deposits were new.
_DEPOSITS = """
SELECT count(*) FILTER (WHERE NOT t.replayed)
FROM (SELECT * FROM unnest(CAST(:ids AS text[]), CAST(:currencies AS text[]),
                           CAST(:amounts AS numeric[]), CAST(:refs AS text[]))
          AS r(player_id, currency, amount, ref)
      ORDER BY player_id, currency) AS r,
     LATERAL wallet_transfer(CAST(:provider AS text), r.ref, 'deposit', r.player_id,
         r.currency, r.amount, NULL, CAST(:cashier AS text), NULL) AS t
"""
