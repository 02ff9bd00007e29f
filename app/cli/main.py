"""The ``wallet`` admin command: the root of its command tree, loaded lazily.

Each top-level command is one line of :data:`COMMANDS`: its name, where it is defined
(``module:attribute`` in ``app/cli/``) and the sentence ``wallet --help`` shows for it (the first
sentence of its own help). Listing the commands imports none of them, and running one
imports its module only. Each provider of the registry (:data:`app.providers.NAMES`)
adds its command group under its own name, ``wallet <provider> …``.

A command that needs the database runs in an app built with ``create_app(web=False)``:
the settings and the engine, no routes, and no provider unless it is one of
:data:`WITH_PROVIDERS`. Domain, configuration and database errors end
as one line on stderr and exit status 1; usage errors as one line and status 2. A
command group given no command prints its help and exits 0.
"""

from __future__ import annotations

import sys
from importlib import import_module
from typing import Any

import click
from click.exceptions import NoArgsIsHelpError
from flask import Flask
from flask.cli import FlaskGroup, ScriptInfo

from app.config import ConfigError
from app.errors import WalletError
from app.providers import NAMES

COMMANDS: dict[str, tuple[str, str]] = {
    "balance": ("finance:balance", "Show PLAYER_ID's balances."),
    "callbacks": ("callbacks:cli", "The audit trail of inbound provider callbacks."),
    "db": ("db:db_cli", "Database schema and the application's role."),
    "deposit": ("cashier:deposit", "Credit AMOUNT CURRENCY to PLAYER_ID from the cashier."),
    "dev": ("db:dev_cli", "Development data (refused when WALLET_ENV=production)."),
    "ledger": ("books:ledger_cli", "The books."),
    "limits": ("limits:cli", "Loss, wager and deposit limits (player protection)."),
    "players": ("players:cli", "Players and their wallets."),
    "report": ("reports:cli", "Reports for finance and support."),
    "simulate": ("simulate:simulate", "Play a provider against a running wallet."),
    "reconcile": ("reconcile:reconcile_command", "Reconcile PROVIDER's transaction report FILE."),
    "statement": ("finance:statement", "Show PLAYER_ID's statement."),
    "export": ("export:export_group", "Streamed exports for regulators and data warehouses."),
    "transactions": ("books:transactions_cli", "Provider transactions."),
    "withdraw": ("cashier:withdraw", "Debit AMOUNT CURRENCY from PLAYER_ID to the cashier."),
}
# Commands that use the providers' settings or registry. The others run in an app built
# without importing any provider (a third of `wallet balance`'s start-up).
WITH_PROVIDERS = {"simulate", "reconcile", *NAMES}
FLASK_OPTIONS = {"app", "debug", "env_file"}  # FlaskGroup's own: not the wallet's


def load(name: str) -> click.Command | None:
    """The command ``name``: from :data:`COMMANDS`, or a provider's group."""
    if name in COMMANDS:
        module, _, attribute = COMMANDS[name][0].partition(":")
        command: click.Command = getattr(import_module(f"app.cli.{module}"), attribute)
        return command
    if name in NAMES:
        from app.providers import PROVIDERS

        return next((p.cli for p in PROVIDERS if p.name == name), None)
    return None


class WalletGroup(FlaskGroup):
    """Flask's command group, without Flask's options, plugins or app-defined commands:
    the commands are :data:`COMMANDS` and the providers' groups, loaded when used."""

    def __init__(self, **attrs: Any) -> None:
        super().__init__(add_default_commands=False, add_version_option=False, **attrs)
        self.params = [p for p in self.params if p.name not in FLASK_OPTIONS]

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted([*COMMANDS, *NAMES])

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in WITH_PROVIDERS:
            ctx.ensure_object(ScriptInfo).data["providers"] = True
        return load(cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """Each command's sentence from :data:`COMMANDS`, without importing it."""
        rows = [
            (name, COMMANDS[name][1] if name in COMMANDS else f"Commands of the {name} provider.")
            for name in self.list_commands(ctx)
        ]
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except NoArgsIsHelpError as exc:  # a group given no command: its help, as --help
            click.echo(exc.ctx.get_help())
            return None
        except (WalletError, ConfigError) as exc:
            raise click.ClickException(str(exc)) from None
        except click.UsageError as exc:
            where = f" See '{exc.ctx.command_path} --help'." if exc.ctx else ""
            raise click.UsageError(exc.format_message() + where) from None
        except Exception as exc:
            if not _is_database_error(exc):
                raise
            reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
            raise click.ClickException(f"database error: {reason}") from None


def _is_database_error(exc: Exception) -> bool:
    """Whether ``exc`` is SQLAlchemy's, asked without importing SQLAlchemy: a command that
    never touched the database has not loaded it."""
    errors = sys.modules.get("sqlalchemy.exc")
    return errors is not None and isinstance(exc, errors.SQLAlchemyError)


def _create_app() -> Flask:
    """The app a command runs in: the settings and the database, no routes; the providers'
    settings only for the commands of :data:`WITH_PROVIDERS`."""
    from app import create_app

    info = click.get_current_context().ensure_object(ScriptInfo)
    return create_app(providers=None if info.data.get("providers") else (), web=False)


@click.pass_context
def _root(ctx: click.Context, version: bool, as_json: bool) -> None:
    if version:
        from app.cli.version import print_version

        print_version(as_json)
        ctx.exit()
    if as_json:
        raise click.UsageError("--json here goes with --version; a command takes its own --json")
    if ctx.invoked_subcommand is None:
        click.echo(ctx.get_help())


cli = WalletGroup(
    name="wallet",
    create_app=_create_app,
    load_dotenv=False,  # app.config reads .env itself
    set_debug_flag=False,
    invoke_without_command=True,
    callback=_root,
    params=[
        click.Option(["--version"], is_flag=True, help="Print the wallet's version."),
        click.Option(
            ["--json", "as_json"],
            is_flag=True,
            help="With --version: every version that "
            "support asks for (Python, Flask, PostgreSQL, the schema, …) as JSON.",
        ),
    ],
    help="Admin commands for the seamless wallet.\n\nExample: wallet balance alice --json",
)


def main() -> None:
    cli.main(prog_name="wallet")
