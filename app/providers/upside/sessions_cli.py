"""Sessions a game worker left open: ``wallet report open-sessions`` lists them, and
``wallet upside sessions reconcile`` finishes them.

A session with a bet and no payout is either settled
with the payout the game owed, or refunded. Both go through the wallet core
(``sessions.settle_open`` / ``refund_open``): at most once per session, the
ledger balanced, the pool never overdrawn. Each session is its own transaction.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import click
from flask.cli import AppGroup, with_appcontext

from app.cli.reports import output_options, show
from app.cli.support import Duration, emit, fail, json_option, run_as_admin, table
from app.errors import WalletError
from app.providers.upside import history, sessions, win_units

sessions_cli = AppGroup(
    "sessions",
    help="Upside sessions a worker left open.\n\n"
    "Example: wallet upside sessions reconcile --older-than 1h --refund",
)


@sessions_cli.command("reconcile")
@click.argument("session_id", required=False)
@click.option("--refund", is_flag=True, help="Give the stake back to the player.")
@click.option("--settle-payout", "payout", default=None, help="Pay AMOUNT_WIN (whole WIN).")
@click.option("--atomic", is_flag=True, help="--settle-payout is in atomic units (18 decimals).")
@click.option("--older-than", type=Duration(), default=None, help="Every open session this old.")
@json_option
def reconcile(
    session_id: str | None,
    refund: bool,
    payout: str | None,
    atomic: bool,
    older_than: timedelta | None,
    as_json: bool,
) -> None:
    """Settle or refund a session a worker left open.

    Settle SESSION_ID with --settle-payout AMOUNT_WIN, or refund it with --refund; or
    refund every open session older than --older-than.

    Example: wallet upside sessions reconcile s-1 --settle-payout 20
    """
    if refund == (payout is not None):
        fail("give exactly one of --refund and --settle-payout AMOUNT_WIN")
    if (session_id is None) == (older_than is None):
        fail("give a SESSION_ID or --older-than, not both")
    if older_than is not None and not refund:
        fail("--older-than refunds only: settle each session with its own --settle-payout")
    if session_id is not None:
        units = None if payout is None else win_units.parse_typed(payout, atomic, "AMOUNT_WIN")
        rows = [_finish(session_id, units)]
    else:
        found = run_as_admin(history.open_sessions, older_than)
        rows = [_finish(s.session_id, None) for s in found]
    failed = [row for row in rows if row["error"]]
    columns = ["session_id", "player_id", "action", "amount", "balance", "error"]
    emit({"sessions": rows, "failed": len(failed)}, as_json, text=table(rows, columns))
    if failed:
        raise SystemExit(1)


def _finish(session_id: str, payout: int | None) -> dict[str, Any]:
    """Settle or refund one session in its own transaction; a refusal is reported, not raised."""
    row: dict[str, Any] = {"session_id": session_id, "error": None}
    try:
        if payout is None:
            done = run_as_admin(sessions.refund_open, session_id)
        else:
            done = run_as_admin(sessions.settle_open, session_id, payout)
    except WalletError as exc:
        return {**row, "action": "refused", "error": str(exc)}
    return {
        **row,
        "player_id": done.player_id,
        "action": "refunded" if payout is None else "settled",
        **win_units.readable_fields("amount", done.payout),
        **win_units.readable_fields("balance", done.balance),
    }


@click.command("open-sessions")
@click.option(
    "--older-than", type=Duration(), default="5m", show_default=True, help="e.g. 90s, 5m, 2h."
)
@click.option("--game", "game_type", default=None, help="Only this Upside game type.")
@output_options
@with_appcontext
def open_sessions(
    older_than: timedelta, game_type: str | None, as_json: bool, as_csv: bool
) -> None:
    """Upside sessions with a bet and no payout.

    Lists those older than --older-than. Finish them with `wallet upside sessions reconcile`.

    Example: wallet report open-sessions --older-than 1h --game dice
    """
    found = run_as_admin(history.open_sessions, older_than, game_type)
    rows = [
        {
            "session_id": s.session_id,
            "game_type": s.game_type,
            "player_id": s.player_id,
            **win_units.readable_fields("bet", s.bet),
            "created_at": s.created_at,
            "age_seconds": s.age_seconds,
        }
        for s in found
    ]
    columns = ["session_id", "game_type", "player_id", "bet", "created_at", "age_seconds"]
    show(rows, columns + (["bet_atomic"] if as_csv else []), as_json, as_csv)
