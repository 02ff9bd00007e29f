"""What the finance tests share: when a transaction was booked, and JSON from the CLI."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import text

from tests.factories import run_committed


def booked_at(provider: str, external_id: str) -> datetime:
    """The moment the wallet booked a transaction (its journal's ``created_at``)."""
    return run_committed(
        lambda conn: conn.execute(
            text(
                "SELECT created_at FROM provider_transactions "
                "WHERE provider = :provider AND external_id = :id"
            ),
            {"provider": provider, "id": external_id},
        ).scalar_one()
    )


def just_before(moment: datetime) -> str:
    return (moment - timedelta(microseconds=1)).isoformat()


def at(moment: datetime) -> str:
    return moment.isoformat()


def as_json(result: Any, exit_code: int = 0) -> Any:
    assert result.exit_code == exit_code, result.output
    return json.loads(result.stdout)


def amounts(values: list[str]) -> Decimal:
    return sum((Decimal(v) for v in values), Decimal(0))
