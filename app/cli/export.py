"""``wallet export transactions``: every transaction of a period, streamed to a file or
stdout (:mod:`app.core.export`)."""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import click
import orjson
from flask.cli import AppGroup

from app.cli.finance_support import books, read_period
from app.cli.support import emit, json_option, to_jsonable
from app.core import export
from app.errors import InvalidRequest

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
    period = read_period(start, end, default_today=True)
    started = time.monotonic()
    with books(replica=True) as conn, _destination(output) as out:
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
