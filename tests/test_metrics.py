"""/metrics counts callbacks, replays and declines, summed over every gunicorn worker."""

from __future__ import annotations

import re

import pytest
import requests

from tests.factories import PlayerFactory
from tests.igpx_helpers import bet, body_of, post, sign


def sample(text: str, name: str, **labels: str) -> float:
    """The value of one sample in Prometheus text format, whatever the label order."""
    for line in text.splitlines():
        found = re.fullmatch(rf"{name}\{{(.*)\}} (\S+)", line)
        if found and dict(re.findall(r'(\w+)="([^"]*)"', found.group(1))) == labels:
            return float(found.group(2))
    return 0.0


def test_callbacks_replays_and_declines_are_counted(client):
    player = PlayerFactory(balance="5.00")
    before = client.get("/metrics").get_data(as_text=True)
    post(client, "transaction", bet("m1", player, "1"))
    post(client, "transaction", bet("m1", player, "1"))
    post(client, "transaction", bet("m2", player, "100"))
    text = client.get("/metrics").get_data(as_text=True)

    def delta(name, **labels):
        return sample(text, name, **labels) - sample(before, name, **labels)

    assert delta("wallet_callbacks_total", provider="igpx", action="bet", outcome="applied") == 2
    assert delta("wallet_replays_total", provider="igpx") == 1
    assert delta("wallet_declines_total", provider="igpx", reason="insufficient_funds") == 1
    assert delta("wallet_callback_seconds_count", provider="igpx", action="bet") == 3
    assert sample(text, "wallet_player_balances", currency="USD") == 4.0


@pytest.mark.slow
def test_metrics_are_summed_across_gunicorn_workers(live_server):
    player = PlayerFactory(balance="100.00")
    scrape = requests.get(f"{live_server}/metrics", timeout=5).text
    before = sample(
        scrape, "wallet_callbacks_total", provider="igpx", action="bet", outcome="applied"
    )
    for i in range(12):
        body = body_of(bet(f"mp{i}", player, "1"))
        requests.post(
            f"{live_server}/igpx/transaction",
            data=body,
            timeout=5,
            headers={"Content-Type": "application/json", "X-Security-Hash": sign(body)},
        )
    scrapes = [requests.get(f"{live_server}/metrics", timeout=5).text for _ in range(4)]
    counts = {
        sample(s, "wallet_callbacks_total", provider="igpx", action="bet", outcome="applied")
        - before
        for s in scrapes
    }
    assert counts == {12.0}
