"""The finance team's commands: balance and statement at any moment, the player-funds
report and balance snapshots.

They parse arguments, call :mod:`app.core.finance` and :mod:`app.core.book`, and format.
Reads run in one REPEATABLE READ transaction (:func:`app.cli.finance_support.books`), so
an opening balance, its lines and the closing balance come from one snapshot of the
books. Exports are in :mod:`app.cli.export`, reconciliation in :mod:`app.cli.reconcile`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import click
from flask.cli import with_appcontext

from app.cli.finance_support import books, read_moment, read_period, timezone
from app.cli.support import emit, json_option, shown, table
from app.core import book, finance, money, periods
from app.errors import InvalidRequest


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
    end = read_moment("--as-of", as_of).end if as_of else None
    with books() as conn:
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
    period = read_period(start, end, default_today=False)
    code = currency.upper() if currency else None
    with books(replica=True) as conn:
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
    end = read_moment("--as-of", as_of).end if as_of else None
    with books(replica=True) as conn:
        funds = book.player_funds(conn, end)
    currencies = {
        code: {k: _amount(v, code) if isinstance(v, Decimal) else v for k, v in row.items()}
        for code, row in funds.currencies.items()
    }
    data = {
        "as_of": funds.as_of,
        "timezone": timezone(),
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
    moment = read_moment("--at", at)
    taken_at = moment.start if at.strip().lower() in ("today", "now") else moment.end
    assert taken_at is not None
    with books() as conn:
        taken = book.take_snapshot(conn, taken_at, datetime.now(UTC))
    data = {
        "taken_at": taken.taken_at,
        "accounts": taken.accounts,
        "created": taken.created,
        "based_on": taken.based_on,
    }
    verb = "stored" if taken.created else "already stored"
    emit(data, as_json, text=f"{verb}: {taken.accounts} balances at {taken.taken_at.isoformat()}")
