"""The finance team's commands: reconcile, balance and statement at any moment, the
player-funds report, transaction exports and balance snapshots.

They parse arguments, call :mod:`app.core.finance`, :mod:`app.core.reconcile` and
:mod:`app.core.export`, and format. Reads run in one REPEATABLE READ transaction, so
an opening balance, its lines and the closing balance come from one snapshot of the
books. ``register`` adds them to the ``wallet`` command tree.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

import click
import orjson
from flask import current_app
from flask.cli import AppGroup, with_appcontext
from sqlalchemy import Connection, text

from app.cli.support import emit, json_option, read_only_database, shown, table, to_jsonable
from app.core import book, export, finance, money, periods, reconcile, report_files
from app.core.report_layout import Layout
from app.errors import InvalidRequest

# A finance command is one session doing a few large sorts and hashes: 256 MB each keeps
# a million-row reconciliation and the player-funds report out of temporary files.
FINANCE_WORK_MEM = "256MB"


@contextlib.contextmanager
def _books(replica: bool = False) -> Iterator[Connection]:
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


def _timezone() -> str:
    return str(current_app.config.get("LIMITS_TIMEZONE") or "UTC")


def _moment(option: str, value: str) -> periods.Moment:
    try:
        return periods.parse(value, periods.zone(_timezone()))
    except InvalidRequest as exc:
        raise InvalidRequest(f"{option}: {exc}") from None


def _period(start: str | None, end: str | None, default_today: bool) -> periods.Period:
    for option, value in (("--from", start), ("--to", end)):
        if value is not None:
            _moment(option, value)  # says which option is wrong
    return periods.period(start, end, _timezone(), default_today=default_today)


def _amount(value: Decimal | None, currency: str | None) -> str | None:
    """To the currency's exponent when that is exact, else every digit given."""
    if value is None:
        return None
    if currency in money.CURRENCY_EXPONENTS:
        shown = money.format_amount(value, currency)
        if Decimal(shown) == value:
            return shown
    return f"{value:f}"


# --- balances and statements ----------------------------------------------------------


@click.command("balance")
@with_appcontext
@click.argument("player_id")
@click.option("--currency", default=None)
@click.option("--as-of", "as_of", default=None, help="A date, ISO time or -7d; default now.")
@json_option
def balance(player_id: str, currency: str | None, as_of: str | None, as_json: bool) -> None:
    """Show PLAYER_ID's balances.

    Now, or derived from the postings as of --as-of.

    Example: wallet balance alice --as-of 2026-11-30 --json
    """
    code = currency.upper() if currency else None
    end = _moment("--as-of", as_of).end if as_of else None
    with _books() as conn:
        balances = finance.balances_as_of(conn, player_id, end, code)
    if code and code not in balances:
        raise InvalidRequest(
            f"player {player_id!r} has no {code} wallet" + (" then" if as_of else "")
        )
    exact = {cur: money.format_amount(amount, cur) for cur, amount in balances.items()}
    data: dict[str, Any] = {"player_id": player_id, "balances": exact}
    heading = player_id
    if as_of:
        data["as_of"] = end
        heading += f" as of {end.isoformat() if end else 'now'}"
    lines = [heading] + [f"  {cur} {shown(amount, cur)}" for cur, amount in exact.items()]
    emit(data, as_json, text="\n".join(lines))


@click.command("statement")
@with_appcontext
@click.argument("player_id")
@click.option("--currency", default=None)
@click.option("--from", "start", default=None, help="A date, ISO time or -7d.")
@click.option("--to", "end", default=None, help="Inclusive (a date: to its end); default now.")
@click.option(
    "--limit",
    default=50,
    show_default=True,
    type=click.IntRange(1, 1_000_000),
    help="Lines per wallet: the first from --from, else the last before --to.",
)
@json_option
def statement(
    player_id: str,
    currency: str | None,
    start: str | None,
    end: str | None,
    limit: int,
    as_json: bool,
) -> None:
    """Show PLAYER_ID's statement.

    Per wallet: the opening balance, each posting with its running balance (oldest
    first), and the closing balance.

    Example: wallet statement alice --currency USD --from -7d
    """
    period = _period(start, end, default_today=False)
    code = currency.upper() if currency else None
    with _books(replica=True) as conn:
        found = finance.statements(conn, player_id, code, period.start, period.end, limit)
    data = _statement_data(player_id, period, found)
    emit(data, as_json, text=_statement_text(data, found))


