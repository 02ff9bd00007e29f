"""The request time budget: a callback answers within ``REQUEST_BUDGET_MS`` or fails fast.

Providers retry a callback that times out on their side, so an answer that arrives
after they gave up is wasted work. Three bounds keep a request inside its budget:

* every connection's own ``lock_timeout`` and ``statement_timeout`` default to 1/2 and
  3/4 of the budget (and must be below it), and the wait for a pooled connection is at
  most the budget;
* each database transaction a request starts (:class:`app.db.UnitOfWork`) asks
  :func:`transaction_limits`: with less time left than those timeouts, the transaction
  gets ``SET LOCAL`` timeouts of the time that is left;
* with no time left, :class:`BudgetExceeded` is raised before the database is touched;
* a statement still running near the end (:func:`cancel_at`: a tenth of the budget, at
  most 250 ms, before it) is cancelled from the client (:class:`app.db._Canceller`):
  the one wait no server timeout ends is a commit's wait for a synchronous standby.

A timeout is a ``sqlalchemy`` timeout error, so each provider answers it as it answers
the database being unavailable: its internal-error answer, safe to retry (nothing was
committed). Outside a request (CLI, tests) no budget applies.
"""

from __future__ import annotations

import time
from contextvars import ContextVar
from dataclasses import dataclass

from sqlalchemy.exc import TimeoutError as SQLAlchemyTimeout


class BudgetExceeded(SQLAlchemyTimeout):
    """The request used its whole time budget before it could start a transaction."""


@dataclass(frozen=True)
class Budget:
    deadline: float  # time.monotonic()
    statement_timeout_ms: int
    lock_timeout_ms: int
    cancel_at: float  # time.monotonic()


_current: ContextVar[Budget | None] = ContextVar("request_budget", default=None)


def start(budget_ms: int, statement_timeout_ms: int, lock_timeout_ms: int) -> None:
    """Begin the current request's budget (called before each request)."""
    deadline = time.monotonic() + budget_ms / 1000
    margin_s = min(budget_ms / 10, 250) / 1000
    _current.set(Budget(deadline, statement_timeout_ms, lock_timeout_ms, deadline - margin_s))


def clear() -> None:
    _current.set(None)


def cancel_at() -> float | None:
    """When a statement of the current request still running is cancelled (None outside
    a request): early enough for the internal-error answer to go out within the budget."""
    budget = _current.get()
    return None if budget is None else budget.cancel_at


def transaction_limits() -> tuple[int, int] | None:
    """``(statement_timeout_ms, lock_timeout_ms)`` for a transaction starting now, or None
    when the connection's own timeouts already fit in what is left (or no budget applies)."""
    budget = _current.get()
    if budget is None:
        return None
    left = int((budget.deadline - time.monotonic()) * 1000)
    if left <= 0:
        raise BudgetExceeded("the request used its whole REQUEST_BUDGET_MS")
    if left >= max(budget.statement_timeout_ms, budget.lock_timeout_ms):
        return None
    return min(budget.statement_timeout_ms, left), min(budget.lock_timeout_ms, left)
