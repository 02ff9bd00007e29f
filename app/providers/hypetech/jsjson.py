"""``JSON.stringify`` as JavaScript writes it, for values parsed by Python's ``json``.

Hypetech signs ``url + JSON.stringify(body)``. When the raw body we receive is not
byte-for-byte what their Node process stringified (another serializer, other
whitespace), we re-create Node's text from the parsed value:

* compact separators, no spaces;
* object keys in JavaScript's own-property order: array-index keys (``"0"`` …
  ``"4294967294"``, no leading zeros) first in ascending numeric order, then the
  other keys in insertion order;
* numbers as ``Number::toString`` formats the IEEE double they denote
  (``200.0`` → ``200``, ``1e21`` → ``1e+21``, ``-0`` → ``0``, non-finite → ``null``);
* strings with only ``"``, ``\\``, control characters and lone surrogates escaped
  (non-ASCII, ``/``, U+2028 and U+2029 are written as they are).
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

_MAX_ARRAY_INDEX = 2**32 - 2
_SHORT_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r"}
_SHORT_ESCAPES["\t"] = "\\t"


def stringify(value: Any) -> str:
    """The text ``JSON.stringify(value)`` produces in JavaScript."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int | float | Decimal):
        return number(value)
    if isinstance(value, str):
        return string(value)
    if isinstance(value, list | tuple):
        return "[" + ",".join(stringify(item) for item in value) + "]"
    if isinstance(value, dict):
        items = (f"{string(k)}:{stringify(value[k])}" for k in key_order(value))
        return "{" + ",".join(items) + "}"
    raise TypeError(f"cannot stringify {type(value).__name__}")


def key_order(obj: dict[str, Any]) -> list[str]:
    """JavaScript's own-property order: array indices ascending, then insertion order."""
    indices = sorted((k for k in obj if _is_array_index(k)), key=int)
    return indices + [k for k in obj if not _is_array_index(k)]


def _is_array_index(key: str) -> bool:
    if not key.isascii() or not key.isdigit() or (len(key) > 1 and key[0] == "0"):
        return False
    return int(key) <= _MAX_ARRAY_INDEX


def number(value: int | float | Decimal) -> str:
    """ECMAScript ``Number::toString`` of the double nearest to ``value``."""
    try:
        double = float(value)
    except OverflowError:  # an int beyond the double range: JavaScript reads Infinity
        return "null"
    if not math.isfinite(double):
        return "null"
    if double == 0:
        return "0"
    sign = "-" if double < 0 else ""
    return sign + _format_positive(abs(double))


def _format_positive(double: float) -> str:
    """Shortest round-trip digits (``repr`` finds the same ones V8 does) laid out per spec."""
    parts = Decimal(repr(double)).as_tuple()
    digits = "".join(map(str, parts.digits)).rstrip("0")
    exponent = int(parts.exponent) + len(parts.digits) - len(digits)
    k, n = len(digits), exponent + len(digits)
    if k <= n <= 21:
        return digits + "0" * (n - k)
    if 0 < n <= 21:
        return f"{digits[:n]}.{digits[n:]}"
    if -6 < n <= 0:
        return "0." + "0" * -n + digits
    e = n - 1
    mantissa = digits if k == 1 else f"{digits[0]}.{digits[1:]}"
    return f"{mantissa}e{'+' if e > 0 else '-'}{abs(e)}"


def survives(value: Any) -> bool:
    """Whether every number in ``value`` (as ``json.loads(parse_float=Decimal)`` gives it)
    reads back from JavaScript's text of it as the same decimal.

    JavaScript holds a number as the nearest double, so ``9007199254740993`` and
    ``9007199254740992``, or ``1.5`` and ``1.500000000000000099``, have one text. Text
    re-created from such a body cannot tell which of them was signed. Compared as
    decimals, ``200.0`` (``200``) and ``1e21`` (``1e+21``) survive.
    """
    if isinstance(value, dict):
        return all(survives(item) for item in value.values())
    if isinstance(value, list | tuple):
        return all(survives(item) for item in value)
    if isinstance(value, int | Decimal) and not isinstance(value, bool):
        text = number(value)
        return text != "null" and Decimal(text) == value
    return True


def string(text: str) -> str:
    """A JSON string literal as ``JSON.stringify`` (well-formed, ES2019) writes it."""
    return '"' + "".join(_escape(c) for c in text) + '"'


def _escape(char: str) -> str:
    if char in _SHORT_ESCAPES:
        return _SHORT_ESCAPES[char]
    code = ord(char)
    if code < 0x20 or 0xD800 <= code <= 0xDFFF:
        return f"\\u{code:04x}"
    return char
