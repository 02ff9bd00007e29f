"""Hype-Hash: the document's samples signed by the document's own function, run in Node."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from tests.factories import PlayerFactory, balance
from tests.hypetech_helpers import PATHS, bet, send, sign, stringify, url_of
from tests.node_js import node_sign, requires_node

PLAYER = "99e27bf0-35da-46e2-a82d-07c492d1ed25"
SECRET = "hypetech-test-key"

SAMPLES = {
    "getBalance": {"player_id": PLAYER, "currency": "BRL"},
    "register": {
        "user_id": PLAYER,
        "amount": "200.00",
        "provider": "hypetech",
        "provider_tx_id": "559",
        "game": "motograu",
        "action": "bet",
        "round_id": "255",
        "session_token": "b72afc9470d1899d9a993d378733cfea",
    },
    "rewards": {
        "user_id": PLAYER,
        "amount": "200.00",
        "provider": "hypetech",
        "provider_tx_id": "600",
        "game": "motograu",
        "action": "bet",
        "round_id": "177",
        "session_token": "b72afc9470d1899idea993d378733cfa",
    },
    "rollback": {"user_id": PLAYER, "provider_tx_id": "559"},
}


def post_node_signed(client, route: str, body: bytes, url: str | None = None):
    signature = node_sign(SECRET, url or url_of(route), body)
    return client.post(
        PATHS[route],
        data=body,
        headers={"Content-Type": "application/json", "Hype-Hash": signature},
    )


@requires_node
def test_node_signature_matches_ours_for_the_document_samples():
    for route, sample in SAMPLES.items():
        body = stringify(sample)
        assert node_sign(SECRET, url_of(route), body) == sign(url_of(route), body)


@requires_node
def test_document_samples_signed_in_node_are_accepted_in_order(client):
    PlayerFactory(id=PLAYER, currencies=("BRL",), balance="2300.00")
    answers = {
        route: post_node_signed(client, route, stringify(sample))
        for route, sample in SAMPLES.items()
    }
    assert {route: r.status_code for route, r in answers.items()} == dict.fromkeys(SAMPLES, 200)
    assert answers["getBalance"].get_json()["balance"] == "2300.00"
    registered = answers["register"].get_json()
    assert (registered["old_balance"], registered["new_balance"]) == ("2300.00", "2100.00")
    assert answers["rewards"].get_json()["new_balance"] == "2300.00"
    assert answers["rollback"].get_json() == {"old_balance": "2300.00", "new_balance": "2500.00"}
    assert balance(PLAYER, "BRL") == Decimal("2500.00")


@requires_node
@pytest.mark.parametrize(
    "body",
    [
        # Python's default separators and escaped non-ASCII, where Node writes ã and é raw
        json.dumps({**SAMPLES["register"], "game": "Aviãozinho é 🚀"}).encode(),
        # a whole-number float: Node signs 200, not 200.0
        stringify({**SAMPLES["register"], "amount": 200.0}),
        b'{"user_id": "%s", "amount": 2e2, "provider_tx_id": "559"}' % PLAYER.encode(),
        # an escaped slash, which JSON.stringify never writes
        (
            b'{"user_id":"%s","amount":"200.00","provider_tx_id":"559",'
            b'"extra_data":{"url":"https:\\/\\/hypetech.games\\/x"}}' % PLAYER.encode()
        ),
        # integer-like keys, which JavaScript moves to the front
        stringify({**SAMPLES["register"], "extra_data": {"b": 1, "10": 2, "2": 3}}),
        # pretty-printed, with line and paragraph separators in a string
        json.dumps(
            {**SAMPLES["register"], "mode": "real\u2028x\u2029/"}, indent=4, ensure_ascii=False
        ).encode(),
    ],
    ids=["escaped-non-ascii", "float-200.0", "exponent", "escaped-slash", "int-keys", "pretty"],
)
def test_bodies_serialized_otherwise_than_node_are_accepted(client, body):
    PlayerFactory(id=PLAYER, currencies=("BRL",), balance="2300.00")
    response = post_node_signed(client, "register", body)
    assert response.status_code == 200, response.data
    assert balance(PLAYER, "BRL") == Decimal("2100.00")


@requires_node
def test_signature_made_for_another_url_is_refused(client):
    PlayerFactory(id=PLAYER, currencies=("BRL",), balance="2300.00")
    body = stringify(SAMPLES["register"])
    for other in ("http://localhost/hypetech/register", url_of("rewards")):
        response = post_node_signed(client, "register", body, url=other)
        assert response.status_code == 401
        assert response.get_json()["code"] == "INVALID_SIGNATURE"
    assert balance(PLAYER, "BRL") == Decimal("2300.00")


def test_signature_with_upper_case_hex_is_accepted(client):
    player = PlayerFactory(currencies=("BRL",))
    body = stringify(bet("1", player, "1.00"))
    signature = sign(url_of("register"), body).upper()
    response = send(client, "register", body, **{"Hype-Hash": signature})
    assert response.status_code == 200


@pytest.mark.parametrize(
    "signature",
    ["", "deadbeef", "0" * 64, "não é hex", sign(url_of("register"), b"{}"), sign("", b"{}")],
)
def test_bad_signatures_get_401_and_move_nothing(client, signature):
    player = PlayerFactory(currencies=("BRL",), balance="10.00")
    response = send(client, "register", bet("1", player, "1.00"), **{"Hype-Hash": signature})
    assert response.status_code == 401
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["code"] == "INVALID_SIGNATURE"
    assert balance(player, "BRL") == Decimal("10.00")


def test_tampered_body_is_refused(client):
    player = PlayerFactory(currencies=("BRL",), balance="10.00")
    signed = stringify(bet("1", player, "1.00"))
    tampered = stringify(bet("1", player, "9.00"))
    response = send(client, "register", tampered, **{"Hype-Hash": sign(url_of("register"), signed)})
    assert response.status_code == 401


def test_key_from_another_operator_is_refused(client):
    player = PlayerFactory(currencies=("BRL",))
    body = stringify(bet("1", player, "1.00"))
    signature = sign(url_of("register"), body, secret="someone-else")
    assert send(client, "register", body, **{"Hype-Hash": signature}).status_code == 401


def test_missing_signature_header_is_refused(client):
    player = PlayerFactory(currencies=("BRL",))
    response = client.post("/hypetech/register", json=bet("1", player, "1.00"))
    assert response.status_code == 401


def test_unset_api_key_refuses_every_webhook(app, client):
    player = PlayerFactory(currencies=("BRL",), balance="10.00")
    app.config["HYPETECH_API_KEY"] = None
    try:
        responses = [
            send(client, "getBalance", {"user_id": player}),
            send(client, "register", bet("1", player, "1.00")),
        ]
    finally:
        app.config["HYPETECH_API_KEY"] = SECRET
    assert [r.status_code for r in responses] == [401, 401]
    assert balance(player, "BRL") == Decimal("10.00")


def test_non_json_body_with_a_wrong_signature_is_a_signature_error(client):
    response = send(client, "register", b"not json", **{"Hype-Hash": "0" * 64})
    assert response.status_code == 401
