"""Settings from the environment (and a ``.env`` file if present), validated at start-up."""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dotenv import load_dotenv

from app.money import CURRENCY_EXPONENTS


class ConfigError(ValueError):
    """One or more settings are invalid; the message has one line per problem."""


def default_workers() -> int:
    """gunicorn's worker processes when ``WEB_CONCURRENCY`` is unset: one per core and one
    more (docs/performance.md, "Fourth round")."""
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


def _str(env: Mapping[str, str], name: str, default: str | None = None) -> str | None:
    value = env.get(name)
    return value if value not in (None, "") else default


def load_config(env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Read every setting the wallet knows; raise ConfigError listing all problems at once."""
    if env is None:
        load_dotenv(override=False)
        env = os.environ
    problems: list[str] = []
    budget = _int(env, "REQUEST_BUDGET_MS", 2000, problems)
    config: dict[str, Any] = {
        "DATABASE_URL": _str(env, "DATABASE_URL"),
        "PORT": _int(env, "PORT", 8000, problems),
        "MAX_BODY_BYTES": _int(env, "MAX_BODY_BYTES", 64 * 1024, problems),
        "DB_POOL_SIZE": _int(env, "DB_POOL_SIZE", 4, problems),
        "DB_PREPARE_THRESHOLD": _prepare_threshold(env, problems),
        "REQUEST_BUDGET_MS": budget,
        "DB_LOCK_TIMEOUT_MS": _int(env, "DB_LOCK_TIMEOUT_MS", budget // 2, problems),
        "DB_STATEMENT_TIMEOUT_MS": _int(env, "DB_STATEMENT_TIMEOUT_MS", budget * 3 // 4, problems),
        "LOG_LEVEL": (_str(env, "LOG_LEVEL", "INFO") or "INFO").upper(),
        "IGPX_SECURITY_HASH": _str(env, "IGPX_SECURITY_HASH"),
        "IGPX_API_URL": _str(env, "IGPX_API_URL"),
        "IGPX_API_VERSION": _str(env, "IGPX_API_VERSION", "v1"),
        "IGPX_CLIENT_USERNAME": _str(env, "IGPX_CLIENT_USERNAME"),
        "IGPX_CLIENT_PASSWORD": _str(env, "IGPX_CLIENT_PASSWORD"),
        "IGPX_INSUFFICIENT_FUNDS_CODE": _str(
            env, "IGPX_INSUFFICIENT_FUNDS_CODE", "INSUFFICIENT_FUNDS"
        ),
        "OUTBOUND_TIMEOUT_S": _int(env, "OUTBOUND_TIMEOUT_S", 10, problems),
        **_hypetech(env),
        "UPSIDE_JWT_SECRET": _str(env, "UPSIDE_JWT_SECRET"),
        "UPSIDE_REPLAY_WINDOW_S": _int(env, "UPSIDE_REPLAY_WINDOW_S", 30, problems),
        "UPSIDE_KEY_ENCRYPTION_KEY": _str(env, "UPSIDE_KEY_ENCRYPTION_KEY"),
        "UPSIDE_KEY_ENCRYPTION_KEY_PREVIOUS": _str(env, "UPSIDE_KEY_ENCRYPTION_KEY_PREVIOUS"),
        **_previous_secrets(env, problems),
        "DATABASE_MIGRATION_URL": _str(env, "DATABASE_MIGRATION_URL"),
        "CALLBACK_AUDIT": _flag(env, "CALLBACK_AUDIT", True, problems),
        "CALLBACK_RETENTION_DAYS": _int(env, "CALLBACK_RETENTION_DAYS", 30, problems),
        "LIMITS_TIMEZONE": _timezone(env, "LIMITS_TIMEZONE", problems),
    }
    for name in ("DATABASE_URL", "DATABASE_MIGRATION_URL"):
        url = config[name]
        if url and not url.startswith(("postgresql://", "postgres://", "postgresql+psycopg://")):
            problems.append(f"{name} must be a libpq URL such as postgresql://user@host/db")
    if config["CALLBACK_RETENTION_DAYS"] < 1:
        problems.append("CALLBACK_RETENTION_DAYS must be at least 1")
    if config["LOG_LEVEL"] not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
        problems.append("LOG_LEVEL must be one of DEBUG, INFO, WARNING, ERROR")
    if config["MAX_BODY_BYTES"] < 1024:
        problems.append("MAX_BODY_BYTES must be at least 1024")
    problems += _check_budget(config)
    problems += _check_previous_secrets(config)
    problems += _check_hypetech(config)
    if not 1 <= config["UPSIDE_REPLAY_WINDOW_S"] <= 3600:
        problems.append("UPSIDE_REPLAY_WINDOW_S must be between 1 and 3600 seconds")
    if problems:
        raise ConfigError("\n".join(problems))
    return config


def _timezone(env: Mapping[str, str], name: str, problems: list[str]) -> str:
    """An IANA time zone name (``Europe/Malta``); UTC when unset."""
    value = _str(env, name, "UTC") or "UTC"
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        problems.append(f"{name} must be an IANA time zone such as Europe/Malta, got {value!r}")
        return "UTC"
    return value


def _check_budget(config: dict[str, Any]) -> list[str]:
    """The database timeouts must fit inside the request budget (see app/budget.py)."""
    budget = config["REQUEST_BUDGET_MS"]
    if not 100 <= budget <= 60000:
        return ["REQUEST_BUDGET_MS must be between 100 and 60000 milliseconds"]
    return [
        f"{name} must be between 1 and {budget - 1} (below REQUEST_BUDGET_MS), got {config[name]}"
        for name in ("DB_LOCK_TIMEOUT_MS", "DB_STATEMENT_TIMEOUT_MS")
        if not 0 < config[name] < budget
    ]


ROTATING_SECRETS = ("IGPX_SECURITY_HASH", "HYPETECH_API_KEY", "UPSIDE_JWT_SECRET")


def _previous_secrets(env: Mapping[str, str], problems: list[str]) -> dict[str, Any]:
    """``<NAME>_PREVIOUS`` and ``<NAME>_PREVIOUS_UNTIL`` of each rotating secret."""
    settings: dict[str, Any] = {}
    for name in ROTATING_SECRETS:
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


def _check_previous_secrets(config: dict[str, Any]) -> list[str]:
    problems = []
    for name in (*ROTATING_SECRETS, "UPSIDE_KEY_ENCRYPTION_KEY"):
        if config.get(f"{name}_PREVIOUS") and not config.get(name):
            problems.append(f"{name}_PREVIOUS is set but {name} is not: set the new secret too")
        if config.get(f"{name}_PREVIOUS_UNTIL") and not config.get(f"{name}_PREVIOUS"):
            problems.append(f"{name}_PREVIOUS_UNTIL is set but {name}_PREVIOUS is not")
    return problems


HYPETECH_PATHS = {
    "HYPETECH_PATH_GET_BALANCE": "/hypetech/getBalance",
    "HYPETECH_PATH_REGISTER": "/hypetech/register",
    "HYPETECH_PATH_REWARDS": "/hypetech/rewards",
    "HYPETECH_PATH_ROLLBACK": "/hypetech/rollback",
}


def _hypetech(env: Mapping[str, str]) -> dict[str, Any]:
    settings: dict[str, Any] = {
        name: _str(env, name)
        for name in (
            "HYPETECH_API_KEY",
            "HYPETECH_WEBHOOK_BASE_URL",
            "HYPETECH_API_URL",
            "HYPETECH_ACCESS_TOKEN",
        )
    }
    default_currency = _str(env, "HYPETECH_DEFAULT_CURRENCY")
    settings["HYPETECH_DEFAULT_CURRENCY"] = default_currency.upper() if default_currency else None
    settings["HYPETECH_REQUEST_ACCESS_PATH"] = _str(
        env, "HYPETECH_REQUEST_ACCESS_PATH", "/games/request-access"
    )
    settings.update({name: _str(env, name, path) for name, path in HYPETECH_PATHS.items()})
    return settings


def _check_hypetech(config: dict[str, Any]) -> list[str]:
    paths = [config[name] for name in HYPETECH_PATHS]
    problems = [
        f"{name} must start with / (got {config[name]!r})"
        for name in (*HYPETECH_PATHS, "HYPETECH_REQUEST_ACCESS_PATH")
        if not str(config[name]).startswith("/")
    ]
    if len(set(paths)) != len(paths):
        problems.append("the HYPETECH_PATH_* settings must be four different paths")
    currency = config["HYPETECH_DEFAULT_CURRENCY"]
    if currency and currency not in CURRENCY_EXPONENTS:
        problems.append(f"HYPETECH_DEFAULT_CURRENCY {currency!r} is not a known currency code")
    base = config["HYPETECH_WEBHOOK_BASE_URL"]
    if base and not base.startswith(("http://", "https://")):
        problems.append(
            "HYPETECH_WEBHOOK_BASE_URL must be an http(s) URL such as https://wallet.example"
        )
    return problems
