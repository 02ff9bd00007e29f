"""``wallet deposit`` and ``wallet withdraw``: the cashier, idempotent on ``--reference``."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from app.cli.support import (
    AMOUNT_ARGUMENTS,
    emit,
    fail,
    json_option,
    positive_amount,
    run_as_admin,
    shown,
)
from app.core import money, wallet


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
    outcome = run_as_admin(wallet.execute, request)
    if outcome.declined:
        why = str(outcome.reason)
        if outcome.limit and outcome.remaining is not None:
            left = money.format_amount(outcome.remaining, currency)
            why += f" ({outcome.limit} limit: {left} {currency} left)"
        fail(
            f"{kind} declined: {why}; balance is "
            f"{shown(money.format_amount(outcome.balance_after, currency), currency)} {currency}"
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


@click.command("deposit", context_settings=AMOUNT_ARGUMENTS)
@click.argument("player_id")
@click.argument("amount")
@click.argument("currency")
@click.option("--reference", required=True, help="Unique; a repeat changes nothing.")
@json_option
@with_appcontext
def deposit(player_id: str, amount: str, currency: str, reference: str, as_json: bool) -> None:
    """Credit AMOUNT CURRENCY to PLAYER_ID from the cashier.

    AMOUNT is a plain decimal above zero, within the currency's decimal places.

    Example: wallet deposit alice 10.50 USD --reference dep-1001
    """
    _cashier(wallet.Kind.DEPOSIT, player_id, amount, currency, reference, as_json)


@click.command("withdraw", context_settings=AMOUNT_ARGUMENTS)
@click.argument("player_id")
@click.argument("amount")
@click.argument("currency")
@click.option("--reference", required=True, help="Unique; a repeat changes nothing.")
@json_option
@with_appcontext
def withdraw(player_id: str, amount: str, currency: str, reference: str, as_json: bool) -> None:
    """Debit AMOUNT CURRENCY from PLAYER_ID to the cashier.

    Never below zero. AMOUNT is a plain decimal above zero, within the currency's
    decimal places.

    Example: wallet withdraw alice 5 USD --reference wd-1001
    """
    _cashier(wallet.Kind.WITHDRAWAL, player_id, amount, currency, reference, as_json)
