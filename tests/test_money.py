"""Amounts are exact Decimals in the currency's precision; anything else is refused."""

from decimal import Decimal

import pytest

from app.core.money import exponent, format_amount, parse_amount
from app.errors import InvalidAmount, UnknownCurrency


@pytest.mark.parametrize(
    ("value", "currency", "expected"),
    [
        ("10.50", "USD", Decimal("10.50")),
        ("10.500", "USD", Decimal("10.5")),
        (Decimal("0.1"), "EUR", Decimal("0.1")),
        (7, "JPY", Decimal(7)),
        ("0", "USD", Decimal(0)),
        ("1.000000000000000001", "WIN", Decimal("1.000000000000000001")),
        (Decimal("1.5E+2"), "USD", Decimal(150)),
    ],
)
def test_exact_amounts_are_accepted(value, currency, expected):
    assert parse_amount(value, currency) == expected


@pytest.mark.parametrize(
    ("value", "currency"),
    [
        ("-1", "USD"),
        (Decimal("-0.01"), "USD"),
        ("1.001", "USD"),
        ("1.5", "JPY"),
        (0.1, "USD"),
        (True, "USD"),
        ("NaN", "USD"),
        (Decimal("NaN"), "USD"),
        (Decimal("Infinity"), "USD"),
        ("1e3", "USD"),
        (" 1", "USD"),
        ("1,00", "USD"),
        ("", "USD"),
        (None, "USD"),
        (Decimal("1E+400"), "USD"),
        (10**30, "USD"),
        ("9" * 41, "USD"),
    ],
)
def test_inexact_or_out_of_range_amounts_are_refused(value, currency):
    with pytest.raises(InvalidAmount):
        parse_amount(value, currency)


def test_negative_zero_becomes_zero():
    assert str(parse_amount(Decimal("-0"), "USD")) == "0"


def test_currency_exponents_follow_iso_4217_and_win_has_18():
    assert [exponent(c) for c in ("USD", "EUR", "GBP", "BRL", "JPY", "KWD", "WIN")] == [
        2,
        2,
        2,
        2,
        0,
        3,
        18,
    ]


def test_unknown_currency_is_refused():
    with pytest.raises(UnknownCurrency):
        exponent("XYZ")


@pytest.mark.parametrize(
    ("amount", "currency", "text"),
    [
        (Decimal("2050"), "USD", "2050.00"),
        (Decimal("0.1"), "USD", "0.10"),
        (Decimal("-30"), "USD", "-30.00"),
        (Decimal("5"), "JPY", "5"),
        (Decimal("1.5"), "WIN", "1.500000000000000000"),
    ],
)
def test_amounts_are_formatted_to_the_currency_exponent(amount, currency, text):
    assert format_amount(amount, currency) == text
