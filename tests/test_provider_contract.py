"""What every provider adapter promises, whatever its protocol (docs/architecture.md).

Every provider of the registry with a contract driver (``Provider.contract``, see
:mod:`app.providers.contract`) runs each test here: the driver knows how its provider
sends a bet and a rollback, and how its protocol spells success, a refused signature,
insufficient funds and a conflict. Upside has none: its protocol has no rollback, and
a repeated request is refused as a replay rather than answered again
(tests/test_upside_actions.py pins those). ``tests/test_fourth_provider.py`` runs these
same tests against a provider defined in the test suite.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest

from app.providers import PROVIDERS
from app.providers.contract import Contract, Reply
from tests.factories import PlayerFactory, balance


@dataclass(frozen=True)
class Wire:
    """A provider's contract driver, sending through a Flask test client."""

    contract: Contract
    client: Any

    def send(self, path: str, body: bytes, headers: Mapping[str, str]) -> Reply:
        response = self.client.post(path, data=body, headers=dict(headers))
        return Reply(response.status_code, response.mimetype, response.get_json(silent=True))

    def bet(self, tx: str, player: str, amount: str, signed: bool = True) -> Reply:
        return self.contract.bet(self.send, tx, player, amount, signed)

    def rollback(self, tx: str, original: str, player: str, amount: str) -> Reply:
        return self.contract.rollback(self.send, tx, original, player, amount)

    def player(self, amount: str = "100.00") -> str:
        return PlayerFactory(currencies=(self.contract.currency,), balance=amount)

    def balance(self, player: str) -> Decimal:
        return balance(player, self.contract.currency)


CONTRACTED = [provider for provider in PROVIDERS if provider.contract is not None]


@pytest.fixture(params=CONTRACTED, ids=lambda provider: provider.name)
def wire(request, app, client) -> Wire:
    provider = request.param
    return Wire(provider.contract(app.config), client)


def test_bad_signature_is_refused_and_moves_nothing(wire):
    player = wire.player()
    assert wire.contract.refused_signature(wire.bet("t1", player, "10", signed=False))
    assert wire.balance(player) == Decimal("100.00")


def test_duplicate_replays_the_first_answer_and_moves_money_once(wire):
    player = wire.player()
    first = wire.bet("t1", player, "10")
    second = wire.bet("t1", player, "10.00")
    assert wire.contract.succeeded(first)
    assert (second.status, second.body) == (first.status, first.body)
    assert wire.balance(player) == Decimal("90.00")


def test_conflicting_replay_is_refused_and_moves_nothing(wire):
    player = wire.player()
    assert wire.contract.succeeded(wire.bet("t1", player, "10"))
    assert wire.contract.conflict(wire.bet("t1", player, "11"))
    assert wire.balance(player) == Decimal("90.00")


def test_insufficient_funds_maps_to_the_providers_shape(wire):
    player = wire.player("5.00")
    assert wire.contract.insufficient_funds(wire.bet("t1", player, "10"), "5.00")
    assert wire.contract.insufficient_funds(wire.bet("t1", player, "10"), "5.00")
    assert wire.balance(player) == Decimal("5.00")


def test_unknown_rollback_is_a_tombstone_and_the_late_bet_moves_nothing(wire):
    player = wire.player()
    assert wire.contract.succeeded(wire.rollback("rb1", "t-late", player, "10"))
    late = wire.bet("t-late", player, "10")
    assert not wire.contract.succeeded(late)
    assert wire.balance(player) == Decimal("100.00")


def test_rollback_twice_refunds_once(wire):
    player = wire.player()
    assert wire.contract.succeeded(wire.bet("t1", player, "10"))
    assert wire.contract.succeeded(wire.rollback("rb1", "t1", player, "10"))
    assert wire.contract.succeeded(wire.rollback("rb2", "t1", player, "10"))
    assert wire.balance(player) == Decimal("100.00")
