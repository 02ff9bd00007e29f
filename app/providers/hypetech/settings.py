"""Hypetech's settings: the API key, the public webhook URL, the route paths, the outbound
API and the default currency."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app.config import read_str
from app.core.money import CURRENCY_EXPONENTS

SECRETS = ("HYPETECH_API_KEY",)
PATHS = {
    "HYPETECH_PATH_GET_BALANCE": "/hypetech/getBalance",
    "HYPETECH_PATH_REGISTER": "/hypetech/register",
    "HYPETECH_PATH_REWARDS": "/hypetech/rewards",
    "HYPETECH_PATH_ROLLBACK": "/hypetech/rollback",
}


def read(env: Mapping[str, str], problems: list[str]) -> dict[str, Any]:
    settings: dict[str, Any] = {
        name: read_str(env, name)
        for name in (
            "HYPETECH_API_KEY",
            "HYPETECH_WEBHOOK_BASE_URL",
            "HYPETECH_API_URL",
            "HYPETECH_ACCESS_TOKEN",
        )
    }
    default_currency = read_str(env, "HYPETECH_DEFAULT_CURRENCY")
    settings["HYPETECH_DEFAULT_CURRENCY"] = default_currency.upper() if default_currency else None
    settings["HYPETECH_REQUEST_ACCESS_PATH"] = read_str(
        env, "HYPETECH_REQUEST_ACCESS_PATH", "/games/request-access"
    )
    settings.update({name: read_str(env, name, path) for name, path in PATHS.items()})
    problems += _check(settings)
    return settings


def development(port: int) -> dict[str, str]:
    """A first ``make run`` signs webhooks for the wallet on this machine."""
    return {"HYPETECH_WEBHOOK_BASE_URL": f"http://127.0.0.1:{port}"}


def _check(config: dict[str, Any]) -> list[str]:
    paths = [config[name] for name in PATHS]
    problems = [
        f"{name} must start with / (got {config[name]!r})"
        for name in (*PATHS, "HYPETECH_REQUEST_ACCESS_PATH")
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
