"""Hostile bodies, validly signed, on every provider: each gets the protocol's error and
moves nothing. IGPX answers 200 ``{"error": CODE}``; Hypetech a 4xx problem document;
Upside a 4xx ``{"success": false, "error": {...}}``."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest

from tests import hypetech_helpers, igpx_helpers, upside_helpers
from tests.conftest import HYPETECH_BASE_URL
from tests.factories import PlayerFactory
from tests.hostile_helpers import books, leaks

PLAYER = "hostile-1"


@dataclass(frozen=True)
class Protocol:
    name: str
    path: str
    template: str  # a valid body with AMOUNT where the amount goes

    def headers(self, body: bytes, worker: Any, jwt: str) -> dict[str, str]:
        if self.name == "igpx":
            return {"X-Security-Hash": igpx_helpers.sign(body)}
        if self.name == "hypetech":
            return {"Hype-Hash": hypetech_helpers.sign(HYPETECH_BASE_URL + self.path, body)}
        signed = upside_helpers.headers(worker, jwt, body)
        signed.pop("Content-Type")
        return signed

    def assert_refused(self, response: Any) -> str:
        text = response.get_data(as_text=True)
        assert not leaks(text), text
        body = response.get_json(force=True, silent=True)
        assert isinstance(body, dict), text
        if self.name == "igpx":
            assert response.status_code == 200 and body["error"], text
            return str(body["error"])
        assert 400 <= response.status_code < 500, text
        if self.name == "hypetech":
            assert response.mimetype == "application/problem+json", text
            assert body["status"] == response.status_code
            return str(body["code"])
        assert body["success"] is False and body["error"]["code"], text
        return str(body["error"]["code"])


PROTOCOLS = [
    Protocol(
        "igpx",
        "/igpx/transaction",
        '{"transaction_id":"h1","action":"bet","user_id":"hostile-1","currency":"USD",'
        '"amount":AMOUNT}',
    ),
    Protocol(
        "hypetech",
        "/hypetech/register",
        '{"user_id":"hostile-1","amount":AMOUNT,"currency":"USD","provider":"hypetech",'
        '"provider_tx_id":"h1","game":"g","action":"bet","round_id":"1"}',
    ),
    Protocol(
        "upside",
        "/upside/game-actions",
        '{"trigger":"placeBet","gameType":"coin-flip","gameId":"hostile-1","betAmount":AMOUNT}',
    ),
]

TEN_THOUSAND_DIGITS = "9" * 10_000
HOSTILE_AMOUNTS = {
    "huge integer": "1" + "0" * 40,
    "huge exponent": "1e400",
    "huge negative exponent": "1e-400",
    "beyond Decimal's exponent": "1e999999999999999999",
    "10,000-digit integer": TEN_THOUSAND_DIGITS,
    "10,000-digit fraction": "0." + "0" * 9_998 + "1",
    "10,000-digit string": f'"{TEN_THOUSAND_DIGITS}"',
    "negative": "-1",
    "NaN": "NaN",
    "Infinity": "Infinity",
    "boolean": "true",
    "object": '{"value": 1}',
}


@pytest.fixture
def world(request: pytest.FixtureRequest) -> tuple[Any, str]:
    """The player; for Upside tests also a game and a key (a key costs an scrypt hash)."""
    PlayerFactory(id=PLAYER, currencies=("USD", "WIN"), balance=Decimal(100))
    protocol = getattr(request.node, "callspec", None)
    name = (
        protocol.params.get("protocol").name if protocol and "protocol" in protocol.params else ""
    )
    if name == "igpx" or (name == "hypetech" and "extra" not in request.node.name):
        return None, ""
    upside_helpers.make_game()
    return upside_helpers.make_key(), upside_helpers.token(PLAYER)


def hostile_bodies(protocol: Protocol) -> dict[str, tuple[bytes, str]]:
    valid = protocol.template.replace("AMOUNT", '"1"').encode()
    nested = b'{"a":' + b"[" * 30_000 + b"]" * 30_000 + b"}"
    duplicate = protocol.template.replace("AMOUNT", '"1","amount":"1","betAmount":"1"')
    bodies = {
        "oversized body": (b'{"pad":"' + b"x" * 70_000 + b'"}', "application/json"),
        "deeply nested JSON": (nested, "application/json"),
        "duplicate JSON keys": (duplicate.encode(), "application/json"),
        "non-UTF-8 bytes": (valid.replace(b"hostile-1", b"\xff\xfe\xfd"), "application/json"),
        "text/plain": (valid, "text/plain"),
        "form": (b"user_id=hostile-1&amount=1", "application/x-www-form-urlencoded"),
        "no content type": (valid, ""),
        "not JSON": (b"{'amount': 1}", "application/json"),
        "empty body": (b"", "application/json"),
        "JSON array": (b"[" + valid + b"]", "application/json"),
        "lone surrogate": (valid.replace(b"hostile-1", b"\\ud800"), "application/json"),
        "NUL in id": (valid.replace(b"hostile-1", b"\\u0000"), "application/json"),
    }
    for name, amount in HOSTILE_AMOUNTS.items():
        text = protocol.template.replace("AMOUNT", amount)
        bodies[f"amount: {name}"] = (text.encode(), "application/json")
    return bodies


CASES = [
    (protocol, name)
    for protocol in PROTOCOLS
    for name in hostile_bodies(protocol)
    if not (protocol.name == "upside" and name == "amount: huge negative exponent")
]


@pytest.mark.parametrize(("protocol", "case"), CASES, ids=[f"{p.name}-{name}" for p, name in CASES])
def test_hostile_body_gets_the_protocols_error_and_moves_nothing(client, world, protocol, case):
    body, content_type = hostile_bodies(protocol)[case]
    before = books()
    headers = protocol.headers(body, *world)
    if content_type:
        headers["Content-Type"] = content_type
    response = client.post(protocol.path, data=body, headers=headers)
    protocol.assert_refused(response)
    assert books() == before


@pytest.mark.parametrize("protocol", PROTOCOLS, ids=lambda p: p.name)
def test_a_valid_signed_body_is_accepted_so_the_refusals_above_mean_something(
    client, world, protocol
):
    body = protocol.template.replace("AMOUNT", '"1"').encode()
    if protocol.name == "upside":
        body = body.replace(b'"1"', str(upside_helpers.WIN).encode())
    headers = {**protocol.headers(body, *world), "Content-Type": "application/json"}
    response = client.post(protocol.path, data=body, headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json().get("error") is None or protocol.name == "upside"


@pytest.mark.parametrize(
    "extra", ['{"mode": 1e400}', '{"mode": 1e999999}', f'{{"mode": {TEN_THOUSAND_DIGITS}}}']
)
def test_hypetech_huge_numbers_in_extra_fields_are_refused_or_stored_exactly(client, world, extra):
    """Extra fields are stored with the transaction: a huge number must not become a 500."""
    body = hypetech_helpers.PATHS and (
        PROTOCOLS[1].template.replace("AMOUNT", '"1"')[:-1] + "," + extra[1:]
    )
    data = body.encode()
    headers = {**PROTOCOLS[1].headers(data, *world), "Content-Type": "application/json"}
    response = client.post("/hypetech/register", data=data, headers=headers)
    assert response.status_code < 500, response.get_data(as_text=True)


@pytest.mark.parametrize("game_data", ["1e400", "1e999999", "-1e-999999", TEN_THOUSAND_DIGITS])
def test_upside_huge_numbers_in_game_data_are_refused_not_a_500(client, world, game_data):
    before = books()
    body = (
        '{"trigger":"placeBet","gameType":"coin-flip","betAmount":"1000000000000000000",'
        f'"gameData":{{"x":{game_data}}}}}'
    ).encode()
    headers = {**PROTOCOLS[2].headers(body, *world), "Content-Type": "application/json"}
    response = client.post("/upside/game-actions", data=body, headers=headers)
    assert response.status_code < 500, response.get_data(as_text=True)
    if response.status_code != 200:
        assert books() == before
