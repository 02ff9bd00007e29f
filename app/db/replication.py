"""Synchronous replication: a commit the standby did not confirm, and statements
cancelled at their request's deadline (``statement_timeout`` does not end a commit's
wait for the standby). See docs/high-availability.md."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
import structlog
from sqlalchemy.exc import OperationalError

from app.db import budget

_log = structlog.get_logger(__name__)


class CommitUnconfirmed(OperationalError):
    """PostgreSQL committed, but without the synchronous standby's confirmation: the wait
    for it was cancelled (by :data:`CANCELLER` at the request's deadline, or by an
    operator), and PostgreSQL only warned. Should the primary now be lost, its standby
    may not have the transaction, so the outcome is unknown: the caller answers its
    internal error, and the provider's retry replays the transaction or applies it once."""


UNCONFIRMED = "wallet.commit_unconfirmed"


def note_commit_warnings(driver: psycopg.Connection[Any], record: Any) -> None:
    """Note on the connection any WARNING (SQLSTATE 01000) the server sends: at commit,
    that is "canceling wait for synchronous replication" (in the server's language)."""
    info = record.info

    def note(diagnostic: psycopg.errors.Diagnostic) -> None:
        if diagnostic.sqlstate == "01000":
            info[UNCONFIRMED] = diagnostic.message_primary

    driver.add_notice_handler(note)


def confirm_commit(info: dict[str, Any], sql: str) -> None:
    warning = info.pop(UNCONFIRMED, None)
    if warning is not None:
        raise CommitUnconfirmed(sql, None, psycopg.OperationalError(warning))


class _Canceller:
    """Cancels the statements still running at their request's deadline.

    ``statement_timeout`` bounds a statement's work but not the wait for the synchronous
    standby at commit (PostgreSQL stops the timer before committing), so with the standby
    gone a bet would wait until it came back, holding its gunicorn thread and connection.
    A callback's statements are noted here with :func:`app.budget.cancel_at`, and a
    thread per process sends PostgreSQL a cancel request for any still running then. A
    cancelled statement fails and rolls back; a cancelled wait for the standby leaves its
    transaction committed locally, with the warning that :class:`CommitUnconfirmed` reports.
    """

    def __init__(self, tick_s: float = 0.05) -> None:
        self._running: dict[int, tuple[float, psycopg.Connection[Any]]] = {}
        self._tick_s = tick_s
        self._started = False
        self._start_lock = threading.Lock()
        os.register_at_fork(after_in_child=self._forget)

    def watch(self, driver: psycopg.Connection[Any], deadline: float) -> None:
        if not self._started:
            self._start()
        self._running[id(driver)] = (deadline, driver)

    def done(self, driver: psycopg.Connection[Any]) -> None:
        self._running.pop(id(driver), None)

    def _start(self) -> None:
        with self._start_lock:
            if not self._started:
                thread = threading.Thread(target=self._run, name="canceller", daemon=True)
                thread.start()
                self._started = True

    def _forget(self) -> None:
        """In a forked child: the parent's thread and statements are not ours."""
        self._started = False
        self._running = {}
        self._start_lock = threading.Lock()

    def _run(self) -> None:
        while True:
            time.sleep(self._tick_s)
            now = time.monotonic()
            for key, entry in list(self._running.items()):
                if entry[0] <= now and self._running.get(key) is entry:
                    self._running.pop(key, None)
                    _cancel(entry[1])


def _cancel(driver: psycopg.Connection[Any]) -> None:
    try:
        driver.cancel_safe(timeout=1)
    except Exception as exc:  # noqa: BLE001 - the statement's own thread sees what happened
        _log.debug("cancel request not sent", error=type(exc).__name__)


CANCELLER = _Canceller()


@contextmanager
def cancelled_at_deadline(driver: psycopg.Connection[Any] | None) -> Iterator[None]:
    deadline = budget.cancel_at()
    if deadline is None or driver is None:
        yield
        return
    CANCELLER.watch(driver, deadline)
    try:
        yield
    finally:
        CANCELLER.done(driver)
