"""Helpers every CLI command shares: one transaction, JSON or text output, one-line failures."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import click
from flask import current_app
from sqlalchemy import text

from app.core import durations, money
from app.db import Database, make_engine
from app.errors import InvalidAmount, InvalidRequest

if TYPE_CHECKING:
    from app.providers.registry import Provider

T = TypeVar("T")


def run_as_admin(work: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run ``work(conn, …)`` in one committed unit of work with an admin's patience: no
    statement timeout and 30 s for a lock, where a callback has its short budget."""
    with current_app.extensions["wallet.db"].unit_of_work() as uow:
        uow.conn.execute(text("SET LOCAL statement_timeout = 0"))
        uow.conn.execute(text("SET LOCAL lock_timeout = '30s'"))
        result = work(uow.conn, *args, **kwargs)
        uow.commit()
    return result


def read_only_database() -> Database:
    """Where heavy read-only work goes (reports, statements, exports, reconciliation): the
    replica of ``DATABASE_REPLICA_URL`` when it is set, else the primary.

    A replica lags the primary (by up to seconds) and may be missing what the primary
    committed last, so it never serves a balance a callback answers with or anything a
    money decision rests on: those read the primary, through :func:`run_as_admin` and
    the providers' adapters. Its connections have no statement or lock timeout."""
    database: Database | None = current_app.extensions.get(_READ_ONLY)
    if database is None:
        url = current_app.config.get("DATABASE_REPLICA_URL")
        database = (
            Database(make_engine(url, pool_size=1)) if url else current_app.extensions["wallet.db"]
        )
        current_app.extensions[_READ_ONLY] = database
    return database


def read_only(work: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run ``work(conn, …)`` in one read-only transaction on :func:`read_only_database`,
    without the web's short timeouts."""
    with read_only_database().unit_of_work() as uow:
        uow.conn.execute(text("SET TRANSACTION READ ONLY"))
        uow.conn.execute(text("SET LOCAL statement_timeout = 0"))
        return work(uow.conn, *args, **kwargs)


_READ_ONLY = "wallet.read_only_database"


def provider_metavar(having: str) -> str:
    """``{igpx|hypetech|upside}``: the registry's providers whose field ``having`` (e.g.
    ``simulator``, ``report``) is set, for a PROVIDER argument's usage line."""
    from app.providers import PROVIDERS

    return "{" + "|".join(p.name for p in PROVIDERS if getattr(p, having)) + "}"


def registered_provider(name: str, having: str) -> Provider:
    """The app's registered provider ``name`` whose field ``having`` is set; a usage
    error listing them otherwise (the toy provider of the tests is one too)."""
    providers = {
        p.name: p for p in current_app.extensions["wallet.providers"] if getattr(p, having)
    }
    if name not in providers:
        choices = ", ".join(repr(known) for known in providers)
        raise click.BadParameter(f"{name!r} is not one of {choices}.", param_hint="'PROVIDER'")
    return providers[name]


def fail(message: str) -> NoReturn:
    raise click.ClickException(message)


def to_jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date):  # datetimes too
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_jsonable(v) for v in value]
    return value


def emit(data: Any, as_json: bool, text: str | None = None) -> None:
    """Print one JSON document with ``--json``; otherwise the human text (or a JSON dump)."""
    if as_json or text is None:
        click.echo(json.dumps(to_jsonable(data), indent=None if as_json else 2))
    else:
        click.echo(text)


def print_balances(player_id: str, balances: dict[str, Decimal], as_json: bool) -> None:
    """``{"player_id", "balances": {"USD": "10.00", …}}``, or one line per currency."""
    exact = {cur: money.format_amount(amount, cur) for cur, amount in balances.items()}
    lines = [player_id] + [f"  {cur} {shown(amount, cur)}" for cur, amount in exact.items()]
    emit({"player_id": player_id, "balances": exact}, as_json, text="\n".join(lines))


