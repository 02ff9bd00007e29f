"""The calls the wallet makes to IGPX: auth (token cached) and start-session."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

import requests


class IgpxApiError(Exception):
    """IGPX did not give us what we asked for; the message says what happened."""


@dataclass
class _Token:
    value: str
    expires_at: float


class IgpxClient:
    """Thread-safe client; the bearer token is reused until shortly before it expires."""

    REFRESH_MARGIN_S = 30

    def __init__(
        self,
        api_url: str,
        version: str,
        username: str,
        password: str,
        timeout_s: float = 10,
        session: requests.Session | None = None,
    ) -> None:
        self._base = f"{api_url.rstrip('/')}/{version.strip('/')}"
        self._credentials = {"username": username, "password": password}
        self._timeout = timeout_s
        self._http = session or requests.Session()
        self._token: _Token | None = None
        self._lock = threading.Lock()

    def start_session(self, user_id: str, currency: str, lang: str | None = None) -> str:
        """The iframe URL for this player; re-authenticates once if IGPX answers 401."""
        body: dict[str, Any] = {"user_id": user_id, "currency": currency}
        if lang:
            body["lang"] = lang
        response = self._post_authorized("start-session", body)
        if response.status_code == 401:
            response = self._post_authorized("start-session", body, fresh_token=True)
        url = self._json(response, "start-session").get("url")
        if not isinstance(url, str) or not url:
            raise IgpxApiError("start-session answered without a url")
        return url

    def token(self, fresh: bool = False) -> str:
        with self._lock:
            if fresh or self._token is None or time.monotonic() >= self._token.expires_at:
                self._token = self._authenticate()
            return self._token.value

    def _authenticate(self) -> _Token:
        response = self._send("auth", self._credentials, headers={})
        data = self._json(response, "auth")
        token, expires_in = data.get("token"), data.get("expires_in")
        if not isinstance(token, str) or not token:
            raise IgpxApiError("auth answered without a token")
        try:
            lifetime = float(Decimal(str(expires_in)))
        except (InvalidOperation, ValueError):
            raise IgpxApiError(f"auth answered an unreadable expires_in: {expires_in!r}") from None
        margin = min(self.REFRESH_MARGIN_S, lifetime / 10)
        return _Token(token, time.monotonic() + lifetime - margin)

    def _post_authorized(
        self, path: str, body: dict[str, Any], fresh_token: bool = False
    ) -> requests.Response:
        headers = {"Authorization": f"Bearer {self.token(fresh=fresh_token)}"}
        return self._send(path, body, headers)

    def _send(self, path: str, body: dict[str, Any], headers: dict[str, str]) -> requests.Response:
        try:
            return self._http.post(
                f"{self._base}/{path}", json=body, headers=headers, timeout=self._timeout
            )
        except requests.RequestException as exc:
            raise IgpxApiError(f"IGPX {path} failed: {type(exc).__name__}") from None

    @staticmethod
    def _json(response: requests.Response, what: str) -> dict[str, Any]:
        if response.status_code != 200:
            raise IgpxApiError(f"IGPX {what} answered HTTP {response.status_code}")
        try:
            data = response.json()
        except ValueError:
            raise IgpxApiError(f"IGPX {what} answered a body that is not JSON") from None
        if not isinstance(data, dict):
            raise IgpxApiError(f"IGPX {what} answered JSON that is not an object")
        return data


def client_from_config(config: dict[str, Any]) -> IgpxClient:
    missing = [
        name
        for name in ("IGPX_API_URL", "IGPX_CLIENT_USERNAME", "IGPX_CLIENT_PASSWORD")
        if not config.get(name)
    ]
    if missing:
        raise IgpxApiError(f"set {', '.join(missing)} to call IGPX")
    return IgpxClient(
        config["IGPX_API_URL"],
        config["IGPX_API_VERSION"],
        config["IGPX_CLIENT_USERNAME"],
        config["IGPX_CLIENT_PASSWORD"],
        timeout_s=config["OUTBOUND_TIMEOUT_S"],
    )
