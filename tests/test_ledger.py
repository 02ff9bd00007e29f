"""The database itself keeps the books: balanced journals, no zero postings, no edits."""

from decimal import Decimal

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from app.core import ledger
from app.db import UnitOfWork
from tests.factories import PlayerFactory


def _account(conn, player_id, currency="USD"):
    return ledger.lock_player_account(conn, player_id, currency)


def test_a_balanced_transaction_commits(engine):
    player = PlayerFactory(balance="0")
    with UnitOfWork(engine) as uow:
        account = _account(uow.conn, player)
        house = ledger.system_account(uow.conn, "house:test", "USD")
        ledger.post(
            uow.conn,
            "win",
            [ledger.Leg(account.id, "USD", Decimal("5")), ledger.Leg(house, "USD", Decimal("-5"))],
            None,
        )
        uow.commit()
    with UnitOfWork(engine) as uow:
        assert ledger.account_balance(uow.conn, house) == Decimal("-5")
        assert _account(uow.conn, player).balance == Decimal("5")


def test_an_unbalanced_transaction_is_rejected_at_commit(engine):
    player = PlayerFactory(balance="0")
    with UnitOfWork(engine) as uow:
        account = _account(uow.conn, player)
        house = ledger.system_account(uow.conn, "house:test", "USD")
        uow.commit()
    with pytest.raises(DBAPIError, match="does not balance"), UnitOfWork(engine) as uow:
        ledger.post(
            uow.conn,
            "win",
            [
                ledger.Leg(account.id, "USD", Decimal("5")),
                ledger.Leg(house, "USD", Decimal("-4.99")),
            ],
            None,
        )
        uow.commit()


def test_legs_must_balance_per_currency(engine):
    player = PlayerFactory(balance="0", currencies=("USD", "EUR"))
    with UnitOfWork(engine) as uow:
        usd = _account(uow.conn, player, "USD")
        eur = _account(uow.conn, player, "EUR")
        uow.commit()
    with pytest.raises(DBAPIError, match="does not balance"), UnitOfWork(engine) as uow:
        ledger.post(
            uow.conn,
            "fx",
            [ledger.Leg(usd.id, "USD", Decimal("5")), ledger.Leg(eur.id, "EUR", Decimal("-5"))],
            None,
        )
        uow.commit()


def test_a_posting_in_another_currency_than_its_account_is_rejected(engine):
    player = PlayerFactory(balance="0")
    with UnitOfWork(engine) as uow:
        usd = _account(uow.conn, player, "USD")
        house = ledger.system_account(uow.conn, "house:test", "USD")
        uow.commit()
    with pytest.raises(DBAPIError, match="does not exist in currency"), UnitOfWork(engine) as uow:
        ledger.post(
            uow.conn,
            "win",
            [ledger.Leg(usd.id, "EUR", Decimal("5")), ledger.Leg(house, "EUR", Decimal("-5"))],
            None,
        )
        uow.commit()


def test_a_zero_posting_is_rejected(engine):
    player = PlayerFactory(balance="0")
    with UnitOfWork(engine) as uow:
        account = _account(uow.conn, player)
        with pytest.raises(DBAPIError, match="amount_not_zero"):
            ledger.post(uow.conn, "win", [ledger.Leg(account.id, "USD", Decimal("0"))], None)


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE postings SET amount = amount * 2",
        "DELETE FROM postings",
        "DELETE FROM journal_transactions",
        "UPDATE provider_transactions SET amount = 0",
        "DELETE FROM accounts",
    ],
)
def test_ledger_rows_are_immutable(engine, statement):
    PlayerFactory(balance="10.00")
    with pytest.raises(DBAPIError, match="immutable"), engine.begin() as conn:
        conn.execute(text(statement))


def test_verify_finds_a_cached_balance_that_disagrees_with_its_postings(engine):
    player = PlayerFactory(balance="10.00")
    with engine.begin() as conn:
        conn.execute(text("UPDATE accounts SET balance = 11 WHERE player_id = :p"), {"p": player})
        report = ledger.verify(conn)
        assert not report.ok
        assert report.mismatched[0]["player_id"] == player
        conn.execute(text("UPDATE accounts SET balance = 10 WHERE player_id = :p"), {"p": player})
        assert ledger.verify(conn).ok


def test_verify_reports_negative_balances_without_failing(engine):
    player = PlayerFactory(balance="0")
    with engine.begin() as conn:
        account = _account(conn, player)
        house = ledger.system_account(conn, "house:test", "USD")
        ledger.post(
            conn,
            "rollback",
            [ledger.Leg(account.id, "USD", Decimal("-3")), ledger.Leg(house, "USD", Decimal("3"))],
            None,
        )
    with engine.begin() as conn:
        report = ledger.verify(conn)
    assert report.ok
    assert report.negative == [{"player_id": player, "currency": "USD", "balance": Decimal("-3")}]
