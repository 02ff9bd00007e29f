"""``wallet db …`` (the schema and the application's database role) and ``wallet dev …``
(development data)."""

from __future__ import annotations

import sys

import click
from flask import current_app
from flask.cli import AppGroup

from app.cli import limits
from app.cli.support import fail
from app.db import database_name, migrate, roles

db_cli = AppGroup(
    "db",
    help="Database schema and the application's role.\n\nExample: wallet db upgrade",
)


def owner_url() -> str:
    """Migrations run as the schema owner: DATABASE_MIGRATION_URL, else DATABASE_URL."""
    config = current_app.config
    return str(config.get("DATABASE_MIGRATION_URL") or config["DATABASE_URL"])


@db_cli.command("upgrade")
def db_upgrade() -> None:
    """Apply every pending migration.

    Runs as DATABASE_MIGRATION_URL's role when it is set.

    Example: wallet db upgrade
    """
    for applied in migrate.upgrade(owner_url()):
        click.echo(f"applied migration {applied}")
    limits.store_timezone(owner_url(), current_app.config["LIMITS_TIMEZONE"])
    click.echo(f"database is at the latest schema ({migrate.head_revision()})")


@db_cli.command("grant-app-role")
@click.argument("role")
@click.option("--sql", "print_only", is_flag=True, help="Print the SQL instead of running it.")
def db_grant_app_role(role: str, print_only: bool) -> None:
    """Grant ROLE exactly the data access the wallet needs.

    ROLE is an existing login role. Runs as the schema owner (DATABASE_MIGRATION_URL).
    Re-run after every upgrade.

    Example: wallet db grant-app-role wallet_app --sql
    """
    if not roles.valid_role(role):
        fail(f"role name {role!r}: use letters, digits and _ (at most 63 characters)")
    if print_only:
        statements = roles.statements_for(current_app.config["DATABASE_URL"], role)
    else:
        statements = roles.grant_as_owner(owner_url(), role)
    click.echo(";\n".join(statements) + ";" if print_only else f"granted {role} the app's access")


def can_ask() -> bool:
    """Whether a person can answer a question: stdin is a terminal."""
    return sys.stdin.isatty()


dev_cli = AppGroup(
    "dev",
    help="Development data (refused when WALLET_ENV=production).\n\n"
    "Example: wallet dev reset --yes",
)


@dev_cli.command("reset")
@click.option("--yes", is_flag=True, help="Reset without asking.")
def dev_reset(yes: bool) -> None:
    """Empty every table of the database, then migrate it.

    Players, wallets, transactions, Upside games and keys, the audit trail: all gone;
    the schema stays. Refused when WALLET_ENV=production. Without --yes it asks first,
    and refuses when there is nobody to ask (stdin is not a terminal).

    Example: wallet dev reset --yes
    """
    if current_app.config["WALLET_ENV"] == "production":
        fail("WALLET_ENV is production: dev reset empties development databases only")
    database = database_name(owner_url())
    if not yes:
        if not can_ask():
            fail("dev reset deletes every row: add --yes (stdin is not a terminal to ask)")
        click.confirm(f"Delete every row in database {database}?", abort=True, err=True)
    emptied = migrate.reset(owner_url())
    click.echo(f"database {database}: {len(emptied)} tables emptied, schema at the latest")
