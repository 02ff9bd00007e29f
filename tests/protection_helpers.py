"""Player protection in tests: limits and exclusions through the core, and a clock.

``at(when)`` opens one transaction whose ``wallet_now()`` is ``when`` (``SET LOCAL
wallet.now``): bets, limit changes and reads made on its connection happen then. The
setting is transaction-local, so no pooled connection keeps it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, text

from app.core import durations, exclusions, limits, wallet
from tests import factories

NO_DELAY = durations.parse("0")
DAY = durations.parse("24h")


@contextmanager
def at(when: datetime | str) -> Iterator[Connection]:
    """A transaction in which the wallet's clock reads ``when``."""
    assert factories._engine is not None, "needs the engine fixture"
    with factories._engine.begin() as conn:
        conn.execute(text("SELECT set_config('wallet.now', :when, true)"), {"when": str(when)})
        yield conn


def run(work: Any, *args: Any, when: datetime | str | None = None, **kwargs: Any) -> Any:
    """``work(conn, …)`` committed, now or at ``when``."""
    if when is None:
        return factories.run_committed(lambda conn: work(conn, *args, **kwargs))
    with at(when) as conn:
        return work(conn, *args, **kwargs)


def set_limit(
    player: str,
    spec: str,
    currency: str = "USD",
    delay: durations.Duration = DAY,
    when: datetime | str | None = None,
    by: str = "tests",
) -> limits.Change:
    """``set_limit(p, "loss 50/day")``: one limit set as ``wallet limits set`` would."""
    kind, raw = spec.split()
    wanted = [limits.parse(kind, raw, currency)]
    changes: list[limits.Change] = run(
        limits.set_limits, player, currency, wanted, by, delay, when=when
    )
    return changes[0]


def remove_limit(
    player: str,
    spec: str,
    currency: str = "USD",
    delay: durations.Duration = DAY,
    when: datetime | str | None = None,
) -> limits.Change:
    """``remove_limit(p, "loss day")``."""
    kind, period = spec.split()
    changes: list[limits.Change] = run(
        limits.remove_limits, player, currency, [(kind, period)], "tests", delay, when=when
    )
    return changes[0]


def show(player: str, when: datetime | str | None = None) -> dict[str, limits.LimitView]:
    """The player's limits by name (``"loss/day"``)."""
    views = run(limits.show, player, when=when)
    return {f"{view.kind}/{view.period}": view for view in views}


def exclude(player: str, kind: str = exclusions.EXCLUSION, **options: Any) -> Any:
    when = options.pop("when", None)
    return run(exclusions.exclude, player, kind, by="tests", when=when, **options)


def money_request(
    kind: wallet.Kind,
    tx: str,
    player: str,
    amount: str,
    reference: str | None = None,
    currency: str = "USD",
) -> wallet.Request:
    cashier = kind in (wallet.Kind.DEPOSIT, wallet.Kind.WITHDRAWAL)
    return wallet.Request(
        provider=wallet.CASHIER if cashier else "igpx",
        external_id=tx,
        kind=kind,
        player_id=player,
        currency=currency,
        amount=Decimal(amount),
        reference_id=reference,
        counterparty=wallet.CASHIER if cashier else None,
    )


def bet(tx: str, player: str, amount: str, when: datetime | str | None = None) -> wallet.Outcome:
    return _apply(money_request(wallet.Kind.BET, tx, player, amount), when)


def win(tx: str, player: str, amount: str, when: datetime | str | None = None) -> wallet.Outcome:
    return _apply(money_request(wallet.Kind.WIN, tx, player, amount), when)


def roll_back(
    tx: str, original: str, player: str, when: datetime | str | None = None
) -> wallet.Outcome:
    return _apply(money_request(wallet.Kind.ROLLBACK, tx, player, "0", original), when)


def deposit(
    tx: str, player: str, amount: str, when: datetime | str | None = None
) -> wallet.Outcome:
    return _apply(money_request(wallet.Kind.DEPOSIT, tx, player, amount), when)


def withdraw(tx: str, player: str, amount: str) -> wallet.Outcome:
    return _apply(money_request(wallet.Kind.WITHDRAWAL, tx, player, amount), None)


def _apply(request: wallet.Request, when: datetime | str | None) -> wallet.Outcome:
    outcome: wallet.Outcome = run(wallet.execute, request, when=when)
    return outcome
