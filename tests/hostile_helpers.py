"""What hostile-input tests share: the books' totals, and what no answer may contain."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import text

from app.core import ledger
from tests.factories import run_committed

# Anything that betrays Python internals: a traceback, a frame, an exception class, a driver.
PYTHON_ERRORS = [
    "ValueError",
    "TypeError",
    "KeyError",
    "AttributeError",
    "RecursionError",
    "UnicodeDecodeError",
    "JSONDecodeError",
    "OperationalError",
    "IntegrityError",
    "DataError",
    "ProgrammingError",
    "InvalidOperation",
    "OverflowError",
    "MemoryError",
    "IndexError",
    "AssertionError",
    "ZeroDivisionError",
    "NotImplementedError",
    "RuntimeError",
]
LEAKS = re.compile(
    r"Traceback \(most recent call last\)|File \"[^\"]+\", line \d+|"
    + "|".join(rf"\b{name}\b" for name in PYTHON_ERRORS)
    + r"|sqlalchemy|psycopg|<!doctype html"
)


def leaks(body: str) -> list[str]:
    """The fragments of ``body`` that look like Python or driver internals."""
    return [m.group(0) for m in LEAKS.finditer(body)]


def books() -> dict[str, Any]:
    """Everything that counts as money or state moved; equal before and after = nothing moved."""

    def read(conn: Any) -> dict[str, Any]:
        totals = conn.execute(
            text(
                "SELECT (SELECT count(*) FROM provider_transactions),"
                " (SELECT count(*) FROM journal_transactions),"
                " (SELECT count(*) FROM postings),"
                " (SELECT coalesce(sum(balance), 0) FROM accounts),"
                " (SELECT coalesce(sum(abs(amount)), 0) FROM postings),"
                " (SELECT count(*) FROM upside_sessions)"
            )
        ).one()
        assert ledger.verify(conn).ok
        return dict(
            zip(
                ("txs", "journals", "postings", "balances", "volume", "sessions"),
                totals,
                strict=True,
            )
        )

    result: dict[str, Any] = run_committed(read)
    return result
