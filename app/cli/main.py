"""The ``wallet`` admin command: players, cashier, balances, statements, the books."""

from __future__ import annotations

import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import click
from flask import current_app
from flask.cli import AppGroup, FlaskGroup
from sqlalchemy.exc import SQLAlchemyError

from app import create_app
from app.cli.support import (
    AMOUNT_ARGUMENTS,
    emit,
    fail,
    in_transaction,
    json_option,
    positive_amount,
    shown,
    table,
)
from app.config import ConfigError
from app.core import ledger, money, players, reports, wallet
from app.db import migrate, roles
from app.errors import WalletError


class WalletGroup(FlaskGroup):
    """Turns domain and database errors into one line on stderr and exit status 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (WalletError, ConfigError) as exc:
            raise click.ClickException(str(exc)) from None
        except SQLAlchemyError as exc:
            reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
            raise click.ClickException(f"database error: {reason}") from None


def _create_app() -> Any:
    return create_app()


cli = WalletGroup(
    name="wallet",
    create_app=_create_app,
    add_default_commands=False,
    set_debug_flag=False,
    help="Admin commands for the seamless wallet.",
)


# --- database -------------------------------------------------------------------------

db_cli = AppGroup("db", help="Database schema.")
cli.add_command(db_cli)


def _owner_url() -> str:
    """Migrations run as the schema owner: DATABASE_MIGRATION_URL, else DATABASE_URL."""
    config = current_app.config
    return str(config.get("DATABASE_MIGRATION_URL") or config["DATABASE_URL"])


@db_cli.command("upgrade")
def db_upgrade() -> None:
    """Apply every pending migration (as DATABASE_MIGRATION_URL's role when set)."""
    migrate.upgrade(_owner_url())
    click.echo("database is at the latest schema")


@db_cli.command("grant-app-role")
@click.argument("role")
@click.option("--sql", "print_only", is_flag=True, help="Print the SQL instead of running it.")
def db_grant_app_role(role: str, print_only: bool) -> None:
    """Grant ROLE (an existing login role) exactly the data access the wallet needs.

    Runs as the schema owner (DATABASE_MIGRATION_URL). Re-run after every upgrade.
    """
    if not roles.valid_role(role):
        fail(f"role name {role!r}: use letters, digits and _ (at most 63 characters)")
    if print_only:
        statements = roles.statements_for(current_app.config["DATABASE_URL"], role)
    else:
        statements = roles.grant_as_owner(_owner_url(), role)
    click.echo(";\n".join(statements) + ";" if print_only else f"granted {role} the app's access")


# --- players --------------------------------------------------------------------------

players_cli = AppGroup("players", help="Players and their wallets.")
cli.add_command(players_cli)


@players_cli.command("create")
@click.argument("player_id")
@click.option("--currency", "currencies", multiple=True, required=True, help="Repeatable.")
@json_option
def players_create(player_id: str, currencies: tuple[str, ...], as_json: bool) -> None:
    """Create PLAYER_ID with an empty wallet in each --currency."""
    codes = [c.upper() for c in currencies]
    in_transaction(players.create, player_id, codes)
    balances = in_transaction(wallet.balances, player_id)
    _print_balances(player_id, balances, as_json)


@players_cli.command("block")
@click.argument("player_id")
def players_block(player_id: str) -> None:
    """Block PLAYER_ID: bets are declined; wins and rollbacks still apply."""
    in_transaction(players.set_blocked, player_id, True)
    click.echo(f"player {player_id} is blocked")


@players_cli.command("unblock")
@click.argument("player_id")
def players_unblock(player_id: str) -> None:
    """Unblock PLAYER_ID."""
    in_transaction(players.set_blocked, player_id, False)
    click.echo(f"player {player_id} is unblocked")


@players_cli.command("import")
@click.argument("csv_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--batch-size", default=2000, show_default=True, type=click.IntRange(1, 50000))
@json_option
def players_import(csv_file: Path, batch_size: int, as_json: bool) -> None:
    """Create players from CSV_FILE (player_id,currency,balance) with opening deposits.

    Safe to re-run: rows already imported change nothing.
    """
    rows = players.read_csv(csv_file)
    started, created = time.monotonic(), 0
    with click.progressbar(length=len(rows), label="importing", file=sys.stderr) as bar:
        for start in range(0, len(rows), batch_size):
            batch = rows[start : start + batch_size]
            created += in_transaction(players.import_batch, batch)
            bar.update(len(batch))
    elapsed = time.monotonic() - started
    summary = {
        "rows": len(rows),
        "new_deposits": created,
        "already_imported": len(rows) - created,
        "seconds": round(elapsed, 3),
        "rows_per_second": round(len(rows) / elapsed) if elapsed > 0 else None,
    }
    emit(
        summary,
        as_json,
        text=(
            f"imported {len(rows)} rows ({created} new, {len(rows) - created} already there) "
            f"in {elapsed:.2f}s"
        ),
    )


# --- cashier --------------------------------------------------------------------------


def _cashier(
    kind: wallet.Kind, player_id: str, amount: str, currency: str, reference: str, as_json: bool
) -> None:
    currency = currency.upper()
    request = wallet.Request(
        provider=wallet.CASHIER,
        external_id=reference,
        kind=kind,
        player_id=player_id,
        currency=currency,
        amount=positive_amount(amount, currency),
        counterparty=wallet.CASHIER,
    )
    outcome = in_transaction(wallet.execute, request)
    if outcome.declined:
        fail(
            f"{kind} declined: {outcome.reason}; balance is "
            f"{money.format_amount(outcome.balance_after, currency)} {currency}"
        )
    data = {
        "player_id": player_id,
        "kind": str(kind),
        "reference": reference,
        "amount": money.format_amount(outcome.amount, currency),
        "currency": currency,
        "balance": money.format_amount(outcome.balance_after, currency),
        "transaction_id": outcome.transaction_id,
        "replayed": outcome.replayed,
    }
    note = " (already applied)" if outcome.replayed else ""
    emit(
        data,
        as_json,
        text=f"{kind} {shown(data['amount'], currency)} {currency} for {player_id}{note}: "
        f"balance {shown(data['balance'], currency)} {currency}",
    )


@cli.command("deposit", context_settings=AMOUNT_ARGUMENTS)
@click.argument("player_id")
@click.argument("amount")
@click.argument("currency")
@click.option("--reference", required=True, help="Unique; a repeat changes nothing.")
@json_option
def deposit(player_id: str, amount: str, currency: str, reference: str, as_json: bool) -> None:
    """Credit AMOUNT CURRENCY to PLAYER_ID from the cashier."""
    _cashier(wallet.Kind.DEPOSIT, player_id, amount, currency, reference, as_json)


@cli.command("withdraw", context_settings=AMOUNT_ARGUMENTS)
@click.argument("player_id")
@click.argument("amount")
@click.argument("currency")
@click.option("--reference", required=True, help="Unique; a repeat changes nothing.")
@json_option
def withdraw(player_id: str, amount: str, currency: str, reference: str, as_json: bool) -> None:
    """Debit AMOUNT CURRENCY from PLAYER_ID to the cashier (never below zero)."""
    _cashier(wallet.Kind.WITHDRAWAL, player_id, amount, currency, reference, as_json)


# --- reading --------------------------------------------------------------------------


def _print_balances(player_id: str, balances: dict[str, Decimal], as_json: bool) -> None:
    exact = {cur: money.format_amount(amount, cur) for cur, amount in balances.items()}
    lines = [player_id] + [f"  {cur} {shown(amount, cur)}" for cur, amount in exact.items()]
    emit({"player_id": player_id, "balances": exact}, as_json, text="\n".join(lines))


@cli.command("balance")
@click.argument("player_id")
@click.option("--currency", default=None)
@json_option
def balance(player_id: str, currency: str | None, as_json: bool) -> None:
    """Show PLAYER_ID's balances."""
    code = currency.upper() if currency else None
    balances = in_transaction(wallet.balances, player_id, code)
    if code and code not in balances:
        fail(f"player {player_id!r} has no {code} wallet")
    _print_balances(player_id, balances, as_json)


STATEMENT_COLUMNS = ["created_at", "kind", "provider", "external_id", "currency", "amount"]


@cli.command("statement")
@click.argument("player_id")
@click.option("--currency", default=None)
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 100000))
@json_option
def statement(player_id: str, currency: str | None, limit: int, as_json: bool) -> None:
    """Show PLAYER_ID's latest postings, newest first."""
    rows = in_transaction(
        reports.statement, player_id, currency.upper() if currency else None, limit
    )
    for row in rows:
        row["amount"] = money.format_amount(row["amount"], row["currency"])
    emit(
        {"player_id": player_id, "entries": rows},
        as_json,
        text=table(rows, STATEMENT_COLUMNS, amounts=("amount",)),
    )


