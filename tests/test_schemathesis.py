"""schemathesis over every route of ``/openapi.json``, against the product under gunicorn.

Positive and negative cases for each operation: unsigned, then signed as each provider
signs (so generated bodies reach the parsers and the wallet). No 5xx, no Python
internals in any body; unsigned requests move nothing in the books. ``HOSTILE_EXAMPLES``
sets the examples per operation and mode (default 10; e.g. 500 for a long run).
"""

from __future__ import annotations

import os
from collections import Counter
from decimal import Decimal

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode

from tests import hypetech_helpers, igpx_helpers, upside_helpers
from tests.conftest import HYPETECH_BASE_URL
from tests.factories import PlayerFactory
from tests.hostile_helpers import books, leaks

EXAMPLES = int(os.environ.get("HOSTILE_EXAMPLES", "10"))
pytestmark = pytest.mark.slow


def test_openapi_documents_every_route(app):
    document = app.test_client().get("/openapi.json").get_json()
    served = {rule.rule for rule in app.url_map.iter_rules() if rule.endpoint != "static"}
    assert set(document["paths"]) == served
    action = document["components"]["schemas"]["UpsideAction"]
    assert "placeBet" in action["properties"]["trigger"]["enum"]
    transaction = document["paths"]["/igpx/transaction"]["post"]
    assert transaction["requestBody"]["content"]["application/json"]["schema"]
    assert transaction["responses"]["200"]["content"]["application/json"]["schema"]


class SigningSession(requests.Session):
    """Signs every request as its provider would, so generated bodies reach the parsers."""

    def __init__(self, worker: upside_helpers.Worker, jwt: str) -> None:
        super().__init__()
        self.worker, self.jwt = worker, jwt

    def send(self, request: requests.PreparedRequest, **kwargs):  # type: ignore[no-untyped-def]
        body = request.body or b""
        body = body.encode() if isinstance(body, str) else body
        path = request.path_url
        if path.startswith("/igpx/"):
            request.headers["X-Security-Hash"] = igpx_helpers.sign(body)
        elif path.startswith("/hypetech/"):
            request.headers["Hype-Hash"] = hypetech_helpers.sign(HYPETECH_BASE_URL + path, body)
        elif path.startswith("/upside/"):
            signed = upside_helpers.headers(self.worker, self.jwt, body)
            signed.pop("Content-Type")
            request.headers.update(signed)
        return super().send(request, **kwargs)


def _players() -> tuple[upside_helpers.Worker, str]:
    for player in ("player-1", "player-2"):
        PlayerFactory(id=player, currencies=("USD", "BRL", "WIN"), balance=Decimal(1000))
    upside_helpers.make_game()
    return upside_helpers.make_key(), upside_helpers.token("player-1")


def test_schemathesis_finds_no_5xx_no_leak_and_moves_no_money(live_server):
    _players()
    before = books()
    statuses, problems = run(live_server, requests.Session())
    assert problems == [], "\n".join(problems[:20])
    assert books() == before
    print(f"\nschemathesis unsigned: {sum(statuses.values())} requests, {sorted(statuses.items())}")
    assert sum(statuses.values()) >= 11 * EXAMPLES


def test_schemathesis_signed_bodies_reach_the_parsers_without_5xx(live_server):
    """Validly signed generated bodies may move money; the books must still verify."""
    worker, jwt = _players()
    statuses, problems = run(live_server, SigningSession(worker, jwt))
    assert problems == [], "\n".join(problems[:20])
    books()  # verifies the ledger
    print(f"\nschemathesis signed: {sum(statuses.values())} requests, {sorted(statuses.items())}")
    assert {200, 400, 404} <= set(statuses)


def run(live_server: str, session: requests.Session) -> tuple[Counter[int], list[str]]:
    schema = schemathesis.openapi.from_url(f"{live_server}/openapi.json")
    statuses: Counter[int] = Counter()
    problems: list[str] = []

    for result in schema.get_all_operations():
        operation = result.ok()
        modes = [GenerationMode.POSITIVE]
        if operation.method.upper() == "POST":  # a GET without parameters has no negative case
            modes.append(GenerationMode.NEGATIVE)
        for mode in modes:

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(
                max_examples=EXAMPLES,
                deadline=None,
                database=None,
                derandomize=True,
                phases=[Phase.explicit, Phase.generate],
                suppress_health_check=list(HealthCheck),
            )
            def attack(case: schemathesis.Case) -> None:
                response = case.call(session=session, timeout=10)
                statuses[response.status_code] += 1
                if response.status_code >= 500 or leaks(response.text):
                    problems.append(f"{case.as_curl_command()} -> {response.status_code}")

            attack()
    return statuses, problems
