"""Hype-Hash by re-serialization covers only bodies whose numbers survive JavaScript.

Node reads every JSON number as the nearest double, so ``9007199254740993`` and
``9007199254740992`` have one ``JSON.stringify`` text and so one signature. When the raw
body does not carry the signature, the wallet verifies it over JavaScript's text of the
parsed body, and acts on the exact numbers sent: that is safe only if each number
reads back from that text as the same decimal. Otherwise the answer is 401, whatever
the field (ids, player ids, amounts, unknown nested fields), and nothing moves.

Every hostile body below carries a signature the provider's own signing function
(run in Node) makes for it, equal to the one it makes for the honest body.
"""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from app.core.models import provider_transactions
from app.providers.hypetech import jsjson
from tests.conftest import HYPETECH_SECRET
from tests.factories import PlayerFactory, balance, run_committed
from tests.hostile_helpers import books
from tests.hypetech_helpers import PATHS, send, url_of
from tests.node_js import node_sign, requires_node

PAST_2_53 = "1152921504606847000"  # 2**60 as JavaScript writes it


def body(**tokens: str) -> bytes:
    """A Hypetech bet or win as Node writes it; each field's JSON token given as text."""
    fields = {
        "user_id": '"rt-player"',
        "amount": '"1.00"',
        "currency": '"BRL"',
        "provider": '"hypetech"',
        "provider_tx_id": '"rt-1"',
        "game": '"motograu"',
        "action": '"bet"',
        "round_id": '"255"',
        **tokens,
    }
    return ("{" + ",".join(f'"{key}":{token}' for key, token in fields.items()) + "}").encode()


def hype_hash(route: str, body: bytes) -> str:
    """What the provider's ``createHmacSha256`` (run in Node) sends with ``body``."""
    return node_sign(HYPETECH_SECRET, url_of(route), body)


def post(client, route: str, sent: bytes, signature: str | None = None):
    headers = {"Content-Type": "application/json", "Hype-Hash": signature or hype_hash(route, sent)}
    return client.post(PATHS[route], data=sent, headers=headers)


def assert_forged_body_refused(client, route: str, signed: bytes, hostile: bytes) -> None:
    signature = hype_hash(route, signed)
    assert hype_hash(route, hostile) == signature, "the premise: Node signs both bodies alike"
    before = books()
    response = post(client, route, hostile, signature)
    assert response.status_code == 401, response.data
    assert response.get_json()["code"] == "INVALID_SIGNATURE"
    assert books() == before


def stored_ids() -> list[str]:
    query = select(provider_transactions.c.external_id).where(
        provider_transactions.c.provider == "hypetech"
    )
    return list(run_committed(lambda conn: conn.execute(query).scalars().all()))


# --- the findings ---------------------------------------------------------------------


@requires_node
def test_captured_bet_resent_with_neighbouring_ids_past_2_53_is_refused(client):
    player = PlayerFactory(id="rt-player", currencies=("BRL",), balance="10.00")
    captured = body(provider_tx_id=PAST_2_53)
    assert post(client, "register", captured).status_code == 200
    for last in "12345":
        altered = body(provider_tx_id=PAST_2_53[:-1] + last)
        assert_forged_body_refused(client, "register", captured, altered)
    assert balance(player, "BRL") == Decimal("9.00")
    assert stored_ids() == [PAST_2_53]


@requires_node
def test_win_resent_for_another_numeric_player_id_is_refused(client):
    for player in ("9007199254740992", "9007199254740993"):
        PlayerFactory(id=player, currencies=("BRL",), balance="10.00")
    signed = body(user_id="9007199254740992", amount='"5.00"', action='"win"')
    hostile = body(user_id="9007199254740993", amount='"5.00"', action='"win"')
    assert_forged_body_refused(client, "rewards", signed, hostile)
    assert post(client, "rewards", signed).status_code == 200
    assert balance("9007199254740992", "BRL") == Decimal("15.00")
    assert balance("9007199254740993", "BRL") == Decimal("10.00")


