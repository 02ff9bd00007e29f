"""``wallet upside …``: games, pools, keys and tokens, as an operator runs them."""

from __future__ import annotations

import json

from app.providers.upside import auth as upside_auth
from tests.conftest import UPSIDE_JWT_SECRET
from tests.factories import PlayerFactory
from tests.upside_helpers import WIN, Worker, act, make_player, refused


def ok(result) -> dict:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_operator_sets_up_a_game_and_a_worker_plays_it(runner, client):
    game = ok(runner(["upside", "games", "create", "coin-flip", "--max-multiplier", "2", "--json"]))
    assert game["active"] is True
    pool = ok(runner(["upside", "pool", "fund", "coin-flip", "2500.5", "--json"]))
    assert pool["pool_balance"] == "2500.5"
    created = ok(runner(["upside", "keys", "create", "--game", "coin-flip", "--json"]))
    assert set(created) == {"key", "secret", "passphrase"}
    player = make_player(win=10)
    jwt = ok(runner(["upside", "token", player, "--ttl", "60", "--json"]))["token"]
    assert upside_auth.player_of(jwt, UPSIDE_JWT_SECRET) == player
    worker = Worker(created["key"], created["secret"], created["passphrase"])
    answer = act(client, worker, jwt, {"trigger": "getMaxBet", "gameType": "coin-flip"})
    assert answer["maxBetAmountFormatted"] == "1250.25"


def test_deactivated_game_refuses_bets_until_activated(runner, client):
    ok(
        runner(
            ["upside", "games", "create", "dice", "--max-multiplier", "6", "--inactive", "--json"]
        )
    )
    ok(runner(["upside", "pool", "fund", "dice", str(600 * WIN), "--atomic", "--json"]))
    created = ok(runner(["upside", "keys", "create", "--game", "dice", "--json"]))
    worker = Worker(created["key"], created["secret"], created["passphrase"])
    player = make_player(win=10)
    jwt = ok(runner(["upside", "token", player, "--json"]))["token"]
    body = {"trigger": "placeBet", "gameType": "dice", "betAmount": str(WIN)}
    assert refused(client, worker, jwt, body, 422)["code"] == "GAME_INACTIVE"
    ok(runner(["upside", "games", "activate", "dice", "--json"]))
    assert act(client, worker, jwt, body)["userBalanceFormatted"] == "9"
    ok(runner(["upside", "games", "deactivate", "dice", "--json"]))
    listed = ok(runner(["upside", "games", "list", "--json"]))["games"]
    assert listed[0]["active"] is False and listed[0]["pool_balance"] == "601"


def test_keys_list_never_shows_secrets_and_revoke_stops_the_key(runner, client):
    ok(runner(["upside", "games", "create", "g1", "--max-multiplier", "2", "--json"]))
    created = ok(
        runner(
            [
                "upside",
                "keys",
                "create",
                "--game",
                "g1",
                "--expires",
                "30d",
                "--allow-ip",
                "127.0.0.1",
                "--rate-limit",
                "100/min",
                "--json",
            ]
        )
    )
    listed = runner(["upside", "keys", "list", "--json"])
    assert created["secret"] not in listed.stdout and created["passphrase"] not in listed.stdout
    key = ok(listed)["keys"][0]
    assert key["rate_limit"] == "100/min" and key["allowed_ips"] == ["127.0.0.1/32"]
    assert runner(["upside", "keys", "revoke", created["key"]]).exit_code == 0
    worker = Worker(created["key"], created["secret"], created["passphrase"])
    jwt = upside_auth.mint_token(UPSIDE_JWT_SECRET, make_player(), 60)
    assert refused(client, worker, jwt, {"trigger": "checkAuth"}, 401)


def test_cli_failures_are_one_line_and_non_zero(runner):
    for args in (
        ["upside", "games", "create", "x", "--max-multiplier", "0.5"],
        ["upside", "games", "activate", "missing"],
        ["upside", "pool", "fund", "missing", "10"],
        ["upside", "keys", "create", "--game", "missing"],
        ["upside", "keys", "revoke", "upk_missing"],
        ["upside", "token", "nobody"],
    ):
        result = runner(args)
        assert result.exit_code != 0, args
        assert "Traceback" not in result.output
        assert len(result.output.strip().splitlines()) == 1, result.output


def test_token_gives_the_player_a_win_wallet(runner):
    player = PlayerFactory(currencies=("USD",))
    ok(runner(["upside", "token", player, "--json"]))
    balances = ok(runner(["balance", player, "--json"]))["balances"]
    assert balances["WIN"] == "0.000000000000000000"


def test_keys_create_without_any_secret_configured_is_a_clear_error(app, runner):
    saved = app.config["UPSIDE_JWT_SECRET"]
    app.config["UPSIDE_JWT_SECRET"] = None
    try:
        ok(runner(["upside", "games", "create", "g1", "--max-multiplier", "2", "--json"]))
        result = runner(["upside", "keys", "create", "--game", "g1"])
    finally:
        app.config["UPSIDE_JWT_SECRET"] = saved
    assert result.exit_code != 0
    assert "UPSIDE_KEY_ENCRYPTION_KEY" in result.output
