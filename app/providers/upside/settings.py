"""Upside's settings: the player-token secret, the replay window, the payout grace of an
expired player token, and the material that encrypts API-key secrets at rest (see
:class:`app.providers.upside.keys.SecretBox`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app.config import check_previous_secrets, duration, read_int, read_str

SECRETS = ("UPSIDE_JWT_SECRET",)
KEY_ENCRYPTION = "UPSIDE_KEY_ENCRYPTION_KEY"


def read(env: Mapping[str, str], problems: list[str]) -> dict[str, Any]:
    settings: dict[str, Any] = {
        "UPSIDE_JWT_SECRET": read_str(env, "UPSIDE_JWT_SECRET"),
        "UPSIDE_REPLAY_WINDOW_S": read_int(env, "UPSIDE_REPLAY_WINDOW_S", 30, problems),
        "UPSIDE_PAYOUT_GRACE": duration(env, "UPSIDE_PAYOUT_GRACE", "24h", problems),
        KEY_ENCRYPTION: read_str(env, KEY_ENCRYPTION),
        f"{KEY_ENCRYPTION}_PREVIOUS": read_str(env, f"{KEY_ENCRYPTION}_PREVIOUS"),
    }
    if not 1 <= settings["UPSIDE_REPLAY_WINDOW_S"] <= 3600:
        problems.append("UPSIDE_REPLAY_WINDOW_S must be between 1 and 3600 seconds")
    if settings["UPSIDE_PAYOUT_GRACE"].months:
        problems.append("UPSIDE_PAYOUT_GRACE must be given in m, h, d or w, not months")
    problems += check_previous_secrets(settings, [KEY_ENCRYPTION])
    return settings
