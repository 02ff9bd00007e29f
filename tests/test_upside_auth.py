"""Hostile requests: forged, stale, replayed, cross-game, cross-player, and key policies."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from app.providers.upside import auth as upside_auth
from app.providers.upside import keys as upside_keys
from tests.factories import balance, run_committed
from tests.upside_helpers import (
    GAME,
    WIN,
    act,
    bet,
    headers,
    make_game,
    make_key,
    make_player,
    payout,
    refused,
    send,
    stamp_ago,
    token,
)

PATH = "/upside/game-actions"


@pytest.fixture
def table():
    make_game()
    player = make_player(win=100)
    return make_key(), player, token(player)


def post(client, body: bytes, sent: dict[str, str]):
    return client.post(PATH, data=body, headers=sent)


def assert_refused(response, status: int, code: str) -> None:
    assert response.status_code == status, response.get_data(as_text=True)
    answer = response.get_json()
    assert answer["success"] is False
    assert answer["error"]["code"] == code


def test_forged_signature_is_401_and_moves_nothing(client, table):
    worker, player, jwt = table
    body = json.dumps(bet("s-1", WIN)).encode()
    forged = headers(replace(worker, secret="not-the-secret"), jwt, body)
    assert_refused(post(client, body, forged), 401, "AUTHENTICATION_FAILED")
    assert balance(player, "WIN") == Decimal(100)


def test_body_changed_after_signing_is_401(client, table):
    worker, player, jwt = table
    signed = json.dumps(bet("s-1", WIN)).encode()
    sent = json.dumps(bet("s-1", 50 * WIN)).encode()
    assert_refused(post(client, sent, headers(worker, jwt, signed)), 401, "AUTHENTICATION_FAILED")


def test_jwt_swapped_after_signing_is_401(client, table):
    worker, _, jwt = table
    other = make_player()
    body = json.dumps({"trigger": "getBalance"}).encode()
    sent = {**headers(worker, jwt, body), "B3-JWT": token(other)}
    assert_refused(post(client, body, sent), 401, "AUTHENTICATION_FAILED")


@pytest.mark.parametrize("age_s", [31, -31, 3600])
def test_stale_or_future_timestamp_is_401(client, table, age_s):
    worker, _, jwt = table
    body = b'{"trigger":"checkAuth"}'
    sent = headers(worker, jwt, body, timestamp=stamp_ago(age_s))
    assert_refused(post(client, body, sent), 401, "AUTHENTICATION_FAILED")


@pytest.mark.parametrize("stamp", ["yesterday", "2026-01-01T00:00:00", ""])
def test_unreadable_timestamp_is_401(client, table, stamp):
    worker, _, jwt = table
    body = b'{"trigger":"checkAuth"}'
    sent = {**headers(worker, jwt, body), "UPSIDE-ACCESS-TIMESTAMP": stamp}
    assert_refused(post(client, body, sent), 401, "AUTHENTICATION_FAILED")


def test_replayed_request_is_refused_and_moves_nothing(client, table):
    worker, player, jwt = table
    body = json.dumps(bet(None, WIN)).encode()
    sent = headers(worker, jwt, body)
    assert post(client, body, sent).status_code == 200
    assert_refused(post(client, body, sent), 409, "REPLAYED_REQUEST")
    assert balance(player, "WIN") == Decimal(99)


@pytest.mark.parametrize(
    "header", ["UPSIDE-ACCESS-KEY", "UPSIDE-ACCESS-SIGN", "UPSIDE-ACCESS-PASSPHRASE", "B3-JWT"]
)
def test_missing_header_is_401(client, table, header):
    worker, _, jwt = table
    body = b'{"trigger":"checkAuth"}'
    sent = headers(worker, jwt, body)
    del sent[header]
    assert_refused(post(client, body, sent), 401, "AUTHENTICATION_FAILED")


def test_wrong_passphrase_is_401(client, table):
    worker, _, jwt = table
    body = b'{"trigger":"checkAuth"}'
    sent = {**headers(worker, jwt, body), "UPSIDE-ACCESS-PASSPHRASE": "guess"}
    assert_refused(post(client, body, sent), 401, "AUTHENTICATION_FAILED")


def test_unknown_key_is_401(client, table):
    worker, _, jwt = table
    body = b'{"trigger":"checkAuth"}'
    sent = {**headers(worker, jwt, body), "UPSIDE-ACCESS-KEY": "upk_unknown"}
    assert_refused(post(client, body, sent), 401, "AUTHENTICATION_FAILED")


def test_revoked_key_is_401(client, table):
    worker, _, jwt = table
    run_committed(upside_keys.revoke, worker.key, datetime.now(UTC))
    assert refused(client, worker, jwt, {"trigger": "checkAuth"}, 401)["message"]


@pytest.mark.parametrize(
    "claims",
    [
        {"sub": "player-x", "exp": datetime.now(UTC) - timedelta(seconds=5)},
        {"sub": "player-x"},
        {"exp": datetime.now(UTC) + timedelta(minutes=5)},
    ],
)
def test_expired_or_incomplete_jwt_is_401(client, table, claims):
    import jwt as pyjwt

    from tests.conftest import UPSIDE_JWT_SECRET

    worker, _, _ = table
    bad = pyjwt.encode(claims, UPSIDE_JWT_SECRET, algorithm="HS256")
    assert refused(client, worker, bad, {"trigger": "checkAuth"}, 401)


def test_jwt_signed_with_another_secret_or_alg_none_is_401(client, table):
    import jwt as pyjwt

    worker, player, _ = table
    exp = datetime.now(UTC) + timedelta(minutes=5)
    other = pyjwt.encode({"sub": player, "exp": exp}, "x" * 40, algorithm="HS256")
    assert refused(client, worker, other, {"trigger": "checkAuth"}, 401)
    unsigned = pyjwt.encode({"sub": player, "exp": exp}, None, algorithm="none")
    assert refused(client, worker, unsigned, {"trigger": "checkAuth"}, 401)


def test_jwt_for_an_unknown_player_is_401(client, table):
    worker, _, _ = table
    error = refused(client, worker, token("ghost"), {"trigger": "getBalance"}, 401)
    assert error["code"] == "UNKNOWN_PLAYER"


def test_cross_game_request_is_403(client, table):
    worker, player, jwt = table
    make_game("dice")
    error = refused(client, worker, jwt, bet("s-1", WIN, game="dice"), 403)
    assert error["code"] == "GAME_NOT_ALLOWED"
    assert refused(client, worker, jwt, {"trigger": "getMaxBet", "gameType": "dice"}, 403)
    assert balance(player, "WIN") == Decimal(100)


def test_session_of_another_game_cannot_be_settled_through_this_game(client, table):
    _, player, jwt = table
    make_game("dice")
    both = make_key((GAME, "dice"))
    act(client, both, jwt, bet("s-dice", WIN, game="dice"))
    error = refused(client, both, jwt, payout("s-dice", 2 * WIN, game=GAME), 403)
    assert error["code"] == "SESSION_OF_ANOTHER_GAME"


def test_reads_without_game_cover_only_the_keys_games(client, table):
    worker, player, jwt = table
    make_game("dice")
    act(client, make_key(("dice",)), jwt, bet("s-dice", WIN, game="dice"))
    act(client, worker, jwt, bet("s-flip", WIN))
    active = act(client, worker, jwt, {"trigger": "getActive"})
    assert [s["sessionId"] for s in active["sessions"]] == ["s-flip"]


def test_jwt_of_one_player_cannot_settle_another_players_session(client, table):
    worker, owner, owner_jwt = table
    act(client, worker, owner_jwt, bet("s-1", WIN))
    thief = make_player(win=0)
    error = refused(client, worker, token(thief), payout("s-1", 2 * WIN), 403)
    assert error["code"] == "SESSION_OF_ANOTHER_PLAYER"
    assert balance(thief, "WIN") == Decimal(0)
    assert act(client, worker, owner_jwt, payout("s-1", 2 * WIN))["userBalanceFormatted"] == "101"


def test_expired_key_is_403(client):
    make_game()
    player = make_player()
    worker = make_key(expires_at=datetime.now(UTC) - timedelta(seconds=1))
    assert refused(client, worker, token(player), {"trigger": "checkAuth"}, 403)["code"] == (
        "API_KEY_EXPIRED"
    )


def test_ip_allowlist(client):
    make_game()
    player = make_player()
    elsewhere = make_key(networks=["10.0.0.0/8"])
    here = make_key(networks=["10.0.0.0/8", "127.0.0.1/32"])
    jwt = token(player)
    assert refused(client, elsewhere, jwt, {"trigger": "checkAuth"}, 403)["code"] == (
        "IP_NOT_ALLOWED"
    )
    assert act(client, here, jwt, {"trigger": "checkAuth"})["authenticated"] is True


def test_rate_limit_per_key_is_429_past_the_limit(client):
    make_game()
    player = make_player()
    worker, jwt = make_key(rate_limit=upside_keys.RateLimit(3, 60)), token(player)
    for _ in range(3):
        act(client, worker, jwt, {"trigger": "getBalance"})
    assert refused(client, worker, jwt, {"trigger": "getBalance"}, 429)["code"] == "RATE_LIMITED"


def test_unconfigured_jwt_secret_refuses_everything(app, client, table):
    worker, _, jwt = table
    app.config["UPSIDE_JWT_SECRET"] = None
    try:
        response = send(client, worker, jwt, {"trigger": "checkAuth"})
    finally:
        from tests.conftest import UPSIDE_JWT_SECRET

        app.config["UPSIDE_JWT_SECRET"] = UPSIDE_JWT_SECRET
    assert_refused(response, 401, "AUTHENTICATION_FAILED")


def test_signature_matches_the_documented_formula():
    """base64(HMAC-SHA256(secret, timestamp + "POST" + path + rawBody + b3Jwt))."""
    import base64
    import hashlib
    import hmac

    credentials = upside_auth.Credentials("k", "", "2026-01-01T00:00:00.000Z", "p", "jwt")
    body = b'{"trigger":"getBalance"}'
    message = b'2026-01-01T00:00:00.000ZPOST/upside/game-actions{"trigger":"getBalance"}jwt'
    expected = base64.b64encode(hmac.new(b"s", message, hashlib.sha256).digest()).decode()
    assert upside_auth.sign("s", upside_auth.prehash(credentials, body)) == expected


def test_secret_is_not_stored_in_plaintext_and_passphrase_is_hashed(engine, table):
    from sqlalchemy import text

    worker, _, _ = table
    with engine.connect() as conn:
        row = conn.execute(text("SELECT * FROM upside_api_keys")).one()
    stored = " ".join(str(v) for v in row)
    assert worker.secret not in stored
    assert worker.passphrase not in stored


def test_passphrase_hashes_verify_and_older_scrypt_hashes_still_verify():
    import base64
    import hashlib

    from app.providers.upside import keys as upside_keys

    stored = upside_keys.hash_passphrase("correct horse")
    assert stored.startswith("sha256$")
    assert upside_keys.passphrase_matches("correct horse", stored)
    assert not upside_keys.passphrase_matches("wrong horse", stored)
    salt = b"0123456789abcdef"
    legacy_digest = hashlib.scrypt(b"old phrase", salt=salt, n=2**12, r=8, p=1)
    legacy = (
        "scrypt$" + base64.b64encode(salt).decode() + "$" + base64.b64encode(legacy_digest).decode()
    )
    assert upside_keys.passphrase_matches("old phrase", legacy)
    assert not upside_keys.passphrase_matches("new phrase", legacy)
