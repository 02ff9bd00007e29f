"""Exact money: parsing provider amounts and formatting them per currency.

Amounts are ``Decimal`` from the wire to the database (``NUMERIC(38, 18)``) and
back. A binary float never touches them: JSON is parsed with
``parse_float=Decimal`` and strings are parsed as plain decimal text.
"""

from __future__ import annotations

import decimal
import re
from decimal import Decimal, InvalidOperation

from app.errors import InvalidAmount, UnknownCurrency

# ISO 4217 minor units. Every active code not listed under another exponent has 2.
_EXPONENT_0 = "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF"
_EXPONENT_3 = "BHD IQD JOD KWD LYD OMR TND"
_EXPONENT_4 = "CLF UYW"
_EXPONENT_2 = (
    "AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BMD BND BOB BOV BRL BSD BTN BWP "
    "BYN BZD CAD CDF CHE CHF CHW CNY COP COU CRC CUC CUP CVE CZK DKK DOP DZD EGP ERN ETB EUR "
    "FJD FKP GBP GEL GHS GIP GMD GTQ GYD HKD HNL HTG HUF IDR ILS INR IRR JMD KES KGS KHR KPW "
    "KYD KZT LAK LBP LKR LRD LSL MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MXV MYR MZN "
    "NAD NGN NIO NOK NPR NZD PAB PEN PGK PHP PKR PLN QAR RON RSD RUB SAR SBD SCR SDG SEK SGD "
    "SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TOP TRY TTD TWD TZS UAH USD USN UYU UZS "
    "VED VES WST XCD YER ZAR ZMW ZWG"
)

CURRENCY_EXPONENTS: dict[str, int] = {
    **{code: 2 for code in _EXPONENT_2.split()},
    **{code: 0 for code in _EXPONENT_0.split()},
    **{code: 3 for code in _EXPONENT_3.split()},
    **{code: 4 for code in _EXPONENT_4.split()},
    "WIN": 18,  # a token counted in 18-decimal atomic units
}

# NUMERIC(38, 18) holds 20 integer digits; amounts stay well inside it.
# Decimal's default 28 significant digits would round sums of such amounts (a WIN
# balance of 10^11 with 18 decimals has 30 digits), so every thread computes with 60.
ARITHMETIC_PRECISION = 60
decimal.DefaultContext.prec = ARITHMETIC_PRECISION
decimal.getcontext().prec = ARITHMETIC_PRECISION
MAX_AMOUNT = Decimal(10) ** 18
_PLAIN_DECIMAL = re.compile(r"[0-9]{1,40}(\.[0-9]{1,40})?")


def is_plain_decimal(text: str) -> bool:
    """``10.50``: digits with at most one point; no sign, exponent or spaces."""
    return _PLAIN_DECIMAL.fullmatch(text) is not None


def exponent(currency: str) -> int:
    try:
        return CURRENCY_EXPONENTS[currency]
    except (KeyError, TypeError):
        raise UnknownCurrency(f"unknown currency {currency!r}") from None


def parse_amount(value: object, currency: str) -> Decimal:
    """Turn a JSON amount (string, integer or Decimal-parsed number) into an exact Decimal.

    Rejects booleans, floats, negatives, NaN/Infinity, values beyond ``MAX_AMOUNT`` and
    more fractional digits than the currency has (trailing zeros are allowed).
    """
    amount = _to_decimal(value)
    if not amount.is_finite():
        raise InvalidAmount("amount must be a finite number")
    if amount < 0:
        raise InvalidAmount("amount must not be negative")
    if amount >= MAX_AMOUNT:
        raise InvalidAmount(f"amount must be below {MAX_AMOUNT}")
    places = exponent(currency)
    quantum = Decimal(1).scaleb(-places)
    if amount != amount.quantize(quantum):
        raise InvalidAmount(f"{currency} amounts have at most {places} decimal places")
    return amount + 0  # normalises -0 to 0


def _to_decimal(value: object) -> Decimal:
    if isinstance(value, bool | float):
        raise InvalidAmount("amount must be a decimal string or an exact JSON number")
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, str) and is_plain_decimal(value):
        try:
            return Decimal(value)
        except InvalidOperation:  # pragma: no cover - the pattern admits only valid text
            pass
    raise InvalidAmount('amount must be a non-negative decimal number such as "10.50"')


def format_amount(amount: Decimal, currency: str) -> str:
    """The currency's exponent, fixed-point: ``Decimal("2050") -> "2050.00"`` for USD."""
    quantum = Decimal(1).scaleb(-exponent(currency))
    return f"{amount.quantize(quantum):f}"
