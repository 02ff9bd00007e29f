"""The calls the wallet makes to Hypetech: the activated games and a player's game URL.

Both use the bearer ``HYPETECH_ACCESS_TOKEN``. The game URL comes from
``POST {HYPETECH_API_URL}/games/request-access`` (``HYPETECH_REQUEST_ACCESS_PATH``)
with ``game, user_id, username, lang, currency, balance``; the answer's
``game_url`` (or ``url``) is the link to open.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import requests

from app.core import money


class HypetechApiError(Exception):
    """Hypetech did not give us what we asked for; the message says what happened."""


class HypetechClient:
    def __init__(
        self,
        api_url: str,
        access_token: str,
        request_access_path: str = "/games/request-access",
        timeout_s: float = 10,
        session: requests.Session | None = None,
    ) -> None:
        self._base = api_url.rstrip("/")
        self._headers = {"Authorization": f"Bearer {access_token}", "Accept": "application/json"}
        self._request_access_path = request_access_path
        self._timeout = timeout_s
        self._http = session or requests.Session()

    def games(self) -> list[Any]:
        """``GET /games/activated``: the games this operator may offer."""
        data = self._json(self._call("GET", "/games/activated"), "games/activated")
        if not isinstance(data, list):
            raise HypetechApiError("games/activated answered JSON that is not a list")
        return data

    def game_url(
        self,
        game: str,
        user_id: str,
        username: str,
        currency: str,
        balance: Decimal,
        lang: str = "pt",
    ) -> str:
        """A one-time URL that opens ``game`` for the player (request-access)."""
        body = {
            "game": game,
            "user_id": user_id,
            "username": username,
            "lang": lang,
            "currency": currency,
            "balance": money.format_amount(balance, currency),
        }
        what = "request-access"
        data = self._json(self._call("POST", self._request_access_path, body), what)
        url = data.get("game_url") or data.get("url") if isinstance(data, dict) else None
        if not isinstance(url, str) or not url:
            raise HypetechApiError(f"{what} answered without a game_url")
        return url

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        try:
            return self._http.request(
                method, self._base + path, json=body, headers=self._headers, timeout=self._timeout
            )
        except requests.Timeout:
            raise HypetechApiError(f"Hypetech {path} timed out after {self._timeout}s") from None
        except requests.RequestException as exc:
            raise HypetechApiError(f"Hypetech {path} failed: {type(exc).__name__}") from None

    @staticmethod
    def _json(response: requests.Response, what: str) -> Any:
        if response.status_code != 200:
            detail = _problem_detail(response)
            raise HypetechApiError(f"Hypetech {what} answered HTTP {response.status_code}{detail}")
        try:
            return response.json()
        except ValueError:
            raise HypetechApiError(f"Hypetech {what} answered a body that is not JSON") from None


def _problem_detail(response: requests.Response) -> str:
    """The ``detail`` (or ``title``) of an RFC 7807 error body, if there is one."""
    try:
        data = response.json()
    except ValueError:
        return ""
    text = data.get("detail") or data.get("title") if isinstance(data, dict) else None
    return f": {text}" if isinstance(text, str) and text else ""


def client_from_config(config: dict[str, Any]) -> HypetechClient:
    missing = [
        name for name in ("HYPETECH_API_URL", "HYPETECH_ACCESS_TOKEN") if not config.get(name)
    ]
    if missing:
        raise HypetechApiError(f"set {', '.join(missing)} to call Hypetech")
    return HypetechClient(
        config["HYPETECH_API_URL"],
        config["HYPETECH_ACCESS_TOKEN"],
        request_access_path=config["HYPETECH_REQUEST_ACCESS_PATH"],
        timeout_s=config["OUTBOUND_TIMEOUT_S"],
    )
