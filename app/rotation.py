"""Secrets that rotate without downtime: the current one, and the previous one for an overlap.

For each provider secret ``NAME`` (each registry entry's ``secrets``, such as
``IGPX_SECURITY_HASH``) the operator may set ``NAME_PREVIOUS``: requests signed (or
tokens issued) with either secret are accepted, while anything the wallet itself signs
or issues uses the current one. The previous secret is accepted while it is set, and,
when ``NAME_PREVIOUS_UNTIL`` (ISO 8601) is set too, only until that time; after that
it is ignored even if still set, so a forgotten variable cannot keep an old secret alive.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any


def accepted(config: Mapping[str, Any], name: str, now: datetime | None = None) -> list[str]:
    """The secrets a request may be signed with now: current first; empty when unset."""
    current = config.get(name)
    if not current:
        return []
    previous = config.get(f"{name}_PREVIOUS")
    until = config.get(f"{name}_PREVIOUS_UNTIL")
    if not previous or previous == current:
        return [current]
    if until is not None and (now or datetime.now(UTC)) >= until:
        return [current]
    return [current, previous]
