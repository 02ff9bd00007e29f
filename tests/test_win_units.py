"""WIN atomic units: exact 18-decimal arithmetic, viem-style formatting, amounts above 2^64."""

from __future__ import annotations

from decimal import Decimal

import pytest

from app.errors import InvalidAmount
from app.providers.upside import games, win_units
from tests.factories import balance, deposit, run_committed
from tests.upside_helpers import act, bet, make_game, make_key, make_player, payout, token

ABOVE_2_64 = 2**64 + 1


@pytest.mark.parametrize(
    ("atomic", "formatted"),
    [
        (0, "0"),
        (1, "0.000000000000000001"),
        (99 * 10**18, "99"),
        (15 * 10**17, "1.5"),
        (-25 * 10**16, "-0.25"),
        (ABOVE_2_64, "18.446744073709551617"),
        (10**36 - 1, "999999999999999999.999999999999999999"),
    ],
)
def test_format_units_writes_what_viem_writes(atomic, formatted):
    assert win_units.format_units(atomic) == formatted


def test_round_trip_through_decimal_is_exact_above_2_64():
    for atomic in (ABOVE_2_64, 2**100 + 3, 10**36 - 1):
        assert win_units.to_atomic(win_units.to_decimal(atomic)) == atomic


@pytest.mark.parametrize("value", ["1.5", "-1", "01", "1e18", " 1", "", True, 1.0, None])
def test_parse_atomic_rejects_anything_but_an_integer(value):
    with pytest.raises(InvalidAmount):
        win_units.parse_atomic(value, "betAmount")


def test_parse_atomic_refuses_more_than_the_ledger_holds():
    with pytest.raises(InvalidAmount):
        win_units.parse_atomic(str(10**36), "betAmount")
    assert win_units.parse_atomic(str(10**36 - 1), "betAmount") == 10**36 - 1


def test_bet_and_payout_above_2_64_atomic_units_are_exact_to_the_last_unit(client):
    make_game(pool_win=10**12)
    player = make_player(win=0)
    deposit(player, Decimal("123456789012.123456789012345678"), "WIN")
    worker, jwt = make_key(), token(player)
    stake = ABOVE_2_64 * 3 + 7
    placed = act(client, worker, jwt, bet("big", stake))
    start = 123456789012123456789012345678
    assert placed["userBalance"] == str(start - stake)
    paid = act(client, worker, jwt, payout("big", 2 * stake))
    assert paid["userBalance"] == str(start + stake)
    assert paid["payoutAmount"] == str(2 * stake)
    assert balance(player, "WIN") == win_units.to_decimal(start + stake)
    pool = run_committed(games.pool_balance, run_committed(games.find, "coin-flip"))
    assert pool == 10**12 * 10**18 - stake


def test_fractional_multiplier_caps_payouts_by_floor():
    game = games.Game("g", Decimal("1.98"), True)
    assert game.max_payout(ABOVE_2_64) == ABOVE_2_64 * 198 // 100
    assert game.max_bet(ABOVE_2_64) == ABOVE_2_64 * 100 // 198


@pytest.mark.parametrize(
    ("typed", "atomic", "units"),
    [("2500", False, 2500 * 10**18), ("0.5", False, 5 * 10**17), ("7", True, 7)],
)
def test_an_operator_types_whole_win_or_atomic_units(typed, atomic, units):
    assert win_units.parse_typed(typed, atomic, "AMOUNT_WIN") == units


def test_the_cli_shows_the_amount_and_its_atomic_units_side_by_side():
    assert win_units.readable_fields("pool_balance", 2500 * 10**18 + 5 * 10**17) == {
        "pool_balance": "2500.5",
        "pool_balance_atomic": "2500500000000000000000",
    }
