"""Each protocol answers a limit or an exclusion in its own shape, and never refuses money
owed to the player: IGPX 200 {"error": "LIMIT_EXCEEDED" | "USER_EXCLUDED"}, Hypetech 403
problem+json LIMIT_EXCEEDED (with ``remaining``) | PLAYER_EXCLUDED, Upside 422
LIMIT_EXCEEDED | 403 PLAYER_EXCLUDED."""

from __future__ import annotations

from decimal import Decimal

import pytest

from app.core import exclusions
from tests import hypetech_helpers as hype
from tests import igpx_helpers as igpx
from tests import upside_helpers as upside
from tests.factories import PlayerFactory, balance
from tests.protection_helpers import NO_DELAY, exclude, remove_limit, set_limit

WIN = upside.WIN


# --- IGPX ------------------------------------------------------------------------------------


def test_igpx_answers_a_limit_with_limit_exceeded(client):
    player = PlayerFactory(balance="100.00")
    set_limit(player, "loss 25/day")
    assert igpx.post(client, "transaction", igpx.bet("b1", player, "20"))["error"] is None

    answer = igpx.post(client, "transaction", igpx.bet("b2", player, "10"))

    assert answer == {"error": "LIMIT_EXCEEDED"}
    assert balance(player) == Decimal("80.00")


def test_igpx_answers_an_exclusion_with_user_excluded_and_still_pays(client):
    player = PlayerFactory(balance="100.00")
    igpx.post(client, "transaction", igpx.bet("b1", player, "10"))
    exclude(player, exclusions.TIMEOUT, duration=_for("24h"))

    assert igpx.post(client, "transaction", igpx.bet("b2", player, "1")) == {
        "error": "USER_EXCLUDED"
    }
    assert igpx.post(client, "transaction", igpx.result("r1", player, "30"))["error"] is None
    rollback = igpx.rollback("rb1", "b1", player, "10")
    assert igpx.post(client, "transaction-rollback", rollback)["error"] is None
    assert balance(player) == Decimal("130.00")


def test_igpx_codes_are_configurable(client, app, monkeypatch):
    monkeypatch.setitem(app.config, "IGPX_LIMIT_EXCEEDED_CODE", "RS_ERROR_LIMIT_REACHED")
    monkeypatch.setitem(app.config, "IGPX_USER_EXCLUDED_CODE", "PLAYER_SELF_EXCLUDED")
    limited, excluded = PlayerFactory(), PlayerFactory()
    set_limit(limited, "wager 1/day")
    exclude(excluded, duration=_for("1w"))

    assert igpx.post(client, "transaction", igpx.bet("b1", limited, "2")) == {
        "error": "RS_ERROR_LIMIT_REACHED"
    }
    assert igpx.post(client, "transaction", igpx.bet("b2", excluded, "2")) == {
        "error": "PLAYER_SELF_EXCLUDED"
    }


def test_igpx_retry_of_a_declined_bet_is_declined_though_the_limit_was_lifted(client):
    player = PlayerFactory(balance="100.00")
    set_limit(player, "loss 5/day")
    assert igpx.post(client, "transaction", igpx.bet("b1", player, "10"))["error"]
    remove_limit(player, "loss day", delay=NO_DELAY)

    assert igpx.post(client, "transaction", igpx.bet("b1", player, "10")) == {
        "error": "LIMIT_EXCEEDED"
    }
    assert balance(player) == Decimal("100.00")


# --- Hypetech --------------------------------------------------------------------------------


def test_hypetech_answers_a_limit_with_403_and_what_is_left(client):
    player = PlayerFactory(balance="100.00")
    set_limit(player, "loss 25/day")
    hype.ok(client, "register", hype.bet("h1", player, "20.00", currency="USD"))

    problem = hype.problem(client, "register", hype.bet("h2", player, "10", currency="USD"), 403)

    assert problem["code"] == "LIMIT_EXCEEDED"
    assert (problem["limit"], problem["remaining"], problem["currency"]) == (
        "loss/day",
        "5.00",
        "USD",
    )


def test_hypetech_answers_an_exclusion_with_403_and_still_pays(client):
    player = PlayerFactory(balance="100.00")
    hype.ok(client, "register", hype.bet("h1", player, "10", currency="USD"))
    exclude(player)  # permanent

    problem = hype.problem(client, "register", hype.bet("h2", player, "1", currency="USD"), 403)

    assert problem["code"] == "PLAYER_EXCLUDED"
    assert "remaining" not in problem
    hype.ok(client, "rewards", hype.win("h3", player, "15", currency="USD", linked_tx_id="h1"))
    hype.ok(client, "rollback", hype.new_rollback("h4", "h1", player, "10", currency="USD"))
    assert balance(player) == Decimal("115.00")


# --- Upside ----------------------------------------------------------------------------------


@pytest.fixture
def table():
    """A coin-flip game (max ×2, pool 1000 WIN), a worker key, a player with 100 WIN."""
    upside.make_game()
    player = upside.make_player(win=100)
    return upside.make_key(), player, upside.token(player)


def test_upside_answers_a_limit_with_422(client, table):
    worker, player, jwt = table
    set_limit(player, "loss 30/day", currency="WIN")
    upside.act(client, worker, jwt, upside.bet("s1", 20 * WIN))

    error = upside.refused(client, worker, jwt, upside.bet("s2", 11 * WIN), 422)

    assert error["code"] == "LIMIT_EXCEEDED"
    assert "loss/day" in error["message"] and str(10 * WIN) in error["message"]


def test_upside_max_bet_never_offers_more_than_the_limits_leave(client, table):
    worker, player, jwt = table
    max_bet = {"trigger": "getMaxBet", "gameType": upside.GAME}
    assert upside.act(client, worker, jwt, max_bet)["maxBetAmount"] == str(500 * WIN)
    set_limit(player, "loss 30/day", currency="WIN")
    set_limit(player, "wager 50/week", currency="WIN")
    upside.act(client, worker, jwt, upside.bet("s1", 20 * WIN))

    assert upside.act(client, worker, jwt, max_bet)["maxBetAmount"] == str(10 * WIN)
    exclude(player, exclusions.TIMEOUT, duration=_for("1h"))
    assert upside.act(client, worker, jwt, max_bet)["maxBetAmount"] == "0"


def test_upside_answers_an_exclusion_with_403_and_still_pays_the_open_session(client, table):
    worker, player, jwt = table
    upside.act(client, worker, jwt, upside.bet("s1", 10 * WIN))
    exclude(player, duration=_for("180d"))

    error = upside.refused(client, worker, jwt, upside.bet("s2", WIN), 403)
    paid = upside.act(client, worker, jwt, upside.payout("s1", 20 * WIN))

    assert error["code"] == "PLAYER_EXCLUDED"
    assert paid["userBalance"] == str(110 * WIN)


def _for(raw: str):
    from app.core import durations

    return durations.parse(raw)
