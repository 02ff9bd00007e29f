"""IGPX's settings: the callback secret, the outbound API and its credentials, and how
insufficient funds, a limit and an exclusion are spelled (the provider's PDF spells
insufficient funds ``INSUFFICENT_FUNDS``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app.config import read_str

SECRETS = ("IGPX_SECURITY_HASH",)


def read(env: Mapping[str, str], problems: list[str]) -> dict[str, Any]:
    return {
        "IGPX_SECURITY_HASH": read_str(env, "IGPX_SECURITY_HASH"),
        "IGPX_API_URL": read_str(env, "IGPX_API_URL"),
        "IGPX_API_VERSION": read_str(env, "IGPX_API_VERSION", "v1"),
        "IGPX_CLIENT_USERNAME": read_str(env, "IGPX_CLIENT_USERNAME"),
        "IGPX_CLIENT_PASSWORD": read_str(env, "IGPX_CLIENT_PASSWORD"),
        "IGPX_INSUFFICIENT_FUNDS_CODE": read_str(
            env, "IGPX_INSUFFICIENT_FUNDS_CODE", "INSUFFICIENT_FUNDS"
        ),
        "IGPX_LIMIT_EXCEEDED_CODE": read_str(env, "IGPX_LIMIT_EXCEEDED_CODE", "LIMIT_EXCEEDED"),
        "IGPX_USER_EXCLUDED_CODE": read_str(env, "IGPX_USER_EXCLUDED_CODE", "USER_EXCLUDED"),
    }
