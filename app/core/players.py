"""Players and their wallets: create, block, and bulk import with opening balances."""

from __future__ import annotations

import csv
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from sqlalchemy import Connection, select, text

from app.core import money
from app.core.models import players
from app.core.wallet import CASHIER
from app.errors import InvalidRequest, PlayerAlreadyExists, UnknownPlayer, WalletError

IMPORT_PROVIDER = "import"
MAX_ID_LENGTH = 64  # players.id is VARCHAR(64)


def check_id(player_id: str) -> str:
    """The one rule for a player id, wherever it comes from (the CLI, an import file, a
    provider's request, a player token): 1 to 64 characters, no space at either end,
    no control character. Returns the id unchanged; raises InvalidRequest."""
    if not player_id:
        raise InvalidRequest("a player id must not be empty")
    if len(player_id) > MAX_ID_LENGTH:
        raise InvalidRequest(f"a player id has at most {MAX_ID_LENGTH} characters")
    if player_id != player_id.strip():
        raise InvalidRequest(f"player id {player_id!r} must not start or end with a space")
    if any(unicodedata.category(c) in ("Cc", "Cs") for c in player_id):
        raise InvalidRequest(f"player id {player_id!r} must not contain control characters")
    return player_id


def create(conn: Connection, player_id: str, currencies: Sequence[str]) -> None:
    """Create a player with an empty wallet per currency; an existing player is an error."""
    check_id(player_id)
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


COLUMNS = ("player_id", "currency", "balance")


def read_csv(path: Path) -> list[ImportRow]:
    """Parse and validate the whole file first, so a bad line changes nothing."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(handle, strict=True)
            header = next(reader, [])
            if not set(COLUMNS) <= set(header):
                raise InvalidRequest("the CSV header must be player_id,currency,balance")
            try:
                rows = [_row(reader.line_num, header, cells) for cells in reader if cells]
            except csv.Error as exc:
                raise InvalidRequest(f"line {reader.line_num}: {exc}") from None
    except UnicodeDecodeError:
        raise InvalidRequest(f"{path.name} is not UTF-8 text") from None
    seen: set[str] = set()
    for row in rows:
        if row.reference in seen:
            raise InvalidRequest(f"line {row.line}: {row.reference} appears twice")
        seen.add(row.reference)
    return rows


def _row(line: int, header: list[str], cells: list[str]) -> ImportRow:
    """One line, taken as written: as many cells as the header, a valid player id, a
    known currency and a plain decimal balance (``10.50``; not ``1e3``, ``-5`` or empty)."""
    if len(cells) != len(header):
        raise InvalidRequest(f"line {line}: {len(cells)} columns, the header has {len(header)}")
    record = dict(zip(header, cells, strict=True))
    currency = record["currency"].upper()
    try:
        check_id(record["player_id"])
        balance = money.parse_amount(record["balance"], currency)
    except WalletError as exc:
        raise InvalidRequest(f"line {line}: {exc}") from None
    return ImportRow(line, record["player_id"], currency, balance)


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