def _formatted(data: dict[str, Any]) -> dict[str, Any]:
    """Amounts to the currency's exponent, as the providers were answered."""
    currency = data["currency"]
    for key in ("amount", "balance_before", "balance_after"):
        data[key] = money.format_amount(data[key], currency)
    for leg in data["postings"]:
        leg["amount"] = money.format_amount(leg["amount"], leg["currency"])
    return data


transactions_cli = AppGroup("transactions", help="Provider transactions.")
cli.add_command(transactions_cli)


@transactions_cli.command("show")
@click.argument("provider")
@click.argument("provider_tx_id")
@json_option
def transactions_show(provider: str, provider_tx_id: str, as_json: bool) -> None:
    """Show one provider transaction, its outcome and its postings."""
    found = in_transaction(reports.provider_transaction, provider, provider_tx_id)
    if found is None:
        fail(f"no {provider} transaction {provider_tx_id!r}")
    emit(_formatted(found), as_json, text=None)


ledger_cli = AppGroup("ledger", help="The books.")
cli.add_command(ledger_cli)


@ledger_cli.command("verify")
@json_option
def ledger_verify(as_json: bool) -> None:
    """Exit 0 only if every journal transaction balances and every cached balance is right."""
    result = in_transaction(ledger.verify)
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


def _add_provider_commands() -> None:
    from app.cli import callbacks, reports
    from app.cli.simulate import simulate
    from app.providers import PROVIDERS

    cli.add_command(reports.cli)
    cli.add_command(simulate)
    cli.add_command(callbacks.cli)
    for provider in PROVIDERS:
        if provider.cli is not None:
            cli.add_command(provider.cli)
        for report in provider.reports:
            reports.cli.add_command(report)


_add_provider_commands()


def main() -> None:
    cli.main(prog_name="wallet")
