"""Settings from the environment (and a ``.env`` file if present), validated at start-up."""

from __future__ import annotations

import importlib.util
import ipaddress
import os
import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from dotenv import load_dotenv

from app.errors import InvalidRequest

if TYPE_CHECKING:
    from app.core import durations
    from app.providers.registry import Provider


class ConfigError(ValueError):
    """One or more settings are invalid; the message has one line per problem."""


def default_workers() -> int:
    """gunicorn's worker processes when ``WEB_CONCURRENCY`` is unset: one per core and one
    more, which leaves PostgreSQL more of the cores than more workers do (docs/performance.md)."""
    return (os.cpu_count() or 1) + 1


def _int(env: Mapping[str, str], name: str, default: int, problems: list[str]) -> int:
    raw = env.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        problems.append(f"{name} must be a whole number, got {raw!r}")
        return default
    if value < 0:
        problems.append(f"{name} must not be negative, got {raw!r}")
    return value


def _bounded(
    env: Mapping[str, str], name: str, default: int, low: int, high: int, problems: list[str]
) -> int:
    """A whole number from ``low`` to ``high``; anything else is one problem line."""
    raw = env.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        value = low - 1
    if not low <= value <= high:
        problems.append(f"{name} must be a whole number from {low} to {high}, got {raw!r}")
        return default
    return value


def _flag(env: Mapping[str, str], name: str, default: bool, problems: list[str]) -> bool:
    raw = (env.get(name) or "").strip().lower()
    if not raw:
        return default
    if raw in {"1", "true", "yes", "on"}:
        return True
    if raw in {"0", "false", "no", "off"}:
        return False
    problems.append(f"{name} must be on or off, got {raw!r}")
    return default


def _prepare_threshold(env: Mapping[str, str], problems: list[str]) -> int | None:
    """psycopg's ``prepare_threshold``: executions of a statement on a connection before
    it is prepared on the server; ``off`` (None) never prepares, as a PgBouncer older than
    1.21 in transaction mode needs (docs/scaling.md)."""
    raw = (env.get("DB_PREPARE_THRESHOLD") or "").strip().lower()
    if raw in {"off", "none", "no"}:
        return None
    if not raw:
        return 5
    if not raw.isdigit():
        problems.append(f"DB_PREPARE_THRESHOLD must be a count (0 or more) or off, got {raw!r}")
        return 5
    return int(raw)


Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def _networks(env: Mapping[str, str], name: str, problems: list[str]) -> tuple[Network, ...]:
    """Comma-separated IP addresses or CIDR blocks (``127.0.0.1, 10.0.0.0/8``)."""
    networks = []
    for item in filter(None, (part.strip() for part in (env.get(name) or "").split(","))):
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            problems.append(f"{name}: {item!r} is not an IP address or CIDR block, e.g. 10.0.0.0/8")
    return tuple(networks)


def _str(env: Mapping[str, str], name: str, default: str | None = None) -> str | None:
    value = env.get(name)
    return value if value not in (None, "") else default


ENVIRONMENTS = ("development", "production")


def _environment(env: Mapping[str, str], problems: list[str]) -> str:
    """``WALLET_ENV``: ``production`` refuses to serve without every provider's real secret;
    ``development`` (the default) lets ``make run`` write random ones on a first run."""
    raw = (_str(env, "WALLET_ENV", "development") or "").strip().lower()
    if raw not in ENVIRONMENTS:
        problems.append(f"WALLET_ENV must be development or production, got {raw!r}")
        return "development"
    return raw


# gunicorn's settings: name, default, smallest and largest accepted value.
SERVER_NUMBERS = (
    ("GUNICORN_THREADS", 2, 1, 256),
    ("GUNICORN_KEEPALIVE", 5, 0, 3600),
    ("GUNICORN_TIMEOUT", 30, 1, 86400),
    ("GUNICORN_GRACEFUL_TIMEOUT", 20, 0, 86400),
)
DEFAULT_WORKER_CLASS = "app.worker.BufferingWorker"
_HOSTNAME = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)(\.(?!-)[A-Za-z0-9-]{1,63}(?<!-))*")
_DOTTED = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)+")


def _server(env: Mapping[str, str], problems: list[str]) -> dict[str, Any]:
    """What ``gunicorn.conf.py`` serves with: the address, processes, threads, timeouts."""
    settings: dict[str, Any] = {
        # Every interface by default: the wallet is meant to sit behind a proxy or a firewall.
        "HOST": (_str(env, "HOST", "0.0.0.0") or "").strip().strip("[]"),  # noqa: S104
        "WEB_CONCURRENCY": _bounded(env, "WEB_CONCURRENCY", default_workers(), 1, 256, problems),
        "GUNICORN_WORKER_CLASS": _str(env, "GUNICORN_WORKER_CLASS", DEFAULT_WORKER_CLASS),
    }
    for name, default, low, high in SERVER_NUMBERS:
        settings[name] = _bounded(env, name, default, low, high, problems)
    if not _is_host(settings["HOST"]):
        problems.append(
            f"HOST must be an IP address or a host name such as 127.0.0.1, got {env['HOST']!r}"
        )
    problems += _check_worker_class(str(settings["GUNICORN_WORKER_CLASS"]))
    return settings


