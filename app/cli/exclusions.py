"""``wallet players exclude|timeout|unexclude``: self-exclusion and time-outs from the
command line (docs/player-protection.md), handed to :mod:`app.core.exclusions`."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import click
from flask.cli import with_appcontext
from sqlalchemy import Connection

from app.cli.protection import by_option, exclusion_data, exclusion_line, who
from app.cli.support import Duration, emit, fail, json_option, run_as_admin
from app.core import durations, exclusions, limits


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


@click.command("exclude")
@with_appcontext
@click.argument("player_id")
@click.option("--for", "duration", type=Duration(calendar=True), help="e.g. 180d, 6mo, 2w.")
@click.option("--until", "until", type=UntilType(), help="A day (2027-01-31) or a time.")
@click.option("--permanent", is_flag=True, help="For ever; it can never be lifted.")
@click.option("--reason", default=None)
@by_option
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
@click.option(
    "--for", "duration", type=Duration(calendar=True), required=True, help="e.g. 24h, 7d."
)
@click.option("--reason", default=None)
@by_option
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
            conn, player_id, kind, by=who(by), duration=duration, until=until, reason=reason
        )
        return exclusion_data(made, ZoneInfo(limits.timezone(conn)))

    data = run_as_admin(work)
    emit(data, as_json, text=f"{player_id}: {exclusion_line(data)}")


@click.command("unexclude")
@with_appcontext
@click.argument("player_id")
@by_option
@json_option
def players_unexclude(player_id: str, by: str | None, as_json: bool) -> None:
    """Record that PLAYER_ID may play again.

    Only once the self-exclusion has ended: refused while an exclusion or a time-out is
    in force, with the time it ends.

    Example: wallet players unexclude alice
    """

    def work(conn: Connection) -> list[dict[str, Any]]:
        zone = ZoneInfo(limits.timezone(conn))
        return [exclusion_data(e, zone) for e in exclusions.unexclude(conn, player_id, who(by))]

    reviewed = run_as_admin(work)
    text = (
        f"{player_id} may play again: {len(reviewed)} ended exclusion(s) checked"
        if reviewed
        else f"{player_id} has no ended exclusion to check; nothing recorded"
    )
    emit({"player_id": player_id, "reviewed": reviewed}, as_json, text=text)
