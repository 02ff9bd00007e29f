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
from sqlalchemy import Connection, create_engine, make_url, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool

from app import create_app, db, db_roles, ledger, migrate, money, players, wallet
from app.cli_support import emit, fail, in_transaction, json_option
from app.config import ConfigError
from app.errors import WalletError
from app.models import accounts, journal_transactions, postings, provider_transactions


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
    if not db_roles.valid_role(role):
        fail(f"role name {role!r}: use letters, digits and _ (at most 63 characters)")
    if print_only:
        database = make_url(db.sqlalchemy_url(current_app.config["DATABASE_URL"])).database
        statements = db_roles.grant_statements(role, database or "wallet")
    else:
        engine = create_engine(db.sqlalchemy_url(_owner_url()), poolclass=NullPool)
        try:
            with engine.begin() as conn:
                statements = db_roles.grant(conn, role)
        finally:
            engine.dispose()
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
        amount=money.parse_amount(amount, currency),
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
        text=f"{kind} {data['amount']} {currency} for {player_id}{note}: "
        f"balance {data['balance']} {currency}",
    )


@cli.command("deposit")
@click.argument("player_id")
@click.argument("amount")
@click.argument("currency")
@click.option("--reference", required=True, help="Unique; a repeat changes nothing.")
@json_option
def deposit(player_id: str, amount: str, currency: str, reference: str, as_json: bool) -> None:
    """Credit AMOUNT CURRENCY to PLAYER_ID from the cashier."""
    _cashier(wallet.Kind.DEPOSIT, player_id, amount, currency, reference, as_json)


@cli.command("withdraw")
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
    shown = {cur: money.format_amount(amount, cur) for cur, amount in balances.items()}
    lines = [f"{player_id}"] + [f"  {cur} {amount}" for cur, amount in shown.items()]
    emit({"player_id": player_id, "balances": shown}, as_json, text="\n".join(lines))


def _show_transaction(conn: Connection, provider: str, external_id: str) -> dict[str, Any]:
    record = conn.execute(
        select(provider_transactions).where(
            provider_transactions.c.provider == provider,
            provider_transactions.c.external_id == external_id,
        )
    ).first()
    if record is None:
        fail(f"no {provider} transaction {external_id!r}")
    data = dict(record._mapping)
    legs = conn.execute(
        select(
            postings.c.journal_id,
            postings.c.account_id,
            accounts.c.player_id,
            accounts.c.name,
            postings.c.currency,
            postings.c.amount,
        )
        .join(accounts, accounts.c.id == postings.c.account_id)
        .join(journal_transactions, journal_transactions.c.id == postings.c.journal_id)
        .where(journal_transactions.c.provider_transaction_id == record.id)
        .order_by(postings.c.id)
    )
    data["postings"] = [dict(leg._mapping) for leg in legs]
    rollbacks = conn.execute(
        select(provider_transactions.c.external_id, provider_transactions.c.status).where(
            provider_transactions.c.provider == provider,
            provider_transactions.c.kind == wallet.Kind.ROLLBACK,
            provider_transactions.c.reference_id == external_id,
        )
    )
    data["rolled_back_by"] = [dict(r._mapping) for r in rollbacks]
    return _formatted(data)


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
    data = in_transaction(_show_transaction, provider, provider_tx_id)
    emit(data, as_json, text=None)


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
    from app import callbacks_cli, finance_commands, report_commands
    from app.providers import PROVIDERS
    from app.simulate.cli import simulate

    cli.add_command(report_commands.cli)
    cli.add_command(simulate)
    cli.add_command(callbacks_cli.cli)
    for provider in PROVIDERS:
        if getattr(provider, "cli", None) is not None:
            cli.add_command(provider.cli)
    finance_commands.register(cli)


_add_provider_commands()


def main() -> None:
    cli.main(prog_name="wallet")
