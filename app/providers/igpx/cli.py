"""``wallet igpx …``: calls the operator makes to IGPX."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

from app.cli.support import emit, fail, run_as_admin
from app.core import wallet
from app.providers.igpx.client import IgpxApiError, client_from_config

cli = AppGroup(
    "igpx", help="Calls to the IGPX sportsbook.\n\nExample: wallet igpx launch alice USD"
)


@cli.command("launch")
@click.argument("player_id")
@click.argument("currency")
@click.option("--lang", default=None, help="Language code for the sportsbook, e.g. en.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
def launch(player_id: str, currency: str, lang: str | None, as_json: bool) -> None:
    """Print the sportsbook iframe URL for PLAYER_ID playing in CURRENCY.

    Example: wallet igpx launch alice USD --lang en
    """
    if not run_as_admin(wallet.balances, player_id, currency):
        fail(f"player {player_id!r} has no {currency} wallet")
    try:
        url = client_from_config(current_app.config).start_session(player_id, currency, lang)
    except IgpxApiError as exc:
        fail(str(exc))
    emit({"player_id": player_id, "currency": currency, "url": url}, as_json, text=url)
