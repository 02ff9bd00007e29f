"""``wallet limits …``, ``wallet players exclude|timeout|unexclude`` and
``wallet report limits-hit``: player protection from the command line (docs/player-protection.md).

Arguments are parsed here and handed to ``app.core.limits`` and ``app.core.exclusions``;
times are printed in ``LIMITS_TIMEZONE``, the calendar the limits follow.
"""

from __future__ import annotations

import getpass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import click
from flask import current_app
from flask.cli import AppGroup, with_appcontext
from sqlalchemy import Connection, create_engine
from sqlalchemy.pool import NullPool

from app.cli import reports as report_commands
from app.cli.support import emit, fail, json_option, run_as_admin
from app.core import durations, exclusions, limits, money
from app.db import sqlalchemy_url
from app.errors import InvalidRequest

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


class DurationType(click.ParamType):
    """``30m``, ``24h``, ``180d``, ``2w``, ``6mo`` (``m`` minutes, ``mo`` months)."""

    name = "duration"

    def convert(self, value: Any, param: Any, ctx: Any) -> durations.Duration:
        if isinstance(value, durations.Duration):
            return value
        try:
            return durations.parse(str(value))
        except InvalidRequest as exc:
            self.fail(str(exc), param, ctx)


class UntilType(click.ParamType):
    """A day (``2027-01-31``: from its midnight in ``LIMITS_TIMEZONE``) or a moment with
    its zone (``2027-01-31T18:00:00+01:00``)."""

    name = "date"

    def convert(self, value: Any, param: Any, ctx: Any) -> date | datetime:
        raw = str(value).strip()
        try:
            if len(raw) == 10:
                return date.fromisoformat(raw)
            moment = datetime.fromisoformat(raw)
        except ValueError:
            moment = None
        if moment is None or moment.tzinfo is None:
            self.fail(f"{raw!r}: give a day (2027-01-31) or a time with its zone", param, ctx)
        return moment


def _by_option(command: Any) -> Any:
    return click.option(
        "--by", "by", default=None, help="Who asks for the change (default: your OS user)."
    )(command)


def _who(by: str | None) -> str:
    if by:
        return by
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


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
@_by_option
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
    changes = run_as_admin(limits.set_limits, player_id, code, wanted, _who(by), delay)
    _print_changes(player_id, code, changes, as_json)


@cli.command("remove")
@click.argument("player_id")
@click.option("--currency", required=True)
@_kind_options({kind: f"Remove the {kind} limit of PERIOD." for kind in _SPECS}, "PERIOD")
@_by_option
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
    changes = run_as_admin(limits.remove_limits, player_id, code, targets, _who(by), delay)
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
        lines.append(f"  {_exclusion_line(data['exclusion'])}")
    emit(data, as_json, text="\n".join(lines))


