"""``wallet report …``: tables for people, ``--json`` and ``--csv`` for machines."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

import click
from flask import current_app
from flask.cli import AppGroup

from app import game_history, money, reports, win_units
from app.cli_support import Duration, emit, in_transaction, table, to_jsonable
from app.core import periods

cli = AppGroup("report", help="Reports for finance and support.")


def output_options(command: Callable[..., Any]) -> Callable[..., Any]:
    command = click.option("--csv", "as_csv", is_flag=True, help="Print CSV.")(command)
    return click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")(command)


def show(rows: list[dict[str, Any]], columns: list[str], as_json: bool, as_csv: bool) -> None:
    if as_csv:
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(to_jsonable(rows))
        click.echo(buffer.getvalue(), nl=False)
        return
    emit({"rows": rows}, as_json, text=table(rows, columns) if rows else "(no rows)")


def _amounts(rows: list[dict[str, Any]], *keys: str) -> list[dict[str, Any]]:
    for row in rows:
        for key in keys:
            if isinstance(row.get(key), Decimal):
                row[key] = money.format_amount(row[key], row["currency"])
    return rows


@cli.command("ggr")
@click.option("--from", "start", default=None, help="A date, ISO time or -7d; default today.")
@click.option("--to", "end", default=None, help="Inclusive (a date: to its end); default now.")
@click.option("--provider", default=None)
@click.option("--currency", default=None)
@output_options
def ggr(
    start: str | None,
    end: str | None,
    provider: str | None,
    currency: str | None,
    as_json: bool,
    as_csv: bool,
) -> None:
    """Bets, wins, rollbacks and GGR per provider and currency per day (LIMITS_TIMEZONE).

    Without --from and --to: today. The period used is printed (on stderr with --csv).
    """
    timezone = current_app.config["LIMITS_TIMEZONE"]
    period = periods.period(start, end, timezone, default_today=True)
    rows = in_transaction(
        reports.ggr,
        period.start,
        period.end,
        provider,
        currency.upper() if currency else None,
        timezone,
    )
    columns = [
        "day",
        "provider",
        "currency",
        "bets",
        "bet_amount",
        "wins",
        "win_amount",
        "rollbacks",
        "rollback_amount",
        "ggr",
    ]
    rows = _amounts(rows, "bet_amount", "win_amount", "rollback_amount", "ggr")
    if as_csv:
        click.echo(f"period: {period.describe()}", err=True)
        show(rows, columns, as_json, as_csv)
        return
    body = table(rows, columns) if rows else "(no rows)"
    emit(
        {"period": period.as_dict(), "rows": rows},
        as_json,
        text=f"period: {period.describe()}\n{body}",
    )


@cli.command("negative-balances")
@output_options
def negative_balances(as_json: bool, as_csv: bool) -> None:
    """Player accounts below zero (left by honoured rollbacks of wins)."""
    rows = _amounts(in_transaction(reports.negative_balances), "balance")
    show(rows, ["player_id", "currency", "balance", "blocked"], as_json, as_csv)


@cli.command("tombstones")
@click.option("--provider", default=None)
@output_options
def tombstones(provider: str | None, as_json: bool, as_csv: bool) -> None:
    """Rollbacks whose original transaction never came."""
    rows = _amounts(in_transaction(reports.tombstones, provider), "amount")
    show(
        rows,
        ["created_at", "provider", "rollback_id", "original_id", "player_id", "currency", "amount"],
        as_json,
        as_csv,
    )


@cli.command("open-sessions")
@click.option(
    "--older-than", type=Duration(), default="5m", show_default=True, help="e.g. 90s, 5m, 2h."
)
@click.option("--game", "game_type", default=None, help="Only this Upside game type.")
@output_options
def open_sessions(
    older_than: timedelta, game_type: str | None, as_json: bool, as_csv: bool
) -> None:
    """Upside sessions with a bet and no payout, older than --older-than.

    Finish them with `wallet upside sessions reconcile`.
    """
    found = in_transaction(game_history.open_sessions, older_than, game_type)
    rows = [
        {
            "session_id": s.session_id,
            "game_type": s.game_type,
            "player_id": s.player_id,
            "bet": win_units.format_units(s.bet),
            "bet_atomic": str(s.bet),
            "created_at": s.created_at,
            "age_seconds": s.age_seconds,
        }
        for s in found
    ]
    columns = ["session_id", "game_type", "player_id", "bet", "created_at", "age_seconds"]
    show(rows, columns + (["bet_atomic"] if as_csv else []), as_json, as_csv)
