"""One vocabulary of outcomes: each callback's outcome is the same lower-case word in
``/metrics``, on its log line and in the audit trail (``app.web.outcomes``)."""

from __future__ import annotations

import json
from collections import Counter
from decimal import Decimal

from sqlalchemy import select

from app.web.callbacks import callbacks as audit_table
from tests import hypetech_helpers as hype
from tests import igpx_helpers as igpx
from tests import upside_helpers as up
from tests.factories import PlayerFactory, flush_audit, run_committed
from tests.test_metrics import sample


def _traffic(client) -> None:
    """Successes, replays, declines and refusals on every provider."""
    player = PlayerFactory(currencies=("USD", "BRL"), balance=Decimal(10))
    igpx.post(client, "transaction", igpx.bet("o1", player, "1"))
    igpx.post(client, "transaction", igpx.bet("o1", player, "1"))
    igpx.post(client, "transaction", igpx.bet("o2", player, "100"))
    igpx.post(client, "transaction", igpx.bet("o1", player, "2"))
    igpx.post(client, "transaction-rollback", igpx.rollback("o3", "never", player, "2"))
    client.post("/igpx/transaction", data=b"{}", headers={"X-Security-Hash": "ab" * 32})
    hype.send(client, "register", hype.bet("h1", player, "3", currency="BRL"))
    hype.send(client, "register", hype.bet("h2", player, "300", currency="BRL"))
    hype.send(client, "getBalance", {"user_id": player, "currency": "BRL"})
    client.post("/hypetech/register", data=b"{}", headers={"Hype-Hash": "00"})
    up.make_game()
    worker, gambler = up.make_key(), up.make_player(win=5)
    jwt = up.token(gambler)
    body = json.dumps(up.bet("s1")).encode()
    signed = up.headers(worker, jwt, body)
    client.post("/upside/game-actions", data=body, headers=signed)
    client.post("/upside/game-actions", data=body, headers=signed)  # a replay
    up.send(client, worker, jwt, up.bet("s2", amount=100 * up.WIN))
    up.send(client, up.Worker(worker.key, worker.secret, "wrong"), jwt, {"trigger": "checkAuth"})


def test_each_callback_has_one_lower_case_outcome_in_metrics_logs_and_audit(client, captured_logs):
    before = client.get("/metrics").get_data(as_text=True)
    _traffic(client)
    after = client.get("/metrics").get_data(as_text=True)
    flush_audit()

    lines = [json.loads(line) for line in captured_logs.getvalue().splitlines()]
    logged = [
        (line["provider"], line.get("action"), line["outcome"])
        for line in lines
        if line.get("event") == "request" and line["path"] != "/metrics"
    ]
    query = select(audit_table.c.provider, audit_table.c.action, audit_table.c.outcome)
    stored = run_committed(lambda conn: conn.execute(query.order_by(audit_table.c.id)).all())
    assert [tuple(row) for row in stored] == logged
    for (provider, action, outcome), count in Counter(logged).items():
        labels = {"provider": provider, "action": action or "unknown", "outcome": outcome}
        counted = sample(after, "wallet_callbacks_total", **labels)
        assert counted - sample(before, "wallet_callbacks_total", **labels) == count, labels

    outcomes = {outcome for _, _, outcome in logged}
    assert outcomes == {outcome.lower() for outcome in outcomes}
    assert {
        "applied",
        "insufficient_funds",
        "transaction_conflict",
        "tombstone",
        "invalid_signature",
        "ok",
        "replayed_request",
        "authentication_failed",
    } <= outcomes


def test_declines_are_counted_by_the_wallets_reason_on_every_provider(client):
    before = client.get("/metrics").get_data(as_text=True)
    _traffic(client)
    after = client.get("/metrics").get_data(as_text=True)
    for provider in ("igpx", "hypetech", "upside"):
        labels = {"provider": provider, "reason": "insufficient_funds"}
        counted = sample(after, "wallet_declines_total", **labels)
        assert counted - sample(before, "wallet_declines_total", **labels) == 1, provider


def test_an_upside_replay_is_stored_with_its_trigger(client, runner):
    _traffic(client)
    listed = json.loads(runner(["callbacks", "list", "--provider", "upside", "--json"]).output)
    replays = [row for row in listed["callbacks"] if row["outcome"] == "replayed_request"]
    assert [(row["action"], row["status"]) for row in replays] == [("placeBet", 409)]
    assert "placeBet" in runner(["callbacks", "list", "--provider", "upside"]).output
