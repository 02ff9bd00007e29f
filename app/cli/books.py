"""Reading the books: ``wallet transactions show`` and ``wallet ledger verify`` (balances
and statements are in :mod:`app.cli.finance`)."""

from __future__ import annotations

import sys
from typing import Any

import click
from flask.cli import AppGroup

from app.cli.support import emit, fail, json_option, run_as_admin
from app.core import ledger, money, reports

transactions_cli = AppGroup(
    "transactions",
    help="Provider transactions.\n\nExample: wallet transactions show igpx 7781",
)


def _formatted(data: dict[str, Any]) -> dict[str, Any]:
    """Amounts to the currency's exponent, as the providers were answered."""
    currency = data["currency"]
    for key in ("amount", "balance_before", "balance_after"):
        data[key] = money.format_amount(data[key], currency)
    for leg in data["postings"]:
        leg["amount"] = money.format_amount(leg["amount"], leg["currency"])
    return data


@transactions_cli.command("show")
@click.argument("provider")
@click.argument("provider_tx_id")
@json_option
def transactions_show(provider: str, provider_tx_id: str, as_json: bool) -> None:
    """Show one provider transaction, its outcome and its postings.

    Example: wallet transactions show igpx 7781 --json
    """
    found = run_as_admin(reports.provider_transaction, provider, provider_tx_id)
    if found is None:
        fail(f"no {provider} transaction {provider_tx_id!r}")
    emit(_formatted(found), as_json, text=None)


ledger_cli = AppGroup("ledger", help="The books.\n\nExample: wallet ledger verify")


@ledger_cli.command("verify")
@json_option
def ledger_verify(as_json: bool) -> None:
    """Check that the books balance; exit 1 if they do not.

    Every journal transaction must sum to zero per currency and every cached balance
    equal the sum of its postings; negative balances and orphan postings are listed.

    Example: wallet ledger verify --json
    """
    result = run_as_admin(ledger.verify)
    data = {
        "ok": result.ok,
        "unbalanced_transactions": result.unbalanced,
        "mismatched_balances": result.mismatched,
        "orphan_postings": result.orphans,
        "negative_balances": result.negative,
    }
    summary = (
        f"{'ok' if result.ok else 'FAILED'}: {len(result.unbalanced)} unbalanced transactions, "
        f"{len(result.mismatched)} mismatched balances, {len(result.orphans)} orphan postings, "
        f"{len(result.negative)} negative balances"
    )
    emit(data, as_json, text=summary)
    if not result.ok:
        sys.exit(1)


def _add_snapshot() -> None:
    from app.cli.finance import snapshot

    ledger_cli.add_command(snapshot)


_add_snapshot()
