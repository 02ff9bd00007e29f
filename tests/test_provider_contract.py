"""What every provider adapter promises, whatever its protocol (SPEC §1).

Each provider is described by one ``Provider`` object: how to send a bet and a
rollback, and how its protocol spells success, a refused signature, insufficient
funds and a conflict. Adding a provider (Upside next) is one more object in
``PROVIDERS``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest

from tests import hypetech_helpers as hypetech
from tests import igpx_helpers as igpx
from tests.factories import PlayerFactory, balance

Send = Callable[..., Any]


@dataclass(frozen=True)
class Provider:
    name: str
    currency: str
    bet: Send  # (client, tx, player, amount, signed=True) -> response
    rollback: Send  # (client, tx, original_tx, player, amount) -> response
    succeeded: Callable[[Any], bool]
    refused_signature: Callable[[Any], bool]
    insufficient_funds: Callable[[Any], bool]
    conflict: Callable[[Any], bool]

    def __str__(self) -> str:
        return self.name


# --- IGPX: HTTP 200 always, {"error": CODE} ------------------------------------------


def _igpx_send(client: Any, path: str, payload: dict, signed: bool = True) -> Any:
    body = igpx.body_of(payload)
    signature = igpx.sign(body) if signed else igpx.sign(body, "not-the-secret")
    headers = {"Content-Type": "application/json", "X-Security-Hash": signature}
    return client.post(f"/igpx/{path}", data=body, headers=headers)


def _igpx_error(code: str | None) -> Callable[[Any], bool]:
    return lambda r: r.status_code == 200 and r.get_json().get("error") == code


IGPX = Provider(
    name="igpx",
    currency="USD",
    bet=lambda client, tx, player, amount, signed=True: _igpx_send(
        client, "transaction", igpx.bet(tx, player, amount), signed
    ),
    rollback=lambda client, tx, original, player, amount: _igpx_send(
        client, "transaction-rollback", igpx.rollback(tx, original, player, amount)
    ),
    succeeded=_igpx_error(None),
    refused_signature=_igpx_error("INVALID_SIGNATURE"),
    insufficient_funds=_igpx_error("INSUFFICIENT_FUNDS"),
    conflict=_igpx_error("TRANSACTION_CONFLICT"),
)


# --- Hypetech: HTTP status + RFC 7807 problems --------------------------------------------


def _hypetech_bet(client: Any, tx: str, player: str, amount: str, signed: bool = True) -> Any:
    body = hypetech.stringify(hypetech.bet(tx, player, amount))
    headers = {} if signed else {"Hype-Hash": hypetech.sign("https://elsewhere", body)}
    return hypetech.send(client, "register", body, **headers)


def _problem(status: int, code: str) -> Callable[[Any], bool]:
    return lambda r: (
        r.status_code == status
        and r.mimetype == "application/problem+json"
        and r.get_json()["code"] == code
    )


HYPETECH = Provider(
    name="hypetech",
    currency="BRL",
    bet=_hypetech_bet,
    rollback=lambda client, tx, original, player, amount: hypetech.send(
        client, "rollback", hypetech.new_rollback(tx, original, player, amount)
    ),
    succeeded=lambda r: r.status_code == 200,
    refused_signature=_problem(401, "INVALID_SIGNATURE"),
    insufficient_funds=lambda r: (
        _problem(402, "INSUFFICIENT_FUNDS")(r) and r.get_json()["balance"] == "5.00"
    ),
    conflict=_problem(409, "TRANSACTION_CONFLICT"),
)

PROVIDERS = [IGPX, HYPETECH]
each_provider = pytest.mark.parametrize("provider", PROVIDERS, ids=str)


def _player(provider: Provider, amount: str = "100.00") -> str:
    return PlayerFactory(currencies=(provider.currency,), balance=amount)


@each_provider
def test_bad_signature_is_refused_and_moves_nothing(client, provider):
    player = _player(provider)
    assert provider.refused_signature(provider.bet(client, "t1", player, "10", signed=False))
    assert balance(player, provider.currency) == Decimal("100.00")


@each_provider
def test_duplicate_replays_the_first_answer_and_moves_money_once(client, provider):
    player = _player(provider)
    first = provider.bet(client, "t1", player, "10")
    second = provider.bet(client, "t1", player, "10.00")
    assert provider.succeeded(first)
    assert (second.status_code, second.get_json()) == (first.status_code, first.get_json())
    assert balance(player, provider.currency) == Decimal("90.00")


@each_provider
def test_conflicting_replay_is_refused_and_moves_nothing(client, provider):
    player = _player(provider)
    assert provider.succeeded(provider.bet(client, "t1", player, "10"))
    assert provider.conflict(provider.bet(client, "t1", player, "11"))
    assert balance(player, provider.currency) == Decimal("90.00")


@each_provider
def test_insufficient_funds_maps_to_the_providers_shape(client, provider):
    player = _player(provider, "5.00")
    assert provider.insufficient_funds(provider.bet(client, "t1", player, "10"))
    assert provider.insufficient_funds(provider.bet(client, "t1", player, "10"))
    assert balance(player, provider.currency) == Decimal("5.00")


@each_provider
def test_unknown_rollback_is_a_tombstone_and_the_late_bet_moves_nothing(client, provider):
    player = _player(provider)
    assert provider.succeeded(provider.rollback(client, "rb1", "t-late", player, "10"))
    late = provider.bet(client, "t-late", player, "10")
    assert not provider.succeeded(late)
    assert balance(player, provider.currency) == Decimal("100.00")


@each_provider
def test_rollback_twice_refunds_once(client, provider):
    player = _player(provider)
    assert provider.succeeded(provider.bet(client, "t1", player, "10"))
    assert provider.succeeded(provider.rollback(client, "rb1", "t1", player, "10"))
    assert provider.succeeded(provider.rollback(client, "rb2", "t1", player, "10"))
    assert balance(player, provider.currency) == Decimal("100.00")