def _statement_data(
    player_id: str, period: periods.Period, found: list[finance.Statement]
) -> dict[str, Any]:
    entries = []
    for one in found:
        for line in one.lines:
            for key in ("amount", "running_balance"):
                line[key] = money.format_amount(line[key], one.currency)
            entries.append(line)
    data: dict[str, Any] = {"player_id": player_id, "from": period.start, "to": period.end}
    if len(found) == 1:
        data["currency"] = found[0].currency
        data["opening_balance"] = money.format_amount(found[0].opening, found[0].currency)
        data["closing_balance"] = money.format_amount(found[0].closing, found[0].currency)
    data["opening_balances"] = {
        s.currency: money.format_amount(s.opening, s.currency) for s in found
    }
    data["closing_balances"] = {
        s.currency: money.format_amount(s.closing, s.currency) for s in found
    }
    data["entries"] = entries
    data["complete"] = all(s.complete for s in found)
    return data


def _statement_text(data: dict[str, Any], found: list[finance.Statement]) -> str:
    columns = ["created_at", "kind", "provider", "external_id", "amount", "running_balance"]
    parts = [f"{data['player_id']}: {data['from'] or 'the beginning'} to {data['to'] or 'now'}"]
    for one in found:
        opening = shown(data["opening_balances"][one.currency], one.currency)
        parts.append(f"\n{one.currency} opening {opening}")
        lines = [{**line, "currency": one.currency} for line in one.lines]
        amounts = ("amount", "running_balance")
        parts.append(table(lines, columns, amounts) if lines else "(no postings)")
        more = "" if one.complete else " (more postings: raise --limit)"
        closing = shown(data["closing_balances"][one.currency], one.currency)
        parts.append(f"{one.currency} closing {closing}{more}")
    return "\n".join(parts)


# --- player funds and snapshots -------------------------------------------------------


@click.command("player-funds")
@with_appcontext
@click.option("--as-of", "as_of", default=None, help="A date (its end), ISO time or -7d.")
@json_option
def player_funds(as_of: str | None, as_json: bool) -> None:
    """What the operator held for players.

    Per currency: the positive balances, the negative ones and the wallets; and each
    house account and game pool. Default: now.

    Example: wallet report player-funds --as-of 2026-11-30 --json
    """
    end = _moment("--as-of", as_of).end if as_of else None
    with _books(replica=True) as conn:
        funds = book.player_funds(conn, end)
    currencies = {
        code: {k: _amount(v, code) if isinstance(v, Decimal) else v for k, v in row.items()}
        for code, row in funds.currencies.items()
    }
    data = {
        "as_of": funds.as_of,
        "timezone": _timezone(),
        "snapshot": funds.snapshot,
        "currencies": currencies,
        "house": _accounts(funds.house),
        "pools": _accounts(funds.pools),
        "system": _accounts(funds.system),
    }
    emit(data, as_json, text=_funds_text(data))


def _accounts(found: dict[str, dict[str, Decimal]]) -> dict[str, dict[str, str | None]]:
    return {
        name: {code: _amount(amount, code) for code, amount in sorted(balances.items())}
        for name, balances in sorted(found.items())
    }


def _funds_text(data: dict[str, Any]) -> str:
    when = data["as_of"].isoformat() if data["as_of"] else "now"
    rows = [{"currency": code, **row} for code, row in data["currencies"].items()]
    columns = ["currency", "player_funds", "negative_balances", "net", "players"]
    lines = [f"player funds as of {when}", table(rows, columns) if rows else "(no wallets)"]
    for title in ("house", "pools", "system"):
        for name, balances in data[title].items():
            lines += [f"{title} {name}: {code} {amount}" for code, amount in balances.items()]
    return "\n".join(lines)


@click.command("snapshot")
@with_appcontext
@click.option(
    "--at", "at", default="today", show_default=True, help="A date (its end), ISO time or -7d."
)
@json_option
def snapshot(at: str, as_json: bool) -> None:
    """Store every account's balance at --at.

    Run it after each month end: reports as of later moments start from it. Default:
    the start of today (LIMITS_TIMEZONE).

    Example: wallet ledger snapshot --at 2026-11-30
    """
    moment = _moment("--at", at)
    taken_at = moment.start if at.strip().lower() in ("today", "now") else moment.end
    assert taken_at is not None
    with _books() as conn:
        taken = book.take_snapshot(conn, taken_at, datetime.now(UTC))
    data = {
        "taken_at": taken.taken_at,
        "accounts": taken.accounts,
        "created": taken.created,
        "based_on": taken.based_on,
    }
    verb = "stored" if taken.created else "already stored"
    emit(data, as_json, text=f"{verb}: {taken.accounts} balances at {taken.taken_at.isoformat()}")


