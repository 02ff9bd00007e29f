"""``wallet hypetech …``: calls the operator makes to Hypetech."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import click
from flask import current_app
from flask.cli import AppGroup

from app.cli.support import emit, fail, json_option, run_as_admin
from app.core import wallet
from app.providers.hypetech.client import HypetechApiError, client_from_config

cli = AppGroup("hypetech", help="Calls to Hypetech.\n\nExample: wallet hypetech games")


@cli.command("games")
@json_option
def games(as_json: bool) -> None:
    """List the games Hypetech has activated for us.

    Example: wallet hypetech games --json
    """
    try:
        found = client_from_config(current_app.config).games()
    except HypetechApiError as exc:
        fail(str(exc))
    lines = [_game_label(game) for game in found] or ["no activated games"]
    emit(found, as_json, text="\n".join(lines))


def _game_label(game: Any) -> str:
    if isinstance(game, dict):
        for key in ("name", "title", "game", "slug", "id"):
            if game.get(key):
                return str(game[key])
    return str(game)


@cli.command("launch")
@click.argument("player_id")
@click.argument("game")
@click.option("--currency", default=None, help="Wallet to play from (default: the only one).")
@click.option("--lang", default="pt", show_default=True, help="Language of the game's interface.")
@click.option("--username", default=None, help="Name shown in the game (default: PLAYER_ID).")
@json_option
def launch(
    player_id: str, game: str, currency: str | None, lang: str, username: str | None, as_json: bool
) -> None:
    """Print the URL that opens GAME for PLAYER_ID.

    Example: wallet hypetech launch alice aviator --currency BRL
    """
    code, balance = run_as_admin(_wallet_to_play, player_id, currency)
    try:
        url = client_from_config(current_app.config).game_url(
            game, player_id, username or player_id, code, balance, lang
        )
    except HypetechApiError as exc:
        fail(str(exc))
    data = {"player_id": player_id, "game": game, "currency": code, "url": url}
    emit(data, as_json, text=url)


def _wallet_to_play(conn: Any, player_id: str, currency: str | None) -> tuple[str, Decimal]:
    balances = wallet.balances(conn, player_id)
    code = currency.upper() if currency else None
    if code is None:
        default = current_app.config["HYPETECH_DEFAULT_CURRENCY"]
        if len(balances) == 1:
            code = next(iter(balances))
        elif default in balances:
            code = default
        else:
            fail(f"player {player_id!r} has {len(balances)} wallets: pass --currency")
    if code not in balances:
        fail(f"player {player_id!r} has no {code} wallet")
    return code, balances[code]
