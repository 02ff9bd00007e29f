"""``wallet limits …`` and ``wallet report limits-hit``: player protection limits from
the command line (docs/player-protection.md); self-exclusion and time-outs are in
:mod:`app.cli.exclusions`.

Arguments are parsed here and handed to ``app.core.limits``; times are printed in
``LIMITS_TIMEZONE``, the calendar the limits follow.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import click
from flask import current_app
from flask.cli import AppGroup, with_appcontext
from sqlalchemy import Connection, create_engine
from sqlalchemy.pool import NullPool

from app.cli import reports as report_commands
from app.cli.protection import amount_text, at, by_option, exclusion_data, exclusion_line, who
from app.cli.support import emit, fail, json_option, run_as_admin
from app.core import exclusions, limits, money
from app.db import sqlalchemy_url

cli = AppGroup(
    "limits",
    help="Loss, wager and deposit limits (player protection).\n\n"
    "Example: wallet limits show alice --currency USD",
)


def store_timezone(owner_url: str, zone: str) -> None:
    """``wallet db upgrade``: make ``LIMITS_TIMEZONE`` the calendar of every limit."""
    engine = create_engine(sqlalchemy_url(owner_url), poolclass=NullPool)
    try:
        with engine.begin() as conn:
            limits.store_timezone(conn, zone)
    finally:
        engine.dispose()


# --- wallet limits ------------------------------------------------------------------------

_SPECS = {
    "loss": "Net loss (stakes − wins) per period, e.g. 50/day. Repeatable.",
    "wager": "Stakes per period, e.g. 500/week. Repeatable.",
    "deposit": "Deposits per period, e.g. 1000/month. Repeatable.",
}


def _kind_options(help_texts: dict[str, str], metavar: str) -> Any:
    def decorate(command: Any) -> Any:
        for kind, help_text in reversed(help_texts.items()):
            option = click.option(f"--{kind}", kind, multiple=True, metavar=metavar, help=help_text)
            command = option(command)
        return command

    return decorate


@cli.command("set")
@click.argument("player_id")
@click.option("--currency", required=True)
@_kind_options(_SPECS, "AMOUNT/PERIOD")
@by_option
@json_option
def limits_set(
    player_id: str,
    currency: str,
    loss: tuple[str, ...],
    wager: tuple[str, ...],
    deposit: tuple[str, ...],
    by: str | None,
    as_json: bool,
) -> None:
    """Set limits on PLAYER_ID's CURRENCY wallet.

    A new limit or a decrease applies at once, an increase after LIMIT_INCREASE_DELAY.

    Example: wallet limits set alice --currency USD --loss 50/day
    """
    code = currency.upper()
    asked = {"loss": loss, "wager": wager, "deposit": deposit}
    wanted = [limits.parse(kind, raw, code) for kind, raws in asked.items() for raw in raws]
    if not wanted:
        fail("give at least one of --loss, --wager, --deposit (e.g. --loss 50/day)")
    delay = current_app.config["LIMIT_INCREASE_DELAY"]
    changes = run_as_admin(limits.set_limits, player_id, code, wanted, who(by), delay)
    _print_changes(player_id, code, changes, as_json)


@cli.command("remove")
@click.argument("player_id")
@click.option("--currency", required=True)
@_kind_options({kind: f"Remove the {kind} limit of PERIOD." for kind in _SPECS}, "PERIOD")
@by_option
@json_option
def limits_remove(
    player_id: str,
    currency: str,
    loss: tuple[str, ...],
    wager: tuple[str, ...],
    deposit: tuple[str, ...],
    by: str | None,
    as_json: bool,
) -> None:
    """Remove limits from PLAYER_ID's CURRENCY wallet.

    The removal applies after LIMIT_INCREASE_DELAY.

    Example: wallet limits remove alice --currency USD --loss day
    """
    code = currency.upper()
    asked = {"loss": loss, "wager": wager, "deposit": deposit}
    targets = [
        (kind, limits.check_period(kind, period))
        for kind, periods in asked.items()
        for period in periods
    ]
    if not targets:
        fail("give at least one of --loss, --wager, --deposit with a period (e.g. --loss day)")
    delay = current_app.config["LIMIT_INCREASE_DELAY"]
    changes = run_as_admin(limits.remove_limits, player_id, code, targets, who(by), delay)
    _print_changes(player_id, code, changes, as_json)


@cli.command("show")
@click.argument("player_id")
@click.option("--currency", default=None)
@json_option
def limits_show(player_id: str, currency: str | None, as_json: bool) -> None:
    """Show PLAYER_ID's limits.

    Each limit's amount, period, use in the current period, what remains, and any
    pending change with the time it takes effect.

    Example: wallet limits show alice --currency USD --json
    """
    data = run_as_admin(_show, player_id, currency.upper() if currency else None)
    lines = [f"{player_id} (periods in {data['timezone']})"]
    lines += [_limit_line(view) for view in data["limits"]] or ["  no limits"]
    if data["exclusion"]:
        lines.append(f"  {exclusion_line(data['exclusion'])}")
    emit(data, as_json, text="\n".join(lines))


def _show(conn: Connection, player_id: str, currency: str | None) -> dict[str, Any]:
    zone = ZoneInfo(limits.timezone(conn))
    views = limits.show(conn, player_id, currency)
    current = exclusions.in_force(conn, player_id)
    return {
        "player_id": player_id,
        "timezone": zone.key,
        "limits": [_view(view, zone) for view in views],
        "exclusion": exclusion_data(current[0], zone) if current else None,
    }


def _view(view: limits.LimitView, zone: ZoneInfo) -> dict[str, Any]:
    cur = view.currency
    pending = None
    if view.pending_at is not None:
        amount = (
            None if view.pending_amount is None else money.format_amount(view.pending_amount, cur)
        )
        pending = {
            "action": view.pending_action,
            "amount": amount,
            "effective_at": at(view.pending_at, zone),
        }
    return {
        "currency": cur,
        "kind": view.kind,
        "period": view.period,
        "amount": money.format_amount(view.amount, cur),
        "used": money.format_amount(view.used, cur),
        "remaining": money.format_amount(view.remaining, cur),
        "period_start": at(view.period_start, zone),
        "period_end": at(view.period_end, zone),
        "pending": pending,
    }


def _limit_line(view: dict[str, Any]) -> str:
    line = (
        f"  {view['kind']}/{view['period']}: {view['amount']} {view['currency']}, "
        f"used {view['used']}, remaining {view['remaining']}"
    )
    pending = view["pending"]
    if pending:
        change = "removal" if pending["action"] == "remove" else f"increase to {pending['amount']}"
        line += f" ({change} pending until {pending['effective_at']})"
    return line


@cli.command("history")
@click.argument("player_id")
@click.option("--currency", default=None)
@json_option
def limits_history(player_id: str, currency: str | None, as_json: bool) -> None:
    """Show every change of PLAYER_ID's limits.

    With each change's time, old and new value and who made it, and the player's
    exclusions and time-outs.

    Example: wallet limits history alice --json
    """
    data = run_as_admin(_history, player_id, currency.upper() if currency else None)
    lines = [_change_line(change) for change in data["changes"]]
    lines += [exclusion_line(exclusion) for exclusion in data["exclusions"]]
    emit(data, as_json, text="\n".join(lines) or f"{player_id}: no changes")


def _history(conn: Connection, player_id: str, currency: str | None) -> dict[str, Any]:
    zone = ZoneInfo(limits.timezone(conn))
    changes = [
        {
            "at": at(row["requested_at"], zone),
            "currency": row["currency"],
            "kind": row["kind"],
            "period": row["period"],
            "action": row["action"],
            "old": amount_text(row["old_amount"], row["currency"]),
            "new": amount_text(row["new_amount"], row["currency"]),
            "effective_at": at(row["effective_at"], zone),
            "by": row["changed_by"],
            "note": row["note"],
        }
        for row in limits.history(conn, player_id, currency)
    ]
    found = exclusions.history(conn, player_id)
    return {
        "player_id": player_id,
        "changes": changes,
        "exclusions": [exclusion_data(exclusion, zone) for exclusion in found],
    }


def _change_line(change: dict[str, Any]) -> str:
    old, new = change["old"] or "none", change["new"] or "none"
    line = (
        f"{change['at']}  {change['currency']} {change['kind']}/{change['period']} "
        f"{change['action']}: {old} -> {new}, in force from {change['effective_at']} "
        f"(by {change['by']})"
    )
    return line + (f"; {change['note']}" if change["note"] else "")


def _print_changes(
    player_id: str, currency: str, changes: list[limits.Change], as_json: bool
) -> None:
    rows = [
        {
            "currency": change.currency,
            "kind": change.kind,
            "period": change.period,
            "action": change.action,
            "old": amount_text(change.old, currency),
            "new": amount_text(change.new, currency),
            "effective_at": change.effective_at.isoformat(),
            "pending": change.pending,
            "note": change.note,
        }
        for change in changes
    ]
    lines = [
        f"{row['kind']}/{row['period']} {row['action']}: {_shown(row['old'], currency)} -> "
        f"{_shown(row['new'], currency)}, "
        + (f"pending until {row['effective_at']}" if row["pending"] else "in force now")
        + (f"; {row['note']}" if row["note"] else "")
        for row in rows
    ]
    emit({"player_id": player_id, "changes": rows}, as_json, text="\n".join(lines))


# --- wallet report limits-hit -------------------------------------------------------------

DATE = click.DateTime(formats=["%Y-%m-%d"])


@click.command("limits-hit")
@with_appcontext
@click.option("--from", "start", type=DATE, required=True, help="First day, YYYY-MM-DD.")
@click.option("--to", "end", type=DATE, required=True, help="Last day, inclusive.")
@click.option("--csv", "as_csv", is_flag=True, help="Print CSV.")
@json_option
def limits_hit(start: datetime, end: datetime, as_json: bool, as_csv: bool) -> None:
    """Bets and deposits declined by a limit or an exclusion.

    Days are counted in LIMITS_TIMEZONE.

    Example: wallet report limits-hit --from 2026-11-01 --to 2026-11-30 --json
    """
    if end < start:
        fail("--to is before --from")
    rows = run_as_admin(limits.limits_hit, start.date(), end.date())
    for row in rows:
        for key in ("amount", "remaining"):
            row[key] = amount_text(row[key], row["currency"])
    columns = ["created_at", "provider", "external_id", "kind", "player_id", "currency"]
    columns += ["amount", "reason", "limit", "remaining"]
    report_commands.show(rows, columns, as_json, as_csv)


def _shown(amount: Any, currency: str) -> str:
    return f"{amount} {currency}" if amount else "none"