# --- export ---------------------------------------------------------------------------


export_group = AppGroup(
    "export",
    help="Streamed exports for regulators and data warehouses.\n\n"
    "Example: wallet export transactions --from -7d --format jsonl",
)


@export_group.command("transactions")
@click.option("--from", "start", default=None, help="A date, ISO time or -7d; default today.")
@click.option("--to", "end", default=None, help="Inclusive (a date: to its end).")
@click.option("--provider", default=None, help="One provider, or cashier, or import.")
@click.option(
    "--format", "fmt", type=click.Choice(["csv", "jsonl"]), default="csv", show_default=True
)
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), default=None)
@json_option
def export_transactions(
    start: str | None,
    end: str | None,
    provider: str | None,
    fmt: str,
    output: Path | None,
    as_json: bool,
) -> None:
    """Stream every transaction of a period.

    Oldest first, with status, amounts, balances before and after and the journal id
    (docs/finance.md). Data goes to --output (written whole or not at all) or stdout; the
    summary to stdout with --output, else to stderr.

    Example: wallet export transactions --from -7d --format csv
    """
    period = _period(start, end, default_today=True)
    started = time.monotonic()
    with _books(replica=True) as conn, _destination(output) as out:
        count = export.write(conn, out, fmt, period.start, period.end, provider)
    seconds = time.monotonic() - started
    summary = {
        "rows": count,
        "format": fmt,
        "output": str(output) if output else None,
        "period": period.as_dict(),
        "seconds": round(seconds, 3),
    }
    note = f"exported {count} rows ({period.describe()}) in {seconds:.2f}s"
    if output is not None:
        emit(summary, as_json, text=note)
    else:
        click.echo(orjson.dumps(to_jsonable(summary)).decode() if as_json else note, err=True)


@contextlib.contextmanager
def _destination(output: Path | None) -> Iterator[IO[str]]:
    """stdout, or a file beside ``output`` renamed to it only once complete."""
    if output is None:
        yield sys.stdout
        return
    partial = output.with_name(f".{output.name}.{os.getpid()}.partial")
    try:
        handle = partial.open("x", newline="")
    except OSError as exc:
        raise InvalidRequest(f"cannot write {output}: {exc.strerror}") from None
    try:
        with handle:
            yield handle
        os.replace(partial, output)
    finally:
        partial.unlink(missing_ok=True)


# --- reconcile ------------------------------------------------------------------------


