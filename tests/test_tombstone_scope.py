"""A tombstone cancels only the original of the same player and currency (docs/decisions.md).

A rollback that names a transaction not seen yet is recorded as a tombstone. When the
original arrives later it moves nothing, but only if it belongs to the player and
currency the rollback named: another player's (or another currency's) transaction that
happens to carry the same id is applied like any other, in both orders.
"""

from __future__ import annotations

from decimal import Decimal

from tests import hypetech_helpers as hypetech
from tests import igpx_helpers as igpx
from tests.factories import PlayerFactory, balance

# --- IGPX -------------------------------------------------------------------------------


def test_igpx_another_players_tombstone_does_not_cancel_a_result(client):
    alice, bob = PlayerFactory(balance="0"), PlayerFactory(balance="0")
    igpx.post(client, "transaction-rollback", igpx.rollback("rb10", "r10", bob, "100"))
    answer = igpx.post(client, "transaction", igpx.result("r10", alice, "100"))
    assert answer["error"] is None
    assert balance(alice) == Decimal("100.00")
    assert balance(bob) == Decimal("0.00")


def test_igpx_another_players_tombstone_does_not_decline_a_bet(client):
    alice, bob = PlayerFactory(balance="50"), PlayerFactory(balance="50")
    igpx.post(client, "transaction-rollback", igpx.rollback("rb10", "b10", bob, "20"))
    assert igpx.post(client, "transaction", igpx.bet("b10", alice, "20"))["error"] is None
    assert balance(alice) == Decimal("30.00")
    assert balance(bob) == Decimal("50.00")


def test_igpx_a_tombstone_in_another_currency_does_not_cancel_a_result(client):
    alice = PlayerFactory(balance="0", currencies=("USD", "EUR"))
    igpx.post(client, "transaction-rollback", igpx.rollback("rb10", "r10", alice, "5", "EUR"))
    assert igpx.post(client, "transaction", igpx.result("r10", alice, "5"))["error"] is None
    assert balance(alice) == Decimal("5.00")
    assert balance(alice, "EUR") == Decimal("0.00")


def test_igpx_the_players_own_tombstone_still_cancels_the_late_result(client):
    alice = PlayerFactory(balance="0")
    igpx.post(client, "transaction-rollback", igpx.rollback("rb10", "r10", alice, "100"))
    assert igpx.post(client, "transaction", igpx.result("r10", alice, "100"))["error"] is None
    assert balance(alice) == Decimal("0.00")


def test_igpx_rollback_naming_another_players_result_is_a_conflict(client):
    alice, bob = PlayerFactory(balance="0"), PlayerFactory(balance="0")
    igpx.post(client, "transaction", igpx.result("r10", alice, "100"))
    answer = igpx.post(client, "transaction-rollback", igpx.rollback("rb10", "r10", bob, "100"))
    assert answer == {"error": "TRANSACTION_CONFLICT"}
    assert balance(alice) == Decimal("100.00")


# --- Hypetech ---------------------------------------------------------------------------


def _brl(amount: str) -> str:
    return PlayerFactory(currencies=("BRL",), balance=amount)


def test_hypetech_another_players_tombstone_does_not_cancel_a_win(client):
    alice, bob = _brl("0"), _brl("0")
    hypetech.ok(client, "rollback", hypetech.new_rollback("rb-1", "600", bob, "40"))
    answer = hypetech.ok(client, "rewards", hypetech.win("600", alice, "40", currency="BRL"))
    assert answer["new_balance"] == "40.00"
    assert balance(alice, "BRL") == Decimal("40.00")
    assert balance(bob, "BRL") == Decimal("0.00")


def test_hypetech_another_players_tombstone_does_not_decline_a_bet(client):
    alice, bob = _brl("100"), _brl("100")
    hypetech.ok(client, "rollback", hypetech.old_rollback("559", bob))
    hypetech.ok(client, "register", hypetech.bet("559", alice, "30", currency="BRL"))
    assert balance(alice, "BRL") == Decimal("70.00")
    assert balance(bob, "BRL") == Decimal("100.00")


def test_hypetech_rollback_naming_another_players_win_is_a_conflict(client):
    alice, bob = _brl("0"), _brl("0")
    hypetech.ok(client, "rewards", hypetech.win("600", alice, "40", currency="BRL"))
    refused = hypetech.problem(
        client, "rollback", hypetech.new_rollback("rb-1", "600", bob, "40"), 409
    )
    assert refused["code"] == "TRANSACTION_CONFLICT"
    assert balance(alice, "BRL") == Decimal("40.00")
