"""What the finance commands share: one snapshot of the books, and the moments and
periods people type (``--from``, ``--to``, ``--as-of``, ``--at``) read in
``LIMITS_TIMEZONE``."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from flask import current_app
from sqlalchemy import Connection, text

from app.cli.support import read_only_database
from app.core import periods
from app.errors import InvalidRequest

# A finance command is one session doing a few large sorts and hashes: 256 MB each keeps
# a million-row reconciliation and the player-funds report out of temporary files.
FINANCE_WORK_MEM = "256MB"


@contextlib.contextmanager
def books(replica: bool = False) -> Iterator[Connection]:
    """One REPEATABLE READ transaction without the web's short timeouts, and with room
    to sort and hash a million rows in memory (``FINANCE_WORK_MEM``). ``replica``: on
    ``DATABASE_REPLICA_URL``'s replica when set (work that writes nothing, not even a
    temporary table)."""
    database = read_only_database() if replica else current_app.extensions["wallet.db"]
    with database.unit_of_work() as uow:
        uow.conn.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ"))
        uow.conn.execute(text("SET LOCAL statement_timeout = 0"))
        uow.conn.execute(text("SET LOCAL lock_timeout = '30s'"))
        uow.conn.execute(text(f"SET LOCAL work_mem = '{FINANCE_WORK_MEM}'"))
        yield uow.conn
        uow.commit()


def timezone() -> str:
    """The reporting time zone: ``LIMITS_TIMEZONE``, the limits' calendar too."""
    return str(current_app.config.get("LIMITS_TIMEZONE") or "UTC")


def read_moment(option: str, value: str) -> periods.Moment:
    """``value`` as a moment (:func:`app.core.periods.parse`); an error names ``option``."""
    try:
        return periods.parse(value, periods.zone(timezone()))
    except InvalidRequest as exc:
        raise InvalidRequest(f"{option}: {exc}") from None


def read_period(start: str | None, end: str | None, default_today: bool) -> periods.Period:
    """``--from`` and ``--to`` as a period; an error names the option that is wrong."""
    for option, value in (("--from", start), ("--to", end)):
        if value is not None:
            read_moment(option, value)  # says which option is wrong
    return periods.period(start, end, timezone(), default_today=default_today)
