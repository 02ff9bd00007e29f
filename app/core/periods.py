"""Moments and periods as a person types them, for the finance commands.

A moment ``T`` is one of:

* a date, ``2026-11-30``: that day in the reporting time zone (``LIMITS_TIMEZONE``);
  as the start of a period it means the day's first instant, as an end (``--to``,
  ``--as-of``) the end of that day, so ``--from 2026-11-01 --to 2026-11-30`` is all of
  November and ``--as-of 2026-11-30`` is the close of November;
* an ISO 8601 timestamp, ``2026-11-30T23:59:59+01:00`` (``Z`` for UTC; one without an
  offset is read in the reporting time zone); as an end it is included;
* relative to now: ``-7d``, ``-12h``, ``-30m``, ``-90s``, ``-2w``; or ``now``, ``today``,
  ``yesterday`` (dates, as above).

Every period is half-open, ``start <= created_at < end``; an ``end`` of None means
"everything committed so far", which is what ``now`` and an absent ``--to`` mean.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from app.errors import InvalidRequest

RESOLUTION = timedelta(microseconds=1)  # PostgreSQL's timestamptz resolution
_RELATIVE = re.compile(r"-(\d{1,6})([smhdw])")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


class InvalidMoment(InvalidRequest):
    """A moment that is none of the accepted forms."""


def zone(name: str | None) -> ZoneInfo:
    """The reporting time zone; ``UTC`` when unset."""
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidRequest(f"unknown time zone {name!r}") from None


@dataclass(frozen=True)
class Moment:
    """A parsed ``T``: where a period starting at it starts, where one ending at it ends."""

    text: str
    start: datetime
    end: datetime | None  # exclusive; None: up to now, everything committed


def parse(text: str, tz: tzinfo, now: datetime | None = None) -> Moment:
    """Read ``T`` (see the module's docstring); raise InvalidMoment saying what is accepted."""
    now = now or datetime.now(UTC)
    raw = text.strip()
    lowered = raw.lower()
    if lowered == "now":
        return Moment(raw, now, None)
    if lowered in ("today", "yesterday"):
        day = now.astimezone(tz).date() - timedelta(days=lowered == "yesterday")
        return _day(raw, day, tz)
    relative = _RELATIVE.fullmatch(lowered)
    if relative:
        at = now - timedelta(**{_UNITS[relative.group(2)]: int(relative.group(1))})
        return Moment(raw, at, at + RESOLUTION)
    if _DATE.fullmatch(raw):
        try:
            return _day(raw, date.fromisoformat(raw), tz)
        except ValueError:
            pass
    else:
        stamp = _timestamp(raw, tz)
        if stamp is not None:
            return Moment(raw, stamp, stamp + RESOLUTION)
    raise InvalidMoment(
        f"{text!r} is not a moment: use a date (2026-11-30), an ISO timestamp with offset "
        "(2026-11-30T23:00:00+00:00) or a relative time (-7d, -12h, now, today)"
    )


def _timestamp(raw: str, tz: tzinfo) -> datetime | None:
    try:
        at = datetime.fromisoformat(raw)
    except ValueError:
        return None
    return (at if at.tzinfo else at.replace(tzinfo=tz)).astimezone(UTC)


def _day(raw: str, day: date, tz: tzinfo) -> Moment:
    return Moment(raw, start_of(day, tz), start_of(day + timedelta(days=1), tz))


def start_of(day: date, tz: tzinfo) -> datetime:
    """The first instant of ``day`` in ``tz``, in UTC (DST-safe: midnight exists or the
    zone's own rules move it)."""
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)


@dataclass(frozen=True)
class Period:
    """``start <= t < end``; ``end`` None is open (up to now). ``default`` says the
    period was not typed but chosen (today)."""

    start: datetime | None
    end: datetime | None
    timezone: str
    default: bool = False

    def describe(self) -> str:
        start = self.start.isoformat() if self.start else "the beginning"
        end = self.end.isoformat() if self.end else "now"
        note = ", today by default" if self.default else ""
        return f"{start} to {end} ({self.timezone}{note})"

    def as_dict(self) -> dict[str, object]:
        return {
            "from": self.start,
            "to": self.end,
            "timezone": self.timezone,
            "default": self.default,
        }


def period(
    start: str | None,
    end: str | None,
    tz_name: str | None,
    *,
    default_today: bool,
    now: datetime | None = None,
) -> Period:
    """The period of ``--from``/``--to``. Neither given: today in the reporting zone when
    ``default_today``, else everything; only ``--to``: from the beginning; only
    ``--from``: up to now."""
    tz = zone(tz_name)
    name = tz_name or "UTC"
    now = now or datetime.now(UTC)
    if start is None and end is None and default_today:
        today = _day("today", now.astimezone(tz).date(), tz)
        return Period(today.start, today.end, name, default=True)
    first = parse(start, tz, now).start if start is not None else None
    last = parse(end, tz, now).end if end is not None else None
    if first is not None and last is not None and last <= first:
        raise InvalidRequest("--to is not after --from: the period is empty")
    return Period(first, last, name)
