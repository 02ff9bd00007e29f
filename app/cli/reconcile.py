"""``wallet reconcile PROVIDER FILE``: a provider's transaction report against the
wallet (:mod:`app.core.reconcile`), read by the provider's layout from the registry.

The lists can hold millions of rows: they are written to stdout a chunk at a time, each
row's JSON built by PostgreSQL.
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
import orjson
from flask.cli import with_appcontext
from sqlalchemy import Connection

from app.cli.finance_support import books, read_period
from app.cli.support import json_option, provider_metavar, registered_provider, to_jsonable
from app.core import reconcile, reconcile_results, report_files


@click.command("reconcile")
@with_appcontext
@click.argument("provider", metavar=provider_metavar("report"))
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
    layout = registered_provider(provider, "report").report
    assert layout is not None
    mapping = report_files.parse_columns(columns)
    period = read_period(start, end, default_today=False)
    started = time.monotonic()
    with books() as conn, report.open("rb") as handle, _progress(report) as advance:
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
        for document in reconcile_results.results(conn, category):
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
        for document in reconcile_results.results(conn, category):
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