def _show(conn: Connection, player_id: str, currency: str | None) -> dict[str, Any]:
    zone = ZoneInfo(limits.timezone(conn))
    views = limits.show(conn, player_id, currency)
    current = exclusions.in_force(conn, player_id)
    return {
        "player_id": player_id,
        "timezone": zone.key,
        "limits": [_view(view, zone) for view in views],
        "exclusion": _exclusion(current[0], zone) if current else None,
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
            "effective_at": _at(view.pending_at, zone),
        }
    return {
        "currency": cur,
        "kind": view.kind,
        "period": view.period,
        "amount": money.format_amount(view.amount, cur),
        "used": money.format_amount(view.used, cur),
        "remaining": money.format_amount(view.remaining, cur),
        "period_start": _at(view.period_start, zone),
        "period_end": _at(view.period_end, zone),
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
    lines += [_exclusion_line(exclusion) for exclusion in data["exclusions"]]
    emit(data, as_json, text="\n".join(lines) or f"{player_id}: no changes")


def _history(conn: Connection, player_id: str, currency: str | None) -> dict[str, Any]:
    zone = ZoneInfo(limits.timezone(conn))
    changes = [
        {
            "at": _at(row["requested_at"], zone),
            "currency": row["currency"],
            "kind": row["kind"],
            "period": row["period"],
            "action": row["action"],
            "old": _amount(row["old_amount"], row["currency"]),
            "new": _amount(row["new_amount"], row["currency"]),
            "effective_at": _at(row["effective_at"], zone),
            "by": row["changed_by"],
            "note": row["note"],
        }
        for row in limits.history(conn, player_id, currency)
    ]
    found = exclusions.history(conn, player_id)
    return {
        "player_id": player_id,
        "changes": changes,
        "exclusions": [_exclusion(exclusion, zone) for exclusion in found],
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
            "old": _amount(change.old, currency),
            "new": _amount(change.new, currency),
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


# --- wallet players exclude | timeout | unexclude -----------------------------------------


@click.command("exclude")
@with_appcontext
@click.argument("player_id")
@click.option("--for", "duration", type=DurationType(), help="e.g. 180d, 6mo, 2w.")
@click.option("--until", "until", type=UntilType(), help="A day (2027-01-31) or a time.")
@click.option("--permanent", is_flag=True, help="For ever; it can never be lifted.")
@click.option("--reason", default=None)
@_by_option
@json_option
def players_exclude(
    player_id: str,
    duration: durations.Duration | None,
    until: date | datetime | None,
    permanent: bool,
    reason: str | None,
    by: str | None,
    as_json: bool,
) -> None:
    """Self-exclude PLAYER_ID.

    No bets or deposits until the end; it cannot be lifted early.

    Example: wallet players exclude alice --for 180d
    """
    if sum(given is not None and given is not False for given in (duration, until, permanent)) != 1:
        fail("give exactly one of --for DURATION, --until DATE, --permanent")
    _exclude(player_id, exclusions.EXCLUSION, duration, until, reason, by, as_json)


@click.command("timeout")
@with_appcontext
@click.argument("player_id")
@click.option("--for", "duration", type=DurationType(), required=True, help="e.g. 24h, 7d.")
@click.option("--reason", default=None)
@_by_option
@json_option
def players_timeout(
    player_id: str,
    duration: durations.Duration,
    reason: str | None,
    by: str | None,
    as_json: bool,
) -> None:
    """Give PLAYER_ID a time-out.

    No bets or deposits for the duration; it ends by itself.

    Example: wallet players timeout alice --for 24h
    """
    _exclude(player_id, exclusions.TIMEOUT, duration, None, reason, by, as_json)


def _exclude(
    player_id: str,
    kind: str,
    duration: durations.Duration | None,
    until: date | datetime | None,
    reason: str | None,
    by: str | None,
    as_json: bool,
) -> None:
    def work(conn: Connection) -> dict[str, Any]:
        made = exclusions.exclude(
            conn, player_id, kind, by=_who(by), duration=duration, until=until, reason=reason
        )
        return _exclusion(made, ZoneInfo(limits.timezone(conn)))

    data = run_as_admin(work)
    emit(data, as_json, text=f"{player_id}: {_exclusion_line(data)}")


@click.command("unexclude")
@with_appcontext
@click.argument("player_id")
@_by_option
@json_option
def players_unexclude(player_id: str, by: str | None, as_json: bool) -> None:
    """Record that PLAYER_ID may play again.

    Only once the self-exclusion has ended: refused while an exclusion or a time-out is
    in force, with the time it ends.

    Example: wallet players unexclude alice
    """

    def work(conn: Connection) -> list[dict[str, Any]]:
        zone = ZoneInfo(limits.timezone(conn))
        return [_exclusion(e, zone) for e in exclusions.unexclude(conn, player_id, _who(by))]

    reviewed = run_as_admin(work)
    text = (
        f"{player_id} may play again: {len(reviewed)} ended exclusion(s) checked"
        if reviewed
        else f"{player_id} has no ended exclusion to check; nothing recorded"
    )
    emit({"player_id": player_id, "reviewed": reviewed}, as_json, text=text)


def _exclusion(exclusion: exclusions.Exclusion, zone: ZoneInfo) -> dict[str, Any]:
    return {
        "id": exclusion.id,
        "kind": exclusion.kind,
        "starts_at": _at(exclusion.starts_at, zone),
        "ends_at": None if exclusion.ends_at is None else _at(exclusion.ends_at, zone),
        "permanent": exclusion.permanent,
        "reason": exclusion.reason,
        "by": exclusion.created_by,
        "reviewed_at": None if exclusion.reviewed_at is None else _at(exclusion.reviewed_at, zone),
        "reviewed_by": exclusion.reviewed_by,
    }


def _exclusion_line(exclusion: dict[str, Any]) -> str:
    what = "time-out" if exclusion["kind"] == exclusions.TIMEOUT else "self-exclusion"
    end = "permanently" if exclusion["permanent"] else f"until {exclusion['ends_at']}"
    return f"{what} from {exclusion['starts_at']} {end}"


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
            row[key] = _amount(row[key], row["currency"])
    columns = ["created_at", "provider", "external_id", "kind", "player_id", "currency"]
    columns += ["amount", "reason", "limit", "remaining"]
    report_commands.show(rows, columns, as_json, as_csv)


def _shown(amount: Any, currency: str) -> str:
    return f"{amount} {currency}" if amount else "none"


def _amount(value: Any, currency: str) -> str | None:
    return None if value is None else money.format_amount(value, currency)


def _at(moment: datetime, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).isoformat()
