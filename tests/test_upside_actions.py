"""The eight Upside triggers over HTTP, as the coin-flip worker of Upside's "Backend
integration guide" uses them."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from app.providers.upside import games
from tests.factories import balance, run_committed
from tests.upside_helpers import (
    GAME,
    WIN,
    act,
    bet,
    make_game,
    make_key,
    make_player,
    payout,
    refused,
    send,
    send_raw,
    token,
)


@pytest.fixture
def table():
    """A coin-flip game (max ×2, pool 1000 WIN), a worker key, a player with 100 WIN."""
    make_game()
    player = make_player(win=100)
    return make_key(), player, token(player)


def pool() -> int:
    game = run_committed(games.find, GAME)
    return int(run_committed(games.pool_balance, game))


def test_check_auth_names_the_player(client, table):
    worker, player, jwt = table
    answer = act(client, worker, jwt, {"trigger": "checkAuth"})
    assert answer == {
        "success": True,
        "trigger": "checkAuth",
        "authenticated": True,
        "userId": player,
    }


def test_get_user_returns_identity_and_addresses(client, table):
    worker, player, jwt = table
    answer = act(client, worker, jwt, {"trigger": "getUser"})
    assert answer["userId"] == player
    assert answer["user"]["addresses"] == []


def test_get_balance_in_atomic_units_and_formatted(client, table):
    worker, _, jwt = table
    answer = act(client, worker, jwt, {"trigger": "getBalance"})
    assert answer["balance"] == answer["userBalance"] == str(100 * WIN)
    assert answer["balanceFormatted"] == "100"


def test_get_max_bet_is_pool_over_max_multiplier(client, table):
    worker, _, jwt = table
    answer = act(client, worker, jwt, {"trigger": "getMaxBet", "gameType": GAME})
    assert answer["maxBetAmount"] == str(500 * WIN)
    assert answer["maxBetAmountFormatted"] == "500"
    assert answer["gameType"] == GAME


def test_place_bet_moves_the_stake_to_the_pool(client, table):
    worker, player, jwt = table
    answer = act(
        client,
        worker,
        jwt,
        bet("s-1", WIN, gameId="round-1", thumbnailUrl="https://cdn.example/t.png"),
    )
    assert answer["sessionId"] == "s-1"
    assert answer["gameId"] == "round-1"
    assert answer["userBalance"] == str(99 * WIN)
    assert answer["userBalanceFormatted"] == "99"
    assert balance(player, "WIN") == Decimal(99)
    assert pool() == 1001 * WIN


def test_place_bet_generates_session_and_game_ids(client, table):
    worker, _, jwt = table
    answer = act(client, worker, jwt, bet(None, WIN // 2))
    assert len(answer["sessionId"]) == 36
    assert len(answer["gameId"]) == 36
    assert answer["userBalanceFormatted"] == "99.5"


def test_win_payout_credits_the_player_from_the_pool(client, table):
    worker, player, jwt = table
    act(client, worker, jwt, bet("s-1", WIN))
    answer = act(client, worker, jwt, payout("s-1", 2 * WIN, gameData={"prediction": "heads"}))
    assert answer["result"] == "win"
    assert answer["userBalance"] == str(101 * WIN)
    assert answer["userBalanceFormatted"] == "101"
    assert pool() == 999 * WIN


def test_loss_payout_of_zero_settles_the_session(client, table):
    worker, player, jwt = table
    act(client, worker, jwt, bet("s-1", WIN))
    answer = act(client, worker, jwt, payout("s-1", 0))
    assert answer["result"] == "loss"
    assert balance(player, "WIN") == Decimal(99)


def test_get_active_lists_open_sessions_only(client, table):
    worker, _, jwt = table
    act(client, worker, jwt, bet("open", WIN, clientNonce="n-1"))
    act(client, worker, jwt, bet("done", WIN))
    act(client, worker, jwt, payout("done", 0))
    answer = act(client, worker, jwt, {"trigger": "getActive", "gameType": GAME})
    assert [s["sessionId"] for s in answer["sessions"]] == ["open"]
    assert answer["sessions"][0]["status"] == "bet_placed"
    assert answer["sessions"][0]["clientNonce"] == "n-1"


def test_get_history_has_sessions_total_stats_and_paging(client, table):
    worker, _, jwt = table
    for n in range(3):
        act(client, worker, jwt, bet(f"s-{n}", WIN))
    act(client, worker, jwt, payout("s-0", 2 * WIN, gameData={"roll": 0.5, "big": 10**30}))
    act(client, worker, jwt, payout("s-1", 0))
    act(client, worker, jwt, payout("s-2", WIN, result="push"))
    page = act(client, worker, jwt, {"trigger": "getHistory", "gameType": GAME, "limit": 2})
    assert page["total"] == 3 and len(page["sessions"]) == 2 and page["hasMore"] is True
    rest = act(client, worker, jwt, {"trigger": "getHistory", "limit": 2, "offset": 2})
    assert len(rest["sessions"]) == 1 and rest["hasMore"] is False
    stats = page["stats"]
    assert stats["totalSessions"] == 3
    assert (stats["wins"], stats["losses"], stats["pushes"]) == (1, 1, 1)
    assert stats["totalWageredFormatted"] == "3"
    assert stats["totalPayoutFormatted"] == "3"
    assert stats["netProfitFormatted"] == "0"
    by_id = {s["sessionId"]: s for s in page["sessions"] + rest["sessions"]}
    assert by_id["s-0"]["gameData"] == {"roll": 0.5, "big": 10**30}
    assert by_id["s-0"]["payoutAmountFormatted"] == "2"


def test_game_data_is_stored_with_exact_numbers(client, table):
    worker, _, jwt = table
    act(client, worker, jwt, bet("s-1", WIN))
    game_data = '{"seed": "abc", "x": 0.1, "n": [1, 2.50, 123456789012345678901234567890.5]}'
    body = json.dumps(payout("s-1", 0, gameData="GD")).replace('"GD"', game_data)
    assert send_raw(client, worker, jwt, body.encode()).status_code == 200
    response = send(client, worker, jwt, {"trigger": "getHistory"})
    stored = json.loads(response.data, parse_float=Decimal)["sessions"][0]["gameData"]
    assert stored == {
        "seed": "abc",
        "x": Decimal("0.1"),
        "n": [1, Decimal("2.50"), Decimal("123456789012345678901234567890.5")],
    }


# --- documented failures ---------------------------------------------------------------


def test_bet_on_unknown_game_is_404(client, table):
    worker, _, jwt = table
    error = refused(client, worker, jwt, bet("s-1", WIN, game="no-such-game"), 404)
    assert error["code"] == "GAME_NOT_FOUND"


def test_bet_on_inactive_game_is_422(client):
    make_game("dice", active=False)
    player = make_player()
    worker = make_key(("dice",))
    error = refused(client, worker, token(player), bet("s-1", WIN, game="dice"), 422)
    assert error["code"] == "GAME_INACTIVE"


def test_bet_above_max_bet_is_422_and_moves_nothing(client, table):
    worker, player, jwt = table
    error = refused(client, worker, jwt, bet("s-1", 500 * WIN + 1), 422)
    assert error["code"] == "BET_ABOVE_MAX_BET"
    assert balance(player, "WIN") == Decimal(100)


def test_bet_beyond_the_balance_is_422_and_the_session_is_failed(client, table):
    worker, player, jwt = table
    error = refused(client, worker, jwt, bet("s-1", 101 * WIN), 422)
    assert error["code"] == "INSUFFICIENT_BALANCE"
    again = refused(client, worker, jwt, payout("s-1", 0), 409)
    assert "already finished" in again["message"]
    assert balance(player, "WIN") == Decimal(100)


def test_session_id_already_used_for_a_bet_is_409(client, table):
    worker, player, jwt = table
    act(client, worker, jwt, bet("s-1", WIN))
    error = refused(client, worker, jwt, bet("s-1", WIN), 409)
    assert error["code"] == "SESSION_ALREADY_USED"
    assert balance(player, "WIN") == Decimal(99)


def test_payout_for_unknown_session_is_404(client, table):
    worker, _, jwt = table
    assert refused(client, worker, jwt, payout("nope", 0), 404)["code"] == "SESSION_NOT_FOUND"


def test_second_payout_is_409_already_processed(client, table):
    worker, player, jwt = table
    act(client, worker, jwt, bet("s-1", WIN))
    act(client, worker, jwt, payout("s-1", 2 * WIN))
    error = refused(client, worker, jwt, payout("s-1", 2 * WIN), 409)
    assert "already processed" in error["message"]
    assert balance(player, "WIN") == Decimal(101)


def test_payout_above_stake_times_max_multiplier_is_422(client, table):
    worker, player, jwt = table
    act(client, worker, jwt, bet("s-1", WIN))
    error = refused(client, worker, jwt, payout("s-1", 2 * WIN + 1), 422)
    assert error["code"] == "PAYOUT_ABOVE_MAXIMUM"
    assert act(client, worker, jwt, payout("s-1", 2 * WIN))["userBalanceFormatted"] == "101"


def test_payout_the_pool_cannot_cover_is_422_and_can_be_retried(client):
    make_game("jackpot", multiplier="1000", pool_win=10)
    player = make_player()
    worker, jwt = make_key(("jackpot",)), token(player)
    stake = WIN // 100
    act(client, worker, jwt, bet("s-1", stake, game="jackpot"))
    act(client, worker, jwt, bet("s-2", stake, game="jackpot"))
    act(client, worker, jwt, payout("s-1", 10 * WIN, game="jackpot"))
    error = refused(client, worker, jwt, payout("s-2", 10 * WIN, game="jackpot"), 422)
    assert error["code"] == "POOL_CANNOT_PAY"
    run_committed(games.fund_pool, "jackpot", 10 * WIN)
    assert act(client, worker, jwt, payout("s-2", 10 * WIN, game="jackpot"))["success"]
    assert balance(player, "WIN") == Decimal("119.98")


def test_payout_still_settles_after_the_game_is_deactivated(client, table):
    worker, _, jwt = table
    act(client, worker, jwt, bet("s-1", WIN))
    run_committed(games.set_active, GAME, False)
    assert act(client, worker, jwt, payout("s-1", 0))["success"]
    assert refused(client, worker, jwt, bet("s-2", WIN), 422)["code"] == "GAME_INACTIVE"


def test_blocked_player_cannot_bet(client):
    make_game()
    player = make_player(blocked=True)
    error = refused(client, make_key(), token(player), bet("s-1", WIN), 403)
    assert error["code"] == "PLAYER_BLOCKED"


@pytest.mark.parametrize(
    "payload",
    [
        {"trigger": "launchRocket"},
        {"gameType": GAME},
        {"trigger": "placeBet", "gameType": GAME},
        {"trigger": "placeBet", "gameType": GAME, "betAmount": "1.5"},
        {"trigger": "placeBet", "gameType": GAME, "betAmount": "-1"},
        {"trigger": "placeBet", "gameType": GAME, "betAmount": 1.5},
        {"trigger": "placeBet", "gameType": GAME, "betAmount": "1e18"},
        {"trigger": "placeBet", "gameType": GAME, "betAmount": "0"},
        {"trigger": "placeBet", "gameType": GAME, "betAmount": "9" * 61},
        {"trigger": "processPayout", "gameType": GAME, "payoutAmount": "0"},
        {"trigger": "getMaxBet"},
        {"trigger": "getHistory", "limit": 0},
        {"trigger": "getHistory", "limit": "10"},
    ],
)
def test_malformed_requests_are_400_and_change_nothing(client, table, payload):
    worker, player, jwt = table
    error = refused(client, worker, jwt, payload, 400)
    assert error["code"] == "INVALID_REQUEST"
    assert balance(player, "WIN") == Decimal(100)


def test_non_json_body_and_wrong_content_type_are_400(client, table):
    worker, _, jwt = table
    from tests.upside_helpers import headers

    body = b"not json"
    response = client.post("/upside/game-actions", data=body, headers=headers(worker, jwt, body))
    assert response.status_code == 400
    body = b'{"trigger": "checkAuth"}'
    sent = {**headers(worker, jwt, body), "Content-Type": "text/plain"}
    response = client.post("/upside/game-actions", data=body, headers=sent)
    assert response.status_code == 400
    assert response.get_json()["success"] is False


def test_unknown_fields_are_ignored(client, table):
    worker, _, jwt = table
    assert act(client, worker, jwt, {"trigger": "checkAuth", "extra": {"a": 1}})["success"]
