"""``wallet callbacks list|show|prune``: read and trim the audit trail of inbound callbacks."""

from __future__ import annotations

from datetime import UTC, datetime

import click
from flask import current_app
from flask.cli import AppGroup

from app.cli.support import emit, fail, json_option, moment_option, run_as_admin, table
from app.providers import NAMES
from app.web import callbacks

cli = AppGroup(
    "callbacks",
    help="The audit trail of inbound provider callbacks.\n\n"
    "Example: wallet callbacks list --provider igpx --since 2h",
)


def _either(names: list[str]) -> str:
    """``"igpx, hypetech or upside"``."""
    return " or ".join(part for part in (", ".join(names[:-1]), names[-1]) if part)


@cli.command("list")
@click.option("--provider", default=None, help=f"{_either(list(NAMES))}.")
@click.option("--since", default=None, help="An ISO 8601 time or an age: 30m, 2h, 7d.")
@click.option(
    "--outcome", default=None, help="e.g. applied, insufficient_funds, invalid_signature."
)
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 100000))
@json_option
def callbacks_list(
    provider: str | None, since: str | None, outcome: str | None, limit: int, as_json: bool
) -> None:
    """The callbacks received last, newest first.

    Example: wallet callbacks list --outcome invalid_signature --limit 20
    """
    if provider is not None and provider not in NAMES:
        fail(f"--provider {provider!r} is not a provider: use {_either(list(NAMES))}")
    start = moment_option("--since", since, ahead=False) if since else None
    rows = run_as_admin(callbacks.find, provider, start, outcome, limit)
    columns = ["id", "received_at", "provider", "action", "status", "outcome", "latency_ms"]
    emit({"callbacks": rows}, as_json, text=table(rows, columns))


@cli.command("show")
@click.argument("callback_id", type=int)
@json_option
def callbacks_show(callback_id: int, as_json: bool) -> None:
    """One callback in full: headers (credentials redacted), body, answer.

    Example: wallet callbacks show 1234
    """
    found = run_as_admin(callbacks.get, callback_id)
    if found is None:
        fail(f"no callback {callback_id}")
    emit(found, as_json, text=None)


@cli.command("prune")
@click.option(
    "--days",
    default=None,
    type=click.IntRange(1, None),
    help="Keep this many days (default: CALLBACK_RETENTION_DAYS, 30).",
)
@json_option
def callbacks_prune(days: int | None, as_json: bool) -> None:
    """Delete callbacks older than the retention period.

    Example: wallet callbacks prune --days 90
    """
    keep = days or int(current_app.config["CALLBACK_RETENTION_DAYS"])
    deleted = run_as_admin(callbacks.prune, datetime.now(UTC), keep)
    emit(
        {"deleted": deleted, "retention_days": keep},
        as_json,
        text=f"deleted {deleted} callbacks older than {keep} days",
    )
