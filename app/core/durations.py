"""Durations as people write them in the CLI and the settings: ``30m``, ``24h``, ``180d``,
``2w``, ``6mo`` (``m`` is minutes, ``mo`` months), or ``0``.

Months are calendar months, so a duration is kept as months, days and seconds, the way
PostgreSQL's ``interval`` keeps it, and added to a time by the database (``at + interval``)
rather than in Python.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

from app.errors import InvalidRequest

_PATTERN = re.compile(r"(\d{1,6})(mo|m|h|d|w)")
_SECONDS = {"m": 60, "h": 3600}
_DAYS = {"d": 1, "w": 7}


@dataclass(frozen=True)
class Duration:
    months: int = 0
    days: int = 0
    seconds: int = 0
    text: str = "0"

    @property
    def is_zero(self) -> bool:
        return not (self.months or self.days or self.seconds)

    def timedelta(self) -> timedelta:
        """As a ``timedelta``; a duration in months has none (they differ in length)."""
        if self.months:
            raise InvalidRequest(f"{self.text}: give this duration in d, h or m, not months")
        return timedelta(days=self.days, seconds=self.seconds)

    def sql_parameters(self) -> dict[str, int]:
        """For ``make_interval(months => :months, days => :days, secs => :seconds)``."""
        return {"months": self.months, "days": self.days, "seconds": self.seconds}

    def __str__(self) -> str:
        return self.text


def parse(raw: str) -> Duration:
    """``"24h"`` → Duration(seconds=86400); an unknown unit says which units there are."""
    text = raw.strip()
    if text == "0":
        return Duration()
    match = _PATTERN.fullmatch(text)
    if match is None:
        raise InvalidRequest(
            f"{raw!r} is not a duration: use a whole number and m (minutes), h, d, w or mo "
            "(months), e.g. 30m, 24h, 180d, 6mo"
        )
    count, unit = int(match.group(1)), match.group(2)
    if unit == "mo":
        return Duration(months=count, text=text)
    if unit in _DAYS:
        return Duration(days=count * _DAYS[unit], text=text)
    return Duration(seconds=count * _SECONDS[unit], text=text)
