"""JSON text with exact numbers: ``Decimal`` values are written as the digits they hold.

The standard encoder cannot write a ``Decimal`` as a number, and a float would round
it; ``gameData`` is stored (``CAST(… AS JSONB)``, which keeps numerics exact) and
answered as given, so it goes through here in both directions.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any


def dumps(value: Any) -> str:
    """Compact JSON; dict keys keep their order; Decimals keep every digit."""
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError("JSON has no NaN or Infinity")
        return str(value)
    if isinstance(value, dict):
        items = (f"{json.dumps(str(k))}:{dumps(v)}" for k, v in value.items())
        return "{" + ",".join(items) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(dumps(v) for v in value) + "]"
    return json.dumps(value, allow_nan=False)


def loads(text: str) -> Any:
    return json.loads(text, parse_float=Decimal)
