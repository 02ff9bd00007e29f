"""Rotating each provider secret without downtime: old and new are both accepted for an
overlap (while ``…_PREVIOUS`` is set, and until ``…_PREVIOUS_UNTIL`` when that is set)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from app import rotation
from app.config import ConfigError, load_config
from app.providers.upside import auth as upside_auth
from app.providers.upside import keys as upside_keys
from tests import hypetech_helpers, igpx_helpers
from tests.conftest import HYPETECH_SECRET, IGPX_SECRET, UPSIDE_JWT_SECRET
from tests.factories import PlayerFactory, balance
from tests.upside_helpers import act, make_game, make_key, make_player, send

PAST = datetime.now(UTC) - timedelta(minutes=1)
FUTURE = datetime.now(UTC) + timedelta(hours=1)


@contextmanager
def configured(app: Any, **values: Any) -> Iterator[None]:
    saved = {name: app.config.get(name) for name in values}
    app.config.update(values)
    try:
        yield
    finally:
        app.config.update(saved)


def igpx_bet(client: Any, tx: str, player: str, secret: str) -> dict[str, Any]:
    body = igpx_helpers.body_of(igpx_helpers.bet(tx, player, "1"))
    headers = {
        "Content-Type": "application/json",
        "X-Security-Hash": igpx_helpers.sign(body, secret),
    }
    answer: dict[str, Any] = client.post("/igpx/transaction", data=body, headers=headers).get_json()
    return answer


def test_previous_secret_is_accepted_while_set_and_until_its_deadline():
    config = {"S": "new", "S_PREVIOUS": "old", "S_PREVIOUS_UNTIL": None}
    assert rotation.accepted(config, "S") == ["new", "old"]
    assert rotation.accepted({**config, "S_PREVIOUS_UNTIL": FUTURE}, "S") == ["new", "old"]
    assert rotation.accepted({**config, "S_PREVIOUS_UNTIL": PAST}, "S") == ["new"]
    assert rotation.accepted({"S": "new"}, "S") == ["new"]
    assert rotation.accepted({"S": None, "S_PREVIOUS": "old"}, "S") == []


def test_rotation_settings_are_validated_one_line_each():
    with pytest.raises(ConfigError) as raised:
        load_config(
            {
                "IGPX_SECURITY_HASH_PREVIOUS": "old",
                "HYPETECH_API_KEY": "k",
                "HYPETECH_API_KEY_PREVIOUS_UNTIL": "tomorrow",
                "UPSIDE_JWT_SECRET": "s",
                "UPSIDE_JWT_SECRET_PREVIOUS_UNTIL": "2030-01-01T00:00:00Z",
            }
        )
    lines = str(raised.value).splitlines()
    assert len(lines) == 3, lines
    assert any(line.startswith("IGPX_SECURITY_HASH_PREVIOUS is set") for line in lines)
    assert any("HYPETECH_API_KEY_PREVIOUS_UNTIL must be an ISO 8601" in line for line in lines)
    assert any(line.startswith("UPSIDE_JWT_SECRET_PREVIOUS_UNTIL is set") for line in lines)
    until = load_config(
        {
            "IGPX_SECURITY_HASH": "n",
            "IGPX_SECURITY_HASH_PREVIOUS": "o",
            "IGPX_SECURITY_HASH_PREVIOUS_UNTIL": "2030-01-01T00:00:00Z",
        }
    )["IGPX_SECURITY_HASH_PREVIOUS_UNTIL"]
    assert until == datetime(2030, 1, 1, tzinfo=UTC)


def test_igpx_accepts_old_and_new_hash_during_the_overlap_only(app, client):
    player = PlayerFactory(balance="10.00")
    with configured(app, IGPX_SECURITY_HASH="new-hash", IGPX_SECURITY_HASH_PREVIOUS=IGPX_SECRET):
        assert igpx_bet(client, "r1", player, "new-hash")["error"] is None
        assert igpx_bet(client, "r2", player, IGPX_SECRET)["error"] is None
        assert igpx_bet(client, "r3", player, "other")["error"] == "INVALID_SIGNATURE"
        with configured(app, IGPX_SECURITY_HASH_PREVIOUS_UNTIL=PAST):
            assert igpx_bet(client, "r4", player, IGPX_SECRET)["error"] == "INVALID_SIGNATURE"
    assert balance(player) == 8


def test_hypetech_accepts_old_and_new_key_during_the_overlap(app, client):
    player = PlayerFactory(balance="10.00")
    body = hypetech_helpers.stringify(hypetech_helpers.bet("h1", player, "1"))
    url = hypetech_helpers.url_of("register")

    def register(secret: str) -> int:
        headers = {
            "Content-Type": "application/json",
            "Hype-Hash": hypetech_helpers.sign(url, body, secret),
        }
        return int(client.post("/hypetech/register", data=body, headers=headers).status_code)

    with configured(app, HYPETECH_API_KEY="new-key", HYPETECH_API_KEY_PREVIOUS=HYPETECH_SECRET):
        assert register(HYPETECH_SECRET) == 200
        assert register("new-key") == 200  # the same bet again: a replay
        with configured(app, HYPETECH_API_KEY_PREVIOUS=None):
            assert register(HYPETECH_SECRET) == 401
    assert balance(player) == 9


def test_upside_accepts_tokens_of_the_old_jwt_secret_and_keys_encrypted_with_it(app, client):
    make_game()
    player = make_player(win=5)
    worker = make_key()  # its secret is encrypted under material derived from the old secret
    old_token = upside_auth.mint_token(UPSIDE_JWT_SECRET, player, 300)
    new_secret = "rotated-upside-jwt-secret-long-enough-for-hs256"
    new_token = upside_auth.mint_token(new_secret, player, 300)
    rotated = {"UPSIDE_JWT_SECRET": new_secret, "UPSIDE_JWT_SECRET_PREVIOUS": UPSIDE_JWT_SECRET}
    with configured(app, **rotated):
        assert act(client, worker, old_token, {"trigger": "checkAuth"})["authenticated"]
        assert act(client, worker, new_token, {"trigger": "checkAuth"})["authenticated"]
        with configured(app, UPSIDE_JWT_SECRET_PREVIOUS_UNTIL=PAST):
            assert send(client, worker, old_token, {"trigger": "checkAuth"}).status_code == 401
            assert act(client, worker, new_token, {"trigger": "checkAuth"})["authenticated"]


def test_keys_reencrypt_moves_key_secrets_to_the_new_encryption_key(app, client, runner):
    make_game()
    player = make_player(win=5)
    worker = make_key()  # encrypted under the JWT secret (no UPSIDE_KEY_ENCRYPTION_KEY yet)
    jwt = upside_auth.mint_token(UPSIDE_JWT_SECRET, player, 300)
    kek = {
        "UPSIDE_KEY_ENCRYPTION_KEY": "a-dedicated-key-encryption-key",
        "UPSIDE_KEY_ENCRYPTION_KEY_PREVIOUS": UPSIDE_JWT_SECRET,
    }
    with configured(app, **kek):
        assert act(client, worker, jwt, {"trigger": "checkAuth"})["authenticated"]
        result = runner(["upside", "keys", "reencrypt", "--json"])
        assert result.exit_code == 0, result.output
        assert '"reencrypted": 1' in result.stdout
    new_only = {**kek, "UPSIDE_KEY_ENCRYPTION_KEY_PREVIOUS": None}
    with configured(app, **new_only):
        assert act(client, worker, jwt, {"trigger": "checkAuth"})["authenticated"]
    assert send(client, worker, jwt, {"trigger": "checkAuth"}).status_code == 401


def test_secret_box_decrypts_with_the_previous_material_only_while_it_is_set():
    old = upside_keys.SecretBox("old-material")
    ciphertext = old.encrypt("s3cret")
    assert upside_keys.SecretBox("new-material", "old-material").decrypt(ciphertext) == "s3cret"
    with pytest.raises(upside_keys.AuthenticationFailed):
        upside_keys.SecretBox("new-material").decrypt(ciphertext)
    rotated = upside_keys.SecretBox("new-material", "old-material").rotate(ciphertext)
    assert upside_keys.SecretBox("new-material").decrypt(rotated) == "s3cret"
