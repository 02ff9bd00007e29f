"""WIN amounts on the Upside wire: atomic-unit integer strings with 18 decimals.

The ledger keeps WIN as ``Decimal`` whole tokens (``money`` gives WIN exponent 18);
the Upside protocol speaks atomic units (``"1000000000000000000"`` is one WIN).
Everything here is integer arithmetic, so amounts far above 2^64 stay exact.
"""

from __future__ import annotations

import re
from decimal import Decimal

from app.core import money
from app.errors import InvalidAmount

DECIMALS = 18
ONE_WIN = 10**DECIMALS
CURRENCY = "WIN"
MAX_ATOMIC = int(money.MAX_AMOUNT) * ONE_WIN - 1
_ATOMIC = re.compile(r"0|[1-9][0-9]{0,59}")


def parse_atomic(value: object, field: str) -> int:
    """``"1500000000000000000"`` (or a JSON integer) → ``1500000000000000000``; exact."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not _ATOMIC.fullmatch(value):
        raise InvalidAmount(
            f"{field} must be a non-negative integer string of atomic WIN units "
            '(18 decimals), e.g. "1000000000000000000" for 1 WIN'
        )
    atomic = int(value)
    if atomic > MAX_ATOMIC:
        raise InvalidAmount(f"{field} is larger than the wallet can hold")
    return atomic


def to_decimal(atomic: int) -> Decimal:
    """Atomic units → whole WIN as an exact Decimal (string construction never rounds)."""
    sign = "-" if atomic < 0 else ""
    return Decimal(f"{sign}{abs(atomic)}E-{DECIMALS}")


def to_atomic(amount: Decimal | int) -> int:
    """Whole WIN → atomic units; the ledger never holds more than 18 decimals."""
    atomic = Decimal(amount).scaleb(DECIMALS)
    if atomic != atomic.to_integral_value():
        raise ValueError(f"{amount} has more than {DECIMALS} decimals")
    return int(atomic)


def format_units(atomic: int) -> str:
    """What viem's ``formatUnits(value, 18)`` writes: ``"99"``, ``"1.5"``, ``"-0.25"``."""
    sign = "-" if atomic < 0 else ""
    whole, fraction = divmod(abs(atomic), ONE_WIN)
    digits = f"{fraction:0{DECIMALS}d}".rstrip("0")
    return f"{sign}{whole}.{digits}" if digits else f"{sign}{whole}"


def amount_fields(name: str, atomic: int) -> dict[str, str]:
    """On the wire: ``{"userBalance": "99000…", "userBalanceFormatted": "99"}``."""
    return {name: str(atomic), f"{name}Formatted": format_units(atomic)}


def parse_typed(text: str, atomic: bool, field: str) -> int:
    """What an operator types: whole WIN (``2500``, ``0.5``), or atomic units with
    ``atomic``; the amount in atomic units."""
    if atomic:
        return parse_atomic(text, field)
    return to_atomic(money.parse_amount(text, CURRENCY))


def readable_fields(name: str, atomic: int) -> dict[str, str]:
    """For people (the CLI): ``{"pool_balance": "2500.5", "pool_balance_atomic": "25005…"}``."""
    return {name: format_units(atomic), f"{name}_atomic": str(atomic)}
