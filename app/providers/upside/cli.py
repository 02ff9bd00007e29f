"""``wallet upside …``: game types, pools, API keys and player tokens."""

from __future__ import annotations

from datetime import UTC, datetime

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import Connection

from app.cli.support import (
    AMOUNT_ARGUMENTS,
    POSITIVE,
    emit,
    fail,
    json_option,
    moment_option,
    positive_amount,
    run_as_admin,
    table,
)
from app.core import players
from app.providers.upside import auth, games, keys, win_units
from app.providers.upside.sessions_cli import sessions_cli

cli = AppGroup(
    "upside",
    help="Upside game-actions: games, pools, API keys, player tokens.\n\n"
    "Example: wallet upside games list",
)
games_cli = AppGroup(
    "games",
    help="Game types, each with a WIN pool.\n\n"
    "Example: wallet upside games create dice --max-multiplier 2",
)
pool_cli = AppGroup(
    "pool",
    help="The WIN pools: the house's bankroll per game.\n\n"
    "Example: wallet upside pool fund dice 2500",
)
keys_cli = AppGroup(
    "keys",
    help="API keys of game workers.\n\nExample: wallet upside keys create --game dice",
)
for group in (games_cli, pool_cli, keys_cli, sessions_cli):
    cli.add_command(group)


def _game_json(game: games.Game, pool: int | None = None) -> dict[str, object]:
    data: dict[str, object] = {
        "game_type": game.game_type,
        "max_multiplier": str(game.max_multiplier.normalize()),
        "active": game.active,
    }
    if pool is not None:
        data.update(win_units.readable_fields("pool_balance", pool))
        data.update(win_units.readable_fields("max_bet", game.max_bet(pool)))
    return data


@games_cli.command("create")
@click.argument("game_type")
@click.option("--max-multiplier", required=True, help="Largest payout as a multiple of the stake.")
@click.option("--inactive", is_flag=True, help="Create it switched off (no bets until activated).")
@json_option
def games_create(game_type: str, max_multiplier: str, inactive: bool, as_json: bool) -> None:
    """Create GAME_TYPE with an empty WIN pool.

    Example: wallet upside games create dice --max-multiplier 2
    """
    multiplier = games.parse_multiplier(max_multiplier)
    game = run_as_admin(games.create, game_type, multiplier, not inactive)
    emit(_game_json(game, 0), as_json, text=f"game {game_type} created")


@games_cli.command("activate")
@click.argument("game_type")
@json_option
def games_activate(game_type: str, as_json: bool) -> None:
    """Accept bets on GAME_TYPE.

    Example: wallet upside games activate dice
    """
    game = run_as_admin(games.set_active, game_type, True)
    emit(_game_json(game), as_json, text=f"game {game_type} is active")


@games_cli.command("deactivate")
@click.argument("game_type")
@json_option
def games_deactivate(game_type: str, as_json: bool) -> None:
    """Refuse new bets on GAME_TYPE.

    Open sessions can still be paid out.

    Example: wallet upside games deactivate dice
    """
    game = run_as_admin(games.set_active, game_type, False)
    emit(_game_json(game), as_json, text=f"game {game_type} is inactive")


@games_cli.command("list")
@json_option
def games_list(as_json: bool) -> None:
    """Every game type with its pool balance and current max bet.

    Example: wallet upside games list --json
    """
    rows = [_game_json(game, pool) for game, pool in run_as_admin(games.list_all)]
    columns = ["game_type", "active", "max_multiplier", "pool_balance", "max_bet"]
    emit({"games": rows}, as_json, text=table(rows, columns))


@pool_cli.command("fund", context_settings=AMOUNT_ARGUMENTS)
@click.argument("game_type")
@click.argument("amount_win")
@click.option("--atomic", is_flag=True, help="AMOUNT_WIN is in atomic units (18 decimals).")
@json_option
def pool_fund(game_type: str, amount_win: str, atomic: bool, as_json: bool) -> None:
    """Add AMOUNT_WIN to GAME_TYPE's pool from the bankroll.

    AMOUNT_WIN is in whole WIN (2500, 0.5), above zero; with --atomic, in atomic units.

    Example: wallet upside pool fund dice 2500
    """
    if atomic:
        units = win_units.parse_atomic(amount_win, "AMOUNT_WIN")
    else:
        units = win_units.to_atomic(positive_amount(amount_win, win_units.CURRENCY))
    if units <= 0:
        fail(f"AMOUNT_WIN {amount_win!r}: {POSITIVE}")
    balance = run_as_admin(games.fund_pool, game_type, units)
    data = {"game_type": game_type, **win_units.readable_fields("pool_balance", balance)}
    emit(data, as_json, text=f"{game_type} pool: {win_units.format_units(balance)} WIN")


