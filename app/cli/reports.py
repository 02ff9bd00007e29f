"""``wallet report …``: tables for people, ``--json`` and ``--csv`` for machines.

A provider adds its own reports to this group through its registry entry's ``reports``
(Upside: ``open-sessions``)."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import click
from flask import current_app
from flask.cli import AppGroup

from app.cli.support import csv_table, emit, read_only, table
from app.core import money, periods, reports


# Every report reads DATABASE_REPLICA_URL's replica when it is set (support.read_only).
class Reports(AppGroup):
    """The wallet's reports and each provider's (its registry entry's ``reports``), added
    once the group is used: provider packages import this module for its helpers."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        self._add_provider_reports()
        return super().list_commands(ctx)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        self._add_provider_reports()
        return super().get_command(ctx, cmd_name)

    def _add_provider_reports(self) -> None:
        from app.cli.finance import player_funds
        from app.cli.limits import limits_hit
        from app.providers import PROVIDERS

        self.add_command(limits_hit)
        self.add_command(player_funds)
        for provider in PROVIDERS:
            for report in provider.reports:
                self.add_command(report)


cli = Reports(
    "report",
    help="Reports for finance and support.\n\nExample: wallet report ggr --from 2026-11-01 "
    "--to 2026-11-30",
)


def output_options(command: Callable[..., Any]) -> Callable[..., Any]:
    command = click.option("--csv", "as_csv", is_flag=True, help="Print CSV.")(command)
    return click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")(command)


def show(
    rows: list[dict[str, Any]],
    columns: list[str],
    as_json: bool,
    as_csv: bool,
    amounts: tuple[str, ...] = (),
) -> None:
    """CSV, one JSON document, or a table (``amounts``: columns holding an amount in the
    row's ``currency``, see :func:`app.cli.support.shown`)."""
    if as_csv:
        click.echo(csv_table(rows, columns), nl=False)
        return
    text = table(rows, columns, amounts) if rows else "(no rows)"
    emit({"rows": rows}, as_json, text=text)


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
    """Bets, wins, rollbacks and GGR per day.

    One row per day (in LIMITS_TIMEZONE), provider and currency. Without --from and
    --to: today. The period used is printed (on stderr with --csv).

    Example: wallet report ggr --from 2026-11-01 --to 2026-11-30 --csv
    """
    timezone = current_app.config["LIMITS_TIMEZONE"]
    period = periods.period(start, end, timezone, default_today=True)
    code = currency.upper() if currency else None
    rows = read_only(reports.ggr, period.start, period.end, provider, code, timezone)
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
    amounts = ("bet_amount", "win_amount", "rollback_amount", "ggr")
    rows = _amounts(rows, *amounts)
    if as_csv:
        click.echo(f"period: {period.describe()}", err=True)
        show(rows, columns, as_json, as_csv, amounts)
        return
    body = table(rows, columns, amounts=amounts) if rows else "(no rows)"
    emit(
        {"period": period.as_dict(), "rows": rows},
        as_json,
        text=f"period: {period.describe()}\n{body}",
    )


@cli.command("negative-balances")
@output_options
def negative_balances(as_json: bool, as_csv: bool) -> None:
    """Player accounts below zero.

    Left by honoured rollbacks of wins.

    Example: wallet report negative-balances --json
    """
    rows = _amounts(read_only(reports.negative_balances), "balance")
    show(rows, ["player_id", "currency", "balance", "blocked"], as_json, as_csv, ("balance",))


@cli.command("tombstones")
@click.option("--provider", default=None)
@output_options
def tombstones(provider: str | None, as_json: bool, as_csv: bool) -> None:
    """Rollbacks whose original transaction never came.

    Example: wallet report tombstones --provider igpx
    """
    rows = _amounts(read_only(reports.tombstones, provider), "amount")
    columns = ["created_at", "provider", "rollback_id", "original_id", "player_id", "currency"]
    show(rows, [*columns, "amount"], as_json, as_csv, ("amount",))
