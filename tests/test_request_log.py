"""The request log line: one JSON object per callback with the request's fields."""

from __future__ import annotations

import json

from tests import igpx_helpers
from tests.factories import PlayerFactory


def _request_lines(captured) -> list[dict]:
    lines = [json.loads(line) for line in captured.getvalue().splitlines()]
    return [line for line in lines if line.get("event") == "request"]


def test_each_callback_logs_one_line_with_its_own_fields(client, captured_logs):
    player = PlayerFactory(balance="10")
    igpx_helpers.post(
        client,
        "transaction",
        igpx_helpers.bet("log-1", player, "1.00"),
        **{"X-Request-ID": "first"},
    )
    client.get("/healthz", headers={"X-Request-ID": "second"})

    bet, health = _request_lines(captured_logs)
    assert bet["request_id"] == "first" and bet["path"] == "/igpx/transaction"
    assert (bet["provider"], bet["player"], bet["provider_tx_id"]) == ("igpx", player, "log-1")
    assert bet["outcome"] == "applied" and bet["status"] == 200 and bet["level"] == "info"
    # the next request starts afresh: nothing of the bet's fields is carried over
    assert health["request_id"] == "second" and health["path"] == "/healthz"
    assert "provider" not in health and "player" not in health
