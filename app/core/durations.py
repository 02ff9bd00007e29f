"""Durations as people write them in the CLI and the settings: ``90s``, ``30m``, ``24h``,
``180d``, ``2w``, ``6mo`` (``m`` is minutes, ``mo`` months), or a bare number of seconds
(``0``). This is the one grammar: every command option and setting that takes a duration
reads it here (the CLI through :class:`app.cli.support.Duration`).

Months are calendar months, so a duration is kept as months, days and seconds, the way
PostgreSQL's ``interval`` keeps it, and added to a time by the database (``at + interval``)
rather than in Python. Where a command needs a ``timedelta`` (an age, an expiry) a month
is :data:`MONTH_DAYS` days (:meth:`Duration.approximate`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

from app.errors import InvalidRequest

_PATTERN = re.compile(r"(\d{1,6})(mo|[smhdw]?)")
_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600}
_DAYS = {"d": 1, "w": 7}
MONTH_DAYS = 30


@dataclass(frozen=True)
class Duration:
    months: int = 0
    days: int = 0
    seconds: int = 0
    text: str = "0"

    @property
    def is_zero(self) -> bool:
        return not (self.months or self.days or self.seconds)

    def approximate(self) -> timedelta:
        """As a ``timedelta`` where a month is :data:`MONTH_DAYS` days."""
        return timedelta(days=self.months * MONTH_DAYS + self.days, seconds=self.seconds)

    def timedelta(self) -> timedelta:
        """As a ``timedelta``; a duration in months has none (they differ in length)."""
        if self.months:
            raise InvalidRequest(f"{self.text}: give this duration in s, m, h, d or w, not months")
        return timedelta(days=self.days, seconds=self.seconds)

    def sql_parameters(self) -> dict[str, int]:
        """For ``make_interval(months => :months, days => :days, secs => :seconds)``."""
        return {"months": self.months, "days": self.days, "seconds": self.seconds}

    def __str__(self) -> str:
        return self.text


def parse(raw: str) -> Duration:
    """``"24h"`` → Duration(seconds=86400); anything else says which units there are."""
    text = raw.strip()
    match = _PATTERN.fullmatch(text)
    if match is None:
        raise InvalidRequest(
            f"{raw!r} is not a duration like 90s, 5m, 2h, 1d, 2w or 3mo (a whole number and "
            "s, m for minutes, h, d, w or mo for months; a bare number is seconds)"
        )
    count, unit = int(match.group(1)), match.group(2)
    if unit == "mo":
        return Duration(months=count, text=text)
    if unit in _DAYS:
        return Duration(days=count * _DAYS[unit], text=text)
    return Duration(seconds=count * _SECONDS[unit], text=text)
