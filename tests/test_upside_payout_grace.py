"""A win owed is not stranded by a token that ran out: processPayout of a session whose bet
was placed with a valid B3-JWT is paid if that token expired less than UPSIDE_PAYOUT_GRACE
(24h) ago. The key, passphrase, signature and the JWT's own signature and sub are still
required; only ``exp`` gets the grace, and only for that payout."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from app.core import durations
from app.providers.upside import auth as upside_auth
from tests.conftest import UPSIDE_JWT_SECRET
from tests.upside_helpers import WIN, act, bet, make_game, make_key, make_player, payout, refused


@pytest.fixture
def table():
    make_game()
    player = make_player(win=100)
    return make_key(), player


def expired_token(player: str, expired_ago: timedelta, secret: str = UPSIDE_JWT_SECRET) -> str:
    """A token valid for an hour, which ran out ``expired_ago``."""
    issued = datetime.now(UTC) - expired_ago - timedelta(hours=1)
    return upside_auth.mint_token(secret, player, 3600, now=issued)


def bet_placed(engine, worker, player: str, session: str, hours_ago: float, client) -> None:
    """A bet placed with a valid token, ``hours_ago`` hours back."""
    act(client, worker, upside_auth.mint_token(UPSIDE_JWT_SECRET, player, 60), bet(session))
    with engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE upside_sessions SET created_at = now() - make_interval(secs => :s) "
                "WHERE session_id = :id"
            ),
            {"s": hours_ago * 3600, "id": session},
        )


def test_a_payout_with_a_token_expired_inside_the_grace_is_paid(client, engine, table):
    worker, player = table
    bet_placed(engine, worker, player, "s1", hours_ago=2, client=client)

    paid = act(client, worker, expired_token(player, timedelta(hours=1)), payout("s1", 2 * WIN))

    assert paid["userBalance"] == str(101 * WIN)


def test_a_payout_with_a_token_expired_outside_the_grace_is_refused(client, engine, table):
    worker, player = table
    bet_placed(engine, worker, player, "s1", hours_ago=30, client=client)

    error = refused(
        client, worker, expired_token(player, timedelta(hours=25)), payout("s1", 2 * WIN), 401
    )

    assert (error["code"], error["message"]) == ("AUTHENTICATION_FAILED", "B3-JWT has expired")


def test_the_grace_covers_only_bets_placed_before_the_token_expired(client, engine, table):
    worker, player = table
    bet_placed(engine, worker, player, "s1", hours_ago=0, client=client)

    error = refused(
        client, worker, expired_token(player, timedelta(hours=1)), payout("s1", 2 * WIN), 401
    )

    assert error["message"] == "B3-JWT has expired"


@pytest.mark.parametrize(
    "action",
    [bet("s2"), {"trigger": "getBalance"}, {"trigger": "getMaxBet", "gameType": "coin-flip"}],
)
def test_an_expired_token_does_nothing_but_pay_out(client, table, action):
    worker, player = table
    error = refused(client, worker, expired_token(player, timedelta(minutes=5)), action, 401)
    assert error["message"] == "B3-JWT has expired"


def test_the_expired_tokens_signature_and_subject_are_still_checked(client, engine, table):
    worker, player = table
    bet_placed(engine, worker, player, "s1", hours_ago=2, client=client)
    forged = expired_token(player, timedelta(hours=1), secret="not-the-wallets-secret-at-all-xx")
    stranger = make_player(win=0)

    assert "not valid" in refused(client, worker, forged, payout("s1", WIN), 401)["message"]
    other = refused(
        client, worker, expired_token(stranger, timedelta(hours=1)), payout("s1", WIN), 403
    )
    assert other["code"] == "SESSION_OF_ANOTHER_PLAYER"


def test_no_grace_when_it_is_set_to_zero(client, app, engine, table, monkeypatch):
    monkeypatch.setitem(app.config, "UPSIDE_PAYOUT_GRACE", durations.parse("0"))
    worker, player = table
    bet_placed(engine, worker, player, "s1", hours_ago=2, client=client)

    error = refused(
        client, worker, expired_token(player, timedelta(minutes=1)), payout("s1", WIN), 401
    )

    assert error["message"] == "B3-JWT has expired"
