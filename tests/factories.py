"""Test data built through the wallet's own functions, so the books always balance."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import factory
from sqlalchemy import Engine

from app.core import players, wallet
from app.db import UnitOfWork

_engine: Engine | None = None
_app: Any = None


def bind(engine: Engine, app: Any = None) -> None:
    global _engine, _app
    _engine = engine
    _app = app


def close_app(app: Any) -> None:
    """Done with an extra app: let its audit writer finish, then close its connections."""
    from app.web import audit

    audit.flush(app)
    app.extensions["wallet.held"].dispose()
    app.extensions["wallet.engine"].dispose()


def flush_audit() -> None:
    """Wait until the app's audit trail has stored every callback answered so far."""
    from app.web import audit

    if _app is not None:
        audit.flush(_app)


def run_committed(work: Any, *args: Any) -> Any:
    assert _engine is not None, "factories need the engine fixture"
    with UnitOfWork(_engine) as uow:
        result = work(uow.conn, *args)
        uow.commit()
    return result


class PlayerFactory(factory.Factory):
    """``PlayerFactory(balance=Decimal("50.00"), currencies=("USD", "EUR"), blocked=True)``.

    Returns the player id; every currency is funded with ``balance`` by a cashier deposit.
    """

    class Meta:
        model = dict

    id = factory.Sequence(lambda n: f"player-{n}")
    currencies: tuple[str, ...] = ("USD",)
    balance = Decimal("100.00")
    blocked = False

    @classmethod
    def _create(cls, model_class: Any, *args: Any, **kw: Any) -> str:
        player_id: str = kw["id"]
        run_committed(players.create, player_id, list(kw["currencies"]))
        for currency in kw["currencies"]:
            if kw["balance"]:
                deposit(player_id, Decimal(kw["balance"]), currency)
        if kw["blocked"]:
            run_committed(players.set_blocked, player_id, True)
        return player_id


def deposit(player_id: str, amount: Decimal, currency: str = "USD") -> wallet.Outcome:
    request = wallet.Request(
        provider=wallet.CASHIER,
        external_id=f"seed-{player_id}-{currency}-{amount}",
        kind=wallet.Kind.DEPOSIT,
        player_id=player_id,
        currency=currency,
        amount=amount,
        counterparty=wallet.CASHIER,
    )
    outcome: wallet.Outcome = run_committed(wallet.execute, request)
    return outcome


def balance(player_id: str, currency: str = "USD") -> Decimal:
    balances: dict[str, Decimal] = run_committed(wallet.balances, player_id, currency)
    return balances[currency]