@keys_cli.command("create")
@click.option("--game", "game_types", multiple=True, required=True, help="Repeatable.")
@click.option("--expires", default=None, help="ISO 8601 time, or a duration: 90m, 12h, 30d, 3mo.")
@click.option("--allow-ip", "networks", multiple=True, help="IP or CIDR; repeatable.")
@click.option(
    "--rate-limit", default=None, help="Requests per second, minute, hour or day: 10/s, 30/h."
)
@json_option
def keys_create(
    game_types: tuple[str, ...],
    expires: str | None,
    networks: tuple[str, ...],
    rate_limit: str | None,
    as_json: bool,
) -> None:
    """Create an API key for game workers.

    Its secret and passphrase are printed once, never again.

    Example: wallet upside keys create --game dice --expires 90d
    """
    expires_at = moment_option("--expires", expires, ahead=True) if expires else None
    limit = keys.parse_rate_limit(rate_limit) if rate_limit else None
    box = keys.SecretBox.from_config(current_app.config)
    new = run_as_admin(keys.create, box, list(game_types), expires_at, networks, limit)
    data = {"key": new.key, "secret": new.secret, "passphrase": new.passphrase}
    text = "\n".join(f"{name}: {value}" for name, value in data.items())
    note = "store the secret and passphrase now: they are not shown again"
    emit(data, as_json, text=f"{text}\n{note}")


@keys_cli.command("list")
@json_option
def keys_list(as_json: bool) -> None:
    """Every API key with its scope and limits (never its secret).

    Example: wallet upside keys list --json
    """
    rows = [key.public() for key in run_as_admin(keys.list_all)]
    columns = ["key", "games", "expires_at", "revoked_at", "rate_limit", "allowed_ips"]
    emit({"keys": rows}, as_json, text=table(rows, columns))


@keys_cli.command("revoke")
@click.argument("key")
def keys_revoke(key: str) -> None:
    """Refuse every later request signed with KEY.

    Example: wallet upside keys revoke upk_5f0c2a9e1b7d4c3a8e6f0b12
    """
    run_as_admin(keys.revoke, key, datetime.now(UTC))
    click.echo(f"key {key} is revoked")


@keys_cli.command("reencrypt")
@json_option
def keys_reencrypt(as_json: bool) -> None:
    """Re-encrypt every key secret with the current encryption key.

    Run it after rotating UPSIDE_KEY_ENCRYPTION_KEY (or UPSIDE_JWT_SECRET when no key
    encryption key is set), while the old value is still set as …_PREVIOUS.

    Example: wallet upside keys reencrypt
    """
    box = keys.SecretBox.from_config(current_app.config)
    count = run_as_admin(keys.reencrypt_all, box)
    emit({"reencrypted": count}, as_json, text=f"{count} key secrets re-encrypted")


@cli.command("token")
@click.argument("player_id")
@click.option("--ttl", default=3600, show_default=True, type=click.IntRange(1, 31 * 86400))
@json_option
def token(player_id: str, ttl: int, as_json: bool) -> None:
    """Print a B3-JWT for PLAYER_ID.

    The player gets a WIN wallet if it has none.

    Example: wallet upside token alice --ttl 600
    """
    secret = current_app.config.get("UPSIDE_JWT_SECRET")
    if not secret:
        fail("set UPSIDE_JWT_SECRET to mint player tokens")
    run_as_admin(_ensure_win_wallet, player_id)
    now = datetime.now(UTC)
    jwt = auth.mint_token(secret, player_id, ttl, now)
    expires = datetime.fromtimestamp(int(now.timestamp()) + ttl, UTC)
    emit({"player_id": player_id, "token": jwt, "expires_at": expires}, as_json, text=jwt)


def _ensure_win_wallet(conn: Connection, player_id: str) -> None:
    players.is_blocked(conn, player_id)  # raises UnknownPlayer
    players.add_currencies(conn, player_id, [win_units.CURRENCY])