@click.command("reconcile")
@with_appcontext
@click.argument("provider")
@click.argument(
    "report", metavar="FILE", type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option(
    "--from", "start", default=None, help="Window start; default the report's first time."
)
@click.option("--to", "end", default=None, help="Window end; default the report's last time.")
@click.option(
    "--columns",
    multiple=True,
    help="FIELD=HEADER,… for a report that names columns otherwise "
    "(fields: id, kind, player, currency, amount, amount_atomic, time, status, linked).",
)
@json_option
def reconcile_command(
    provider: str,
    report: Path,
    start: str | None,
    end: str | None,
    columns: tuple[str, ...],
    as_json: bool,
) -> None:
    """Reconcile PROVIDER's transaction report FILE.

    FILE is CSV or JSON lines. Lists matched rows, rows missing here (refused or never
    reached, from the audit trail), wallet transactions missing there, and mismatches.
    Exit status 0 only when everything matches. Expected columns per provider:
    docs/finance.md.

    Example: wallet reconcile igpx igpx-2026-11-30.csv --json
    """
    layout = _layout(provider)
    mapping = report_files.parse_columns(columns)
    period = _period(start, end, default_today=False)
    started = time.monotonic()
    with _books() as conn, report.open("rb") as handle, _progress(report) as advance:
        rows = report_files.read(handle, layout, mapping, advance)
        until = period.end if period.end or end is None else datetime.now(UTC)  # --to now
        summary = reconcile.run(conn, provider, layout, rows, period.start, until, _phase)
        seconds = time.monotonic() - started
        head = _reconcile_head(provider, report, summary, seconds)
        if as_json:
            _write_json(conn, head)
        else:
            _write_text(conn, head)
    if not summary.ok:
        sys.exit(1)


def _layout(name: str) -> Layout:
    """The report layout of the registry's provider ``name``."""
    layouts = {p.name: p.report for p in current_app.extensions["wallet.providers"] if p.report}
    if name not in layouts:
        choices = ", ".join(repr(known) for known in sorted(layouts))
        raise click.BadParameter(f"{name!r} is not one of {choices}.", param_hint="'PROVIDER'")
    return layouts[name]


@contextlib.contextmanager
def _progress(report: Path) -> Iterator[Callable[[int], None] | None]:
    """A progress bar over the file's bytes on stderr, only when that is a terminal."""
    if not sys.stderr.isatty():
        yield None
        return
    size = report.stat().st_size
    with click.progressbar(length=size, label="reading report", file=sys.stderr) as bar:
        yield bar.update


def _phase(message: str) -> None:
    if sys.stderr.isatty():
        click.echo(f"\n{message}…", err=True)


def _reconcile_head(
    provider: str, report: Path, summary: reconcile.Summary, seconds: float
) -> dict[str, Any]:
    span = summary.window
    return {
        "provider": provider,
        "file": str(report),
        "rows": summary.rows,
        "window": {"from": span.start, "to": span.end, "source": span.source} if span else None,
        "ok": summary.ok,
        "counts": summary.counts,
        "missing_here_reasons": summary.missing_here_reasons,
        "seconds": round(seconds, 3),
        "rows_per_second": round(summary.rows / seconds) if seconds > 0 else None,
    }


def _write_json(conn: Connection, head: dict[str, Any]) -> None:
    """One JSON document, written a chunk at a time: the lists can hold millions of rows
    (each one's JSON is built by PostgreSQL)."""
    out = _Chunks()
    out.write(orjson.dumps(to_jsonable(head)).decode()[:-1])
    for category in reconcile.CATEGORIES:
        out.write(f', "{category}": [')
        separator = ""
        for document in reconcile.results(conn, category):
            out.write(separator + document)
            separator = ", "
        out.write("]")
    out.write("}\n")
    out.flush()


def _write_text(conn: Connection, head: dict[str, Any]) -> None:
    counts = head["counts"]
    reasons = ", ".join(f"{k} {v}" for k, v in head["missing_here_reasons"].items())
    span = head["window"]
    out = _Chunks()
    out.write(
        f"{head['provider']}: {head['rows']} report rows, window "
        f"{span['from'].isoformat() + ' to ' + span['to'].isoformat() if span else '(none)'} "
        f"({span['source'] if span else 'empty report'})\n"
        f"matched {counts['matched']}, missing here {counts['missing_here']}"
        f"{f' ({reasons})' if reasons else ''}, missing there {counts['missing_there']}, "
        f"mismatched {counts['mismatched']}: {'OK' if head['ok'] else 'DIFFERENCES'}\n"
    )
    for category in reconcile.CATEGORIES[1:]:
        for document in reconcile.results(conn, category):
            out.write(_line(category, orjson.loads(document)) + "\n")
    out.flush()


class _Chunks:
    """Writes to stdout in chunks of about 64 KB (one click.echo per row is slow)."""

    def __init__(self) -> None:
        self._parts: list[str] = []
        self._size = 0

    def write(self, part: str) -> None:
        self._parts.append(part)
        self._size += len(part)
        if self._size >= 65536:
            self.flush()

    def flush(self) -> None:
        click.echo("".join(self._parts), nl=False)
        self._parts, self._size = [], 0


def _line(category: str, row: dict[str, Any]) -> str:
    """One discrepancy for people."""
    if category == "missing_there":
        return (
            f"missing there  {row['id']}  {row['kind']} {row['player_id']} "
            f"{row['currency']} {row['amount']}  at {row['time']}"
        )
    where = f"line {row['line']}  {row['id']}  {row['kind']} {row['player_id']} "
    where += f"{row['currency']} {row['amount']}"
    if category == "missing_here":
        seen = row["callback"]
        detail = f" (callback {seen['id']}: {seen['outcome']})" if seen else ""
        return f"missing here   {where}  {row['reason']}{detail}"
    here = row["here"]
    return (
        f"mismatched     {where}  differs in {', '.join(row['differences'])}: here "
        f"{here['kind']} {here['player_id']} {here['currency']} {here['amount']} "
        f"{here['status']}{'; ' + row['note'] if row['note'] else ''}"
    )