def shown(value: Any, currency: str | None = None) -> str:
    """A value as a person reads it in a table or a line of text (never a Python repr):
    nothing for None, yes or no, lists joined with commas, times to the second, and an
    amount of a token currency (WIN's 18 decimals) without trailing zeros, as Upside's
    ``…Formatted`` fields write it (``1097.85``). ``--json`` keeps the exact values."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple | set | frozenset):
        return ", ".join(shown(item) for item in value)
    if isinstance(value, datetime):
        return value.isoformat(sep=" ", timespec="seconds")
    if currency and money.CURRENCY_EXPONENTS.get(currency, 0) > TRIMMED_ABOVE:
        return f"{Decimal(value).normalize():f}"
    return str(value)


TRIMMED_ABOVE = 4  # decimal places: no ISO 4217 currency has more, a token has 18


def table(rows: list[dict[str, Any]], columns: list[str], amounts: tuple[str, ...] = ()) -> str:
    """A plain aligned text table for people; ``amounts`` are the columns that hold an
    amount in the row's ``currency``."""
    cells = [
        [shown(row.get(c), row.get("currency") if c in amounts else None) for c in columns]
        for row in rows
    ]
    widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(columns)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True))]
    lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)) for r in cells]
    return "\n".join(line.rstrip() for line in lines)


def csv_table(rows: list[dict[str, Any]], columns: list[str]) -> str:
    """CSV with a header row, for machines: ``true``/``false``, nothing for None, times in
    ISO 8601, amounts exact, lists and objects as JSON."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(columns)
    writer.writerows([_csv_cell(row.get(c)) for c in columns] for row in rows)
    return buffer.getvalue()


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list | tuple):
        return json.dumps(to_jsonable(value), separators=(",", ":"))
    return str(to_jsonable(value))


POSITIVE = 'amounts are positive, e.g. "10.50"'
# A command whose arguments include an amount reads "-5" as that amount, not as an option.
AMOUNT_ARGUMENTS = {"ignore_unknown_options": True}


def positive_amount(text: str, currency: str) -> Decimal:
    """An amount an operator typed: a plain decimal above zero, within the currency's
    decimal places. ``-5``, ``0``, ``1e3`` and ``abc`` get the same one line."""
    if not money.is_plain_decimal(text) or not Decimal(text):
        raise InvalidAmount(f"amount {text!r}: {POSITIVE}")
    return money.parse_amount(text, currency)


json_option = click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")


def parse_duration(text: str) -> timedelta:
    """A duration (:func:`app.core.durations.parse`: ``90s``, ``5m``, ``2h``, ``1d``,
    ``2w``, ``3mo``, bare seconds) as a ``timedelta``, a month being 30 days; raises
    ValueError."""
    try:
        return durations.parse(text).approximate()
    except InvalidRequest as exc:
        raise ValueError(str(exc)) from None


def parse_moment(text: str, now: datetime, ahead: bool) -> datetime:
    """An ISO 8601 time (UTC when it has no zone), or a duration from ``now``: ahead of
    it (an expiry) or before it (an age)."""
    try:
        span = parse_duration(text)
    except ValueError:
        span = None
    try:
        if span is not None:
            return now + span if ahead else now - span
        moment = datetime.fromisoformat(text.strip())
    except (ValueError, OverflowError):
        raise ValueError(f"{text!r} is neither an ISO 8601 time nor a duration") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def moment_option(option: str, raw: str, ahead: bool) -> datetime:
    """An option such as ``--since`` or ``--expires``: :func:`parse_moment` from now, or
    one line naming the option."""
    try:
        return parse_moment(raw, datetime.now(UTC), ahead)
    except ValueError:
        fail(f"{option} {raw!r} must be an ISO 8601 time or a duration like 30d")


class Duration(click.ParamType):
    """A command-line duration (:func:`app.core.durations.parse`): a ``timedelta`` where a
    month is 30 days (an age, an expiry), or with ``calendar=True`` the
    :class:`~app.core.durations.Duration` itself, for the database to add calendar months."""

    name = "duration"

    def __init__(self, calendar: bool = False) -> None:
        self.calendar = calendar

    def convert(self, value: Any, param: Any, ctx: Any) -> timedelta | durations.Duration:
        if isinstance(value, timedelta | durations.Duration):
            return value
        try:
            duration = durations.parse(str(value))
        except InvalidRequest as exc:
            self.fail(str(exc), param, ctx)
        return duration if self.calendar else duration.approximate()