def _is_host(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return bool(_HOSTNAME.fullmatch(host)) and len(host) <= 253
    return True


def _check_worker_class(name: str) -> list[str]:
    """A worker gunicorn names (``gthread``) or a class path whose module exists."""
    if name == DEFAULT_WORKER_CLASS:
        return []
    from gunicorn.workers import SUPPORTED_WORKERS

    if name in SUPPORTED_WORKERS:
        return []
    if _DOTTED.fullmatch(name) and _module_exists(name.rpartition(".")[0]):
        return []
    return [
        f"GUNICORN_WORKER_CLASS must be one of gunicorn's workers ({', '.join(SUPPORTED_WORKERS)}) "
        f"or a class path such as {DEFAULT_WORKER_CLASS}, got {name!r}"
    ]


def _module_exists(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def bind_address(config: Mapping[str, Any]) -> str:
    """gunicorn's ``bind``: ``HOST:PORT``, an IPv6 address in brackets."""
    host = config["HOST"]
    return f"[{host}]:{config['PORT']}" if ":" in host else f"{host}:{config['PORT']}"


def load_config(
    env: Mapping[str, str] | None = None, providers: Sequence[Provider] | None = None
) -> dict[str, Any]:
    """Read every setting the wallet and its providers (the registry by default) know;
    raise ConfigError listing all problems at once."""
    if env is None:
        load_dotenv(override=False)
        env = os.environ
    registry = _registry() if providers is None else providers
    rotating = [name for provider in registry for name in provider.secrets]
    problems: list[str] = []
    budget = _int(env, "REQUEST_BUDGET_MS", 2000, problems)
    config: dict[str, Any] = {
        "WALLET_ENV": _environment(env, problems),
        "DATABASE_URL": _str(env, "DATABASE_URL"),
        "PORT": _int(env, "PORT", 8000, problems),
        **_server(env, problems),
        "MAX_BODY_BYTES": _int(env, "MAX_BODY_BYTES", 64 * 1024, problems),
        "REQUEST_READ_TIMEOUT_S": _int(env, "REQUEST_READ_TIMEOUT_S", 10, problems),
        "DB_POOL_SIZE": _int(env, "DB_POOL_SIZE", 4, problems),
        "DB_PREPARE_THRESHOLD": _prepare_threshold(env, problems),
        "REQUEST_BUDGET_MS": budget,
        "DB_LOCK_TIMEOUT_MS": _int(env, "DB_LOCK_TIMEOUT_MS", budget // 2, problems),
        "DB_STATEMENT_TIMEOUT_MS": _int(env, "DB_STATEMENT_TIMEOUT_MS", budget * 3 // 4, problems),
        "LOG_LEVEL": (_str(env, "LOG_LEVEL", "INFO") or "INFO").upper(),
        "OUTBOUND_TIMEOUT_S": _int(env, "OUTBOUND_TIMEOUT_S", 10, problems),
        "LIMITS_TIMEZONE": _timezone(env, "LIMITS_TIMEZONE", problems),
        "LIMIT_INCREASE_DELAY": duration(env, "LIMIT_INCREASE_DELAY", "24h", problems),
        **_previous_secrets(env, rotating, problems),
        "DATABASE_MIGRATION_URL": _str(env, "DATABASE_MIGRATION_URL"),
        "DATABASE_REPLICA_URL": _str(env, "DATABASE_REPLICA_URL"),
        "CALLBACK_AUDIT": _flag(env, "CALLBACK_AUDIT", True, problems),
        "CALLBACK_AUDIT_SYNCHRONOUS_COMMIT": _flag(
            env, "CALLBACK_AUDIT_SYNCHRONOUS_COMMIT", False, problems
        ),
        "CALLBACK_RETENTION_DAYS": _int(env, "CALLBACK_RETENTION_DAYS", 30, problems),
        "METRICS_ALLOW_IPS": _networks(env, "METRICS_ALLOW_IPS", problems),
    }
    for provider in registry:
        config.update(provider.settings(env, problems))
    for name in ("DATABASE_URL", "DATABASE_MIGRATION_URL", "DATABASE_REPLICA_URL"):
        url = config[name]
        if url and not url.startswith(("postgresql://", "postgres://", "postgresql+psycopg://")):
            problems.append(f"{name} must be a libpq URL such as postgresql://user@host/db")
    if not 1 <= config["PORT"] <= 65535:
        problems.append("PORT must be between 1 and 65535")
    if config["CALLBACK_RETENTION_DAYS"] < 1:
        problems.append("CALLBACK_RETENTION_DAYS must be at least 1")
    if config["LOG_LEVEL"] not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
        problems.append("LOG_LEVEL must be one of DEBUG, INFO, WARNING, ERROR")
    if config["MAX_BODY_BYTES"] < 1024:
        problems.append("MAX_BODY_BYTES must be at least 1024")
    if not 1 <= config["REQUEST_READ_TIMEOUT_S"] <= 300:
        problems.append("REQUEST_READ_TIMEOUT_S must be between 1 and 300 seconds")
    problems += _check_budget(config)
    if config["GUNICORN_THREADS"] > config["DB_POOL_SIZE"]:
        problems.append(
            f"GUNICORN_THREADS ({config['GUNICORN_THREADS']}) is more than DB_POOL_SIZE "
            f"({config['DB_POOL_SIZE']}): each thread keeps one of the pool's connections; "
            f"set DB_POOL_SIZE to at least {config['GUNICORN_THREADS']}"
        )
    problems += check_previous_secrets(config, rotating)
    if problems:
        raise ConfigError("\n".join(problems))
    return config


def _registry() -> Sequence[Provider]:
    from app.providers import PROVIDERS

    return PROVIDERS


def duration(
    env: Mapping[str, str], name: str, default: str, problems: list[str]
) -> durations.Duration:
    from app.core import durations  # here: listing the wallet's commands imports no core

    try:
        return durations.parse(_str(env, name, default) or default)
    except InvalidRequest as exc:
        problems.append(f"{name}: {exc}")
        return durations.parse(default)


def _timezone(env: Mapping[str, str], name: str, problems: list[str]) -> str:
    """An IANA time zone name such as ``Europe/London`` (default ``UTC``)."""
    zone = _str(env, name, "UTC") or "UTC"
    try:
        ZoneInfo(zone)
    except (ValueError, KeyError):
        problems.append(f"{name} must be an IANA time zone such as UTC or Europe/London")
        return "UTC"
    return zone


def _check_budget(config: dict[str, Any]) -> list[str]:
    """The database timeouts must fit inside the request budget (see app/db/budget.py)."""
    budget = config["REQUEST_BUDGET_MS"]
    if not 100 <= budget <= 60000:
        return ["REQUEST_BUDGET_MS must be between 100 and 60000 milliseconds"]
    return [
        f"{name} must be between 1 and {budget - 1} (below REQUEST_BUDGET_MS), got {config[name]}"
        for name in ("DB_LOCK_TIMEOUT_MS", "DB_STATEMENT_TIMEOUT_MS")
        if not 0 < config[name] < budget
    ]


def _previous_secrets(
    env: Mapping[str, str], rotating: Sequence[str], problems: list[str]
) -> dict[str, Any]:
    """``<NAME>_PREVIOUS`` and ``<NAME>_PREVIOUS_UNTIL`` of each rotating secret (each
    provider's ``secrets``)."""
    settings: dict[str, Any] = {}
    for name in rotating:
        settings[f"{name}_PREVIOUS"] = _str(env, f"{name}_PREVIOUS")
        settings[f"{name}_PREVIOUS_UNTIL"] = _time(env, f"{name}_PREVIOUS_UNTIL", problems)
    return settings


def _time(env: Mapping[str, str], name: str, problems: list[str]) -> datetime | None:
    raw = _str(env, name)
    if raw is None:
        return None
    try:
        when = datetime.fromisoformat(raw)
    except ValueError:
        when = None
    if when is None or when.tzinfo is None:
        problems.append(f"{name} must be an ISO 8601 time with a zone, e.g. 2026-03-01T12:00:00Z")
        return None
    return when


def check_previous_secrets(config: Mapping[str, Any], names: Sequence[str]) -> list[str]:
    """A previous secret needs the current one, and a deadline needs a previous secret."""
    problems = []
    for name in names:
        if config.get(f"{name}_PREVIOUS") and not config.get(name):
            problems.append(f"{name}_PREVIOUS is set but {name} is not: set the new secret too")
        if config.get(f"{name}_PREVIOUS_UNTIL") and not config.get(f"{name}_PREVIOUS"):
            problems.append(f"{name}_PREVIOUS_UNTIL is set but {name}_PREVIOUS is not")
    return problems


# The readers each provider's ``settings`` function uses (app/providers/*/settings.py).
read_str, read_int = _str, _int
