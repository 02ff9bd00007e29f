"""What the player-protection commands share (:mod:`app.cli.limits`,
:mod:`app.cli.exclusions`): who asks for a change, and times, amounts and exclusions as
printed, times in ``LIMITS_TIMEZONE``."""

from __future__ import annotations

import getpass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import click

from app.core import exclusions, money


def by_option(command: Any) -> Any:
    """``--by WHO``: recorded with each change."""
    return click.option(
        "--by", "by", default=None, help="Who asks for the change (default: your OS user)."
    )(command)


def who(by: str | None) -> str:
    """Who asks: ``--by``, else the OS user."""
    if by:
        return by
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def exclusion_data(exclusion: exclusions.Exclusion, zone: ZoneInfo) -> dict[str, Any]:
    """An exclusion or time-out as ``--json`` prints it, times in ``zone``."""
    return {
        "id": exclusion.id,
        "kind": exclusion.kind,
        "starts_at": at(exclusion.starts_at, zone),
        "ends_at": None if exclusion.ends_at is None else at(exclusion.ends_at, zone),
        "permanent": exclusion.permanent,
        "reason": exclusion.reason,
        "by": exclusion.created_by,
        "reviewed_at": None if exclusion.reviewed_at is None else at(exclusion.reviewed_at, zone),
        "reviewed_by": exclusion.reviewed_by,
    }


def exclusion_line(exclusion: dict[str, Any]) -> str:
    """:func:`exclusion_data` as one line for people."""
    what = "time-out" if exclusion["kind"] == exclusions.TIMEOUT else "self-exclusion"
    end = "permanently" if exclusion["permanent"] else f"until {exclusion['ends_at']}"
    return f"{what} from {exclusion['starts_at']} {end}"


def amount_text(value: Any, currency: str) -> str | None:
    return None if value is None else money.format_amount(value, currency)


def at(moment: datetime, zone: ZoneInfo) -> str:
    """ISO 8601 in ``zone`` (the limits' calendar)."""
    return moment.astimezone(zone).isoformat()
