"""The money rules as PostgreSQL functions, one ``.sql`` file each.

Every decision that moves money (bet, win, rollback, deposit, withdrawal) is made by
these functions, and ``ledger_post`` is the only code that writes journal transactions
and postings. A migration installs them with :func:`install`; a file changed later needs
a new migration that calls :func:`install` again (``tests/test_sql_functions.py`` checks
that the installed bodies equal the files).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

DIRECTORY = Path(__file__).parent
# In dependency order: each function calls only those before it.
FUNCTIONS = (
    "ledger_post",
    "wallet_now",
    "limits_timezone",
    "limit_period_start",
    "limit_check",
    "limit_count",
    "limit_recount",
    "wallet_recorded",
    "wallet_transfer",
    "wallet_rollback",
)


def source(name: str) -> str:
    return (DIRECTORY / f"{name}.sql").read_text()


def body(name: str) -> str:
    """The function's body as PostgreSQL stores it (``pg_proc.prosrc``): the text between
    the first and the last ``$$``."""
    text = source(name)
    return text[text.index("$$") + 2 : text.rindex("$$")]


def install(execute: Callable[[str], object]) -> None:
    """(Re)create every function with ``execute`` (e.g. Alembic's ``op.execute``).

    Bodies are not checked against the schema while they are created, as pg_dump does
    on restore: an early migration installs today's files, which may name tables and
    columns a later migration adds. Every function is checked when it first runs."""
    execute("SET LOCAL check_function_bodies = off")
    for name in FUNCTIONS:
        execute(source(name))
    execute("SET LOCAL check_function_bodies = on")
