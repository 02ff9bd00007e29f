"""``wallet players …``: create, block and unblock players, and import them from CSV."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click
from flask.cli import AppGroup

from app.cli.support import emit, json_option, print_balances, run_as_admin
from app.core import players, wallet

cli = AppGroup(
    "players",
    help="Players and their wallets.\n\nExample: wallet players create alice --currency USD",
)


@cli.command("create")
@click.argument("player_id")
@click.option("--currency", "currencies", multiple=True, required=True, help="Repeatable.")
@json_option
def players_create(player_id: str, currencies: tuple[str, ...], as_json: bool) -> None:
    """Create PLAYER_ID with an empty wallet in each --currency.

    A player id has 1 to 64 characters, no space at either end and no control character
    (the rule the provider callbacks follow too).

    Example: wallet players create alice --currency USD --currency EUR
    """
    codes = [c.upper() for c in currencies]
    run_as_admin(players.create, player_id, codes)
    balances = run_as_admin(wallet.balances, player_id)
    print_balances(player_id, balances, as_json)


@cli.command("block")
@click.argument("player_id")
def players_block(player_id: str) -> None:
    """Block PLAYER_ID: bets are declined.

    Wins and rollbacks still apply.

    Example: wallet players block alice
    """
    run_as_admin(players.set_blocked, player_id, True)
    click.echo(f"player {player_id} is blocked")


@cli.command("unblock")
@click.argument("player_id")
def players_unblock(player_id: str) -> None:
    """Unblock PLAYER_ID.

    Example: wallet players unblock alice
    """
    run_as_admin(players.set_blocked, player_id, False)
    click.echo(f"player {player_id} is unblocked")


@cli.command("import")
@click.argument("csv_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--batch-size", default=2000, show_default=True, type=click.IntRange(1, 50000))
@json_option
def players_import(csv_file: Path, batch_size: int, as_json: bool) -> None:
    """Create players from CSV_FILE, each with an opening deposit.

    Columns player_id,currency,balance (others are ignored). The whole file is checked
    first: a line with more or fewer cells than the header, a balance that is not plain
    decimal text (10.50) or a bad player id stops the import at that line, before
    anything is written. Safe to re-run: rows already imported change nothing.

    Example: wallet players import players.csv
    """
    rows = players.read_csv(csv_file)
    started, created = time.monotonic(), 0
    with click.progressbar(length=len(rows), label="importing", file=sys.stderr) as bar:
        for start in range(0, len(rows), batch_size):
            batch = rows[start : start + batch_size]
            created += run_as_admin(players.import_batch, batch)
            bar.update(len(batch))
    elapsed = time.monotonic() - started
    summary = {
        "rows": len(rows),
        "new_deposits": created,
        "already_imported": len(rows) - created,
        "seconds": round(elapsed, 3),
        "rows_per_second": round(len(rows) / elapsed) if elapsed > 0 else None,
    }
    emit(
        summary,
        as_json,
        text=(
            f"imported {len(rows)} rows ({created} new, {len(rows) - created} already there) "
            f"in {elapsed:.2f}s"
        ),
    )


def _add_protection_commands() -> None:
    """Self-exclusion and time-outs (app/cli/exclusions.py)."""
    from app.cli.exclusions import players_exclude, players_timeout, players_unexclude

    for command in (players_exclude, players_timeout, players_unexclude):
        cli.add_command(command)


_add_protection_commands()
