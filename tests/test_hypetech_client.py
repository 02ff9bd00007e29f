"""The outbound Hypetech client and its CLI, against a local server that plays Hypetech."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from app.providers.hypetech.client import HypetechApiError, HypetechClient
from tests.factories import PlayerFactory

TOKEN = "hypetech-access-token"
GAMES = [{"name": "motograu", "game_token": "g1"}, {"name": "aviator", "game_token": "g2"}]


class FakeHypetech(BaseHTTPRequestHandler):
    """``GET /games/activated`` and ``POST /games/request-access`` behind a bearer token."""

    requests: list[dict[str, Any]] = []
    slow = False

    def do_GET(self) -> None:
        if self._authorized() and self.path == "/games/activated":
            self._send(200, GAMES)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", 0))
        body = json.loads(self.rfile.read(length) or b"{}")
        type(self).requests.append(body)
        if type(self).slow:
            time.sleep(1.5)
        if self._authorized() and self.path == "/games/request-access":
            if body.get("game") == "unknown":
                self._send(404, {"title": "Not Found", "detail": "game not activated"})
            else:
                self._send(200, {"game_url": f"https://play.hypetech.games/{body['game']}?s=1"})

    def _authorized(self) -> bool:
        if self.headers.get("Authorization") == f"Bearer {TOKEN}":
            return True
        self._send(401, {"title": "Unauthorized", "status": 401})
        return False

    def _send(self, status: int, data: Any) -> None:
        payload = json.dumps(data).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def hypetech_url() -> Iterator[str]:
    FakeHypetech.requests, FakeHypetech.slow = [], False
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeHypetech)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.fixture
def configured(app, hypetech_url) -> Iterator[None]:
    app.config.update(HYPETECH_API_URL=hypetech_url, HYPETECH_ACCESS_TOKEN=TOKEN)
    yield
    app.config.update(HYPETECH_API_URL=None, HYPETECH_ACCESS_TOKEN=None)


def test_client_lists_the_activated_games(hypetech_url):
    assert HypetechClient(hypetech_url + "/", TOKEN).games() == GAMES


def test_client_requests_a_game_url_with_the_documented_fields(hypetech_url):
    from decimal import Decimal

    client = HypetechClient(hypetech_url, TOKEN)
    url = client.game_url("motograu", "p1", "Jhon Doe", "BRL", Decimal("2500"), "pt")
    assert url == "https://play.hypetech.games/motograu?s=1"
    assert FakeHypetech.requests == [
        {
            "game": "motograu",
            "user_id": "p1",
            "username": "Jhon Doe",
            "lang": "pt",
            "currency": "BRL",
            "balance": "2500.00",
        }
    ]


def test_wrong_token_is_a_clear_error(hypetech_url):
    with pytest.raises(HypetechApiError, match="HTTP 401: Unauthorized"):
        HypetechClient(hypetech_url, "wrong").games()


def test_slow_answer_times_out(hypetech_url):
    from decimal import Decimal

    FakeHypetech.slow = True
    client = HypetechClient(hypetech_url, TOKEN, timeout_s=0.3)
    with pytest.raises(HypetechApiError, match="timed out"):
        client.game_url("motograu", "p1", "p1", "BRL", Decimal(0))


def test_unreachable_server_is_a_clear_error():
    with pytest.raises(HypetechApiError, match="failed: ConnectionError"):
        HypetechClient("http://127.0.0.1:1", TOKEN, timeout_s=1).games()


def test_cli_games_prints_names_or_json(runner, configured):
    assert runner(["hypetech", "games"]).stdout.split() == ["motograu", "aviator"]
    assert json.loads(runner(["hypetech", "games", "--json"]).stdout) == GAMES


def test_cli_launch_sends_the_players_balance_and_prints_the_url(runner, configured):
    player = PlayerFactory(currencies=("BRL",), balance="2500")
    result = runner(["hypetech", "launch", player, "motograu", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {
        "player_id": player,
        "game": "motograu",
        "currency": "BRL",
        "url": "https://play.hypetech.games/motograu?s=1",
    }
    assert FakeHypetech.requests[0]["balance"] == "2500.00"
    assert FakeHypetech.requests[0]["username"] == player


def test_cli_launch_failures_are_one_line(runner, configured):
    player = PlayerFactory(currencies=("BRL", "USD"))
    ambiguous = runner(["hypetech", "launch", player, "motograu"])
    assert ambiguous.exit_code != 0 and "--currency" in ambiguous.output
    refused = runner(["hypetech", "launch", player, "unknown", "--currency", "brl"])
    assert refused.exit_code != 0 and "HTTP 404: game not activated" in refused.output
    assert runner(["hypetech", "launch", "nobody", "motograu"]).exit_code != 0


def test_cli_without_settings_says_what_to_set(runner, app):
    result = runner(["hypetech", "games"])
    assert result.exit_code != 0
    assert "HYPETECH_API_URL, HYPETECH_ACCESS_TOKEN" in result.output
