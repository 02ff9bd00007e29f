"""The IGPX outbound client against a local server that plays IGPX."""

from __future__ import annotations

import json

import pytest

from app.providers.igpx.client import IgpxApiError, IgpxClient
from tests.factories import PlayerFactory
from tests.fake_provider import serve


def igpx_routes(expires_in="3600", tokens=None):
    issued = tokens if tokens is not None else []

    def auth(received):
        if received.body != {"username": "op", "password": "pw"}:
            return 403, {"error": "bad credentials"}
        issued.append(f"token-{len(issued) + 1}")
        return 200, {"token": issued[-1], "expires_in": expires_in}

    def start_session(received):
        if received.headers.get("Authorization") != f"Bearer {issued[-1] if issued else ''}":
            return 401, {"error": "unauthorized"}
        body = received.body
        return 200, {
            "url": f"https://sportsbook.example/?u={body['user_id']}&c={body['currency']}"
            f"&l={body.get('lang', '')}"
        }

    return {("POST", "/v2/auth"): auth, ("POST", "/v2/start-session"): start_session}, issued


def make_client(url):
    return IgpxClient(url, "v2", "op", "pw", timeout_s=2)


def test_start_session_authenticates_once_and_reuses_the_token():
    routes, _ = igpx_routes()
    with serve(routes) as igpx:
        client = make_client(igpx.url)
        first = client.start_session("p1", "USD", "en")
        client.start_session("p2", "EUR")
    assert first == "https://sportsbook.example/?u=p1&c=USD&l=en"
    assert len(igpx.calls("/v2/auth")) == 1
    assert igpx.calls("/v2/start-session")[1].body == {"user_id": "p2", "currency": "EUR"}


def test_an_expired_token_is_refreshed_before_use():
    routes, _ = igpx_routes(expires_in=0)
    with serve(routes) as igpx:
        client = make_client(igpx.url)
        client.start_session("p1", "USD")
        client.start_session("p1", "USD")
    assert len(igpx.calls("/v2/auth")) == 2


def test_a_401_triggers_one_fresh_login_and_a_retry():
    routes, tokens = igpx_routes()
    with serve(routes) as igpx:
        client = make_client(igpx.url)
        client.start_session("p1", "USD")
        tokens.append("revoked-elsewhere")  # the server now expects another token
        assert client.start_session("p1", "USD").startswith("https://")
    assert len(igpx.calls("/v2/auth")) == 2


@pytest.mark.parametrize(
    ("routes", "message"),
    [
        ({("POST", "/v2/auth"): lambda r: (500, {"error": "boom"})}, "auth answered HTTP 500"),
        ({("POST", "/v2/auth"): lambda r: (200, {"expires_in": 60})}, "without a token"),
        ({("POST", "/v2/auth"): lambda r: (200, b"<html>")}, "not JSON"),
        (
            {
                ("POST", "/v2/auth"): lambda r: (200, {"token": "t", "expires_in": 60}),
                ("POST", "/v2/start-session"): lambda r: (200, {}),
            },
            "without a url",
        ),
    ],
)
def test_provider_failures_become_clear_errors(routes, message):
    with serve(routes) as igpx, pytest.raises(IgpxApiError, match=message):
        make_client(igpx.url).start_session("p1", "USD")


def test_an_unreachable_provider_is_a_clear_error():
    with pytest.raises(IgpxApiError, match="auth failed"):
        make_client("http://127.0.0.1:9").start_session("p1", "USD")


def test_wallet_igpx_launch_prints_the_iframe_url(runner, app):
    PlayerFactory(id="alice", balance="0")
    routes, _ = igpx_routes()
    with serve(routes) as igpx:
        app.config.update(
            IGPX_API_URL=igpx.url,
            IGPX_API_VERSION="v2",
            IGPX_CLIENT_USERNAME="op",
            IGPX_CLIENT_PASSWORD="pw",
        )
        try:
            result = runner(["igpx", "launch", "alice", "USD", "--lang", "es", "--json"])
            missing = runner(["igpx", "launch", "alice", "EUR"])
        finally:
            app.config.update(
                IGPX_API_URL=None, IGPX_CLIENT_USERNAME=None, IGPX_CLIENT_PASSWORD=None
            )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["url"] == "https://sportsbook.example/?u=alice&c=USD&l=es"
    assert missing.exit_code == 1
    assert "no EUR wallet" in missing.stderr


def test_wallet_igpx_launch_without_configuration_says_what_to_set(runner):
    PlayerFactory(id="alice", balance="0")
    result = runner(["igpx", "launch", "alice", "USD"])
    assert result.exit_code == 1
    assert "IGPX_API_URL" in result.stderr