HOSTILE = {
    "JPY amount past 2^53": (
        {"currency": '"JPY"', "amount": "9007199254740992"},
        {"currency": '"JPY"', "amount": "9007199254740993"},
    ),
    "WIN amount, 19 significant digits": (
        {"currency": '"WIN"', "amount": "1.5"},
        {"currency": '"WIN"', "amount": "1.500000000000000099"},
    ),
    "WIN amount, 17 significant digits": (
        {"currency": '"WIN"', "amount": "1"},
        {"currency": '"WIN"', "amount": "1.0000000000000001"},
    ),
    "linked_tx_id past 2^53": (
        {"linked_tx_id": PAST_2_53},
        {"linked_tx_id": PAST_2_53[:-1] + "1"},
    ),
    "unknown nested field": (
        {"extra_data": '{"seq":[1,{"n":12345678901234567000}]}'},
        {"extra_data": '{"seq":[1,{"n":12345678901234567890}]}'},
    ),
    "number beyond the double range": ({"mode": "null"}, {"mode": "1e400"}),
    "number below the double range": ({"mode": "0"}, {"mode": "1e-400"}),
}


@requires_node
@pytest.mark.parametrize(("signed", "hostile"), HOSTILE.values(), ids=HOSTILE.keys())
def test_win_with_a_number_javascript_rounds_is_refused(client, signed, hostile):
    PlayerFactory(id="rt-player", currencies=("JPY", "WIN", "BRL"), balance="10")
    win = {"action": '"win"', "provider_tx_id": '"rt-win"'}
    assert_forged_body_refused(client, "rewards", body(**win, **signed), body(**win, **hostile))


# --- honest bodies that only re-serialization verifies ------------------------------


HONEST = {
    "amount 10.50 (Node writes 10.5)": ({"amount": "10.50"}, "10.50"),
    "whole amount 10.0 and id 2^53 - 1": (
        {"amount": "10.0", "provider_tx_id": "9007199254740991"},
        "10.00",
    ),
    "id 2^53 with spaces": ({"amount": '"2.50"', "provider_tx_id": " 9007199254740992 "}, "2.50"),
    "1e21 and 200.0 in extra fields": (
        {"amount": "1.25", "extra_data": '{"big":1e21,"round":200.0,"small":1E-7}'},
        "1.25",
    ),
}


@requires_node
@pytest.mark.parametrize(("tokens", "credited"), HONEST.values(), ids=HONEST.keys())
def test_honest_numeric_bodies_still_verify_by_re_serialization(client, tokens, credited):
    player = PlayerFactory(id="rt-player", currencies=("BRL",), balance="100.00")
    sent = body(action='"win"', **tokens)
    node_text = jsjson.stringify(json.loads(sent, parse_float=Decimal)).encode()
    assert sent != node_text, "the raw body must not carry the signature"
    response = post(client, "rewards", sent)
    assert response.status_code == 200, response.data
    assert balance(player, "BRL") == Decimal("100.00") + Decimal(credited)


@requires_node
def test_numeric_ids_are_kept_as_the_digits_sent(client):
    PlayerFactory(id="12345678901234567890123", currencies=("BRL",), balance="10.00")
    sent = body(user_id="12345678901234567890123", provider_tx_id="98765432109876543210")
    assert send(client, "register", sent).status_code == 200  # signed over these very bytes
    assert stored_ids() == ["98765432109876543210"]
    assert balance("12345678901234567890123", "BRL") == Decimal("9.00")


# --- the rule itself ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "survives"),
    [
        (Decimal("200.0"), True),
        (Decimal("10.50"), True),
        (Decimal("1e21"), True),
        (Decimal("-0"), True),
        (Decimal("0.1"), True),
        (9007199254740992, True),
        (9007199254740994, True),
        (10**300, True),
        (9007199254740993, False),
        (12345678901234567890, False),
        (Decimal("1.500000000000000099"), False),
        (Decimal("1.0000000000000001"), False),
        (Decimal("1e400"), False),
        (Decimal("1e-400"), False),
        (10**400, False),
        ({"a": [1, {"b": [2, Decimal("0.5")]}], "c": "9007199254740993"}, True),
        ({"a": [1, {"b": [2, 9007199254740993]}]}, False),
        ([True, None, "x"], True),
    ],
)
def test_survives_compares_javascripts_text_with_the_number_as_decimals(value, survives):
    assert jsjson.survives(value) is survives


NUMBER_TOKENS = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.from_regex(r"-?(0|[1-9][0-9]{0,22})(\.[0-9]{1,22})?([eE][+-]?[0-9]{1,3})?", fullmatch=True),
)


@requires_node
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(token=NUMBER_TOKENS)
def test_survives_agrees_with_node_on_generated_numbers(node_stringify, token):
    node_text = node_stringify(token)
    same_in_node = node_text != "null" and Decimal(node_text) == Decimal(token)
    assert jsjson.survives(json.loads(token, parse_float=Decimal)) is same_in_node
