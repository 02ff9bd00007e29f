"""The audit trail: every callback stored with its answer, credentials never kept."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, update
from werkzeug.datastructures import EnvironHeaders
from werkzeug.test import EnvironBuilder

from app.web import audit, callbacks
from app.web.callbacks import callbacks as table
from tests import hypetech_helpers, igpx_helpers, upside_helpers
from tests.factories import PlayerFactory, balance, flush_audit, run_committed


def stored() -> list[dict]:
    flush_audit()
    rows = run_committed(lambda conn: conn.execute(select(table).order_by(table.c.id)).all())
    return [dict(row._mapping) for row in rows]


def test_an_igpx_bet_is_stored_with_its_answer_and_without_its_signature(client):
    player = PlayerFactory()
    body = igpx_helpers.body_of(igpx_helpers.bet("tx-1", player, "10.00"))
    answer = igpx_helpers.post(client, "transaction", body, **{"X-Request-ID": "req-42"})

    [row] = stored()
    assert row["provider"] == "igpx" and row["route"] == "/igpx/transaction"
    assert bytes(row["body"]) == body
    assert json.loads(row["answer"]) == answer
    assert row["status"] == 200 and row["outcome"] == "applied"
    assert row["request_id"] == "req-42"
    assert row["headers"]["X-Security-Hash"] == callbacks.REDACTED
    assert igpx_helpers.sign(body) not in json.dumps(row["headers"])
    assert row["latency_ms"] >= 0


def test_a_refused_callback_is_stored_and_moves_no_money(client):
    player = PlayerFactory()
    body = igpx_helpers.body_of(igpx_helpers.bet("tx-1", player, "10.00"))
    client.post(
        "/igpx/transaction",
        data=body,
        headers={"Content-Type": "application/json", "X-Security-Hash": "00" * 32},
    )
    [row] = stored()
    assert row["outcome"] == "invalid_signature"
    assert bytes(row["body"]) == body
    assert balance(player) == 100


def test_upside_credentials_are_kept_by_name_only(client):
    upside_helpers.make_game()
    worker = upside_helpers.make_key()
    player = upside_helpers.make_player()
    jwt = upside_helpers.token(player)
    upside_helpers.act(client, worker, jwt, {"trigger": "getBalance"})

    [row] = stored()
    text = json.dumps(row["headers"])
    for secret in (jwt, worker.passphrase, worker.secret):
        assert secret not in text
    for name in ("Upside-Access-Sign", "Upside-Access-Passphrase", "B3-Jwt"):
        assert row["headers"][name] == callbacks.REDACTED
    assert row["headers"]["Upside-Access-Key"] == worker.key
    assert row["outcome"] == "ok"


def test_a_hypetech_session_token_in_the_body_is_masked(client):
    player = PlayerFactory(currencies=("BRL",))
    hypetech_helpers.ok(client, "register", hypetech_helpers.bet("b1", player, "5"))
    [row] = stored()
    body = json.loads(bytes(row["body"]))
    assert body["session_token"] == callbacks.REDACTED
    assert body["provider_tx_id"] == "b1"
    assert row["body_note"] == "credential fields masked"


def test_a_secret_word_in_a_value_leaves_the_body_as_received(client):
    body = json.dumps({"transaction_id": "my-token-secret-hash", "note": "Authorization"}).encode()
    client.post("/igpx/transaction", data=body, headers={"X-Security-Hash": "00" * 32})
    [row] = stored()
    assert bytes(row["body"]) == body
    assert row["body_note"] is None


def _parse_always(raw: bytes) -> tuple[bytes, str | None]:
    """``safe_body`` as it was before the bytes pre-check: every body parsed."""
    pattern = re.compile("|".join(callbacks.SECRET_WORDS), re.IGNORECASE)
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):
        return raw, None
    if not isinstance(data, dict) or not any(pattern.search(str(k)) for k in data):
        return raw, None
    masked = {k: callbacks.REDACTED if pattern.search(str(k)) else v for k, v in data.items()}
    return json.dumps(masked, ensure_ascii=False).encode(), "credential fields masked"


@pytest.mark.parametrize(
    "raw",
    [
        b'{"session_token": "abc", "amount": "5"}',
        b'{"Session_TOKEN": "abc"}',
        b'{"amount": "5", "user_id": "token-holder"}',
        b'{"\\u0074oken": "spelled with an escape"}',
        '{"to\u212aen": "Kelvin sign, matched by case folding"}'.encode(),
        '{"\u017fecret": "long s"}'.encode(),
        '{"token": "UTF-16"}'.encode("utf-16-le"),
        '{"password": "UTF-8 with BOM"}'.encode("utf-8-sig"),
        b'["token", "a list is stored as it is"]',
        b'{"nested": {"token": "only top-level fields are masked"}}',
        b"not json, but says secret",
        b"\xff\xfe",
        b"",
    ],
)
def test_the_body_is_masked_exactly_as_when_every_body_was_parsed(raw):
    assert callbacks.safe_body(raw) == _parse_always(raw)


def test_headers_are_copied_under_werkzeugs_names():
    environ = EnvironBuilder(
        path="/igpx/transaction",
        method="POST",
        data=b"{}",
        headers={"X-Security-Hash": "ab", "X-Empty": "", "upside-access-sign": "s", "B3-JWT": "j"},
        content_type="application/json",
    ).get_environ()
    environ["HTTP_CONTENT_TYPE"] = "ignored by werkzeug"
    assert audit._headers(environ) == dict(EnvironHeaders(environ).items())
    del environ["CONTENT_TYPE"]
    environ["CONTENT_LENGTH"] = ""
    assert audit._headers(environ) == dict(EnvironHeaders(environ).items())


def test_the_writer_stores_in_batches_and_drops_past_its_bound(client, engine, captured_logs):
    writer = audit.AuditWriter(engine, max_queue=5, max_batch=2, interval_s=3600)
    entry = callbacks.Entry(
        received_at=datetime.now(UTC),
        request_id="r",
        provider="igpx",
        method="POST",
        route="/igpx/transaction",
        remote_addr=None,
        headers={"Hype-Hash": "secret", "Accept": "*/*"},
        body=b"{}",
        body_note=None,
        status=200,
        answer="{}",
        outcome="ok",
        latency_ms=1.005,
    )
    for _ in range(7):  # an hour between wake-ups: the queue fills
        writer.submit(entry)
    assert "audit trail queue full" in captured_logs.getvalue()
    writer.flush(10)  # wakes the thread at once
    rows = stored()
    assert len(rows) == 5
    assert rows[0]["headers"] == {"Hype-Hash": callbacks.REDACTED, "Accept": "*/*"}
    assert str(rows[0]["latency_ms"]) == "1.00"  # 1.005 is 1.00499… as a float


def test_health_and_metrics_are_not_callbacks(client):
    client.get("/healthz")
    client.get("/metrics")
    assert stored() == []


def test_failing_to_store_never_changes_the_answer(client, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(callbacks, "copy_rows", broken)
    player = PlayerFactory()
    answer = igpx_helpers.post(client, "transaction", igpx_helpers.bet("tx-1", player, "1.00"))
    assert answer["error"] is None
    assert balance(player) == 99
    flush_audit()  # the failure happens in the writer thread; the next batch still goes in
    monkeypatch.undo()
    igpx_helpers.post(client, "transaction", igpx_helpers.bet("tx-2", player, "1.00"))
    assert [row["request_id"] != "" for row in stored()] == [True]


def test_a_batch_the_database_refuses_is_logged_with_its_sqlstate(
    client, monkeypatch, captured_logs
):
    import psycopg

    def refused(*args, **kwargs):
        raise psycopg.errors.DiskFull("could not extend file")

    monkeypatch.setattr(callbacks, "copy_rows", refused)
    igpx_helpers.post(client, "transaction", igpx_helpers.bet("tx-1", PlayerFactory(), "1.00"))
    flush_audit()
    monkeypatch.undo()
    lines = [json.loads(line) for line in captured_logs.getvalue().splitlines()]
    (warned,) = [x for x in lines if x["event"] == "callbacks not stored in the audit trail"]
    assert (warned["sqlstate"], warned["count"]) == ("53100", 1)  # disk_full


def test_an_oversized_body_is_noted_not_stored(client, app):
    too_big = b"{" + b" " * app.config["MAX_BODY_BYTES"] + b"}"
    client.post("/igpx/transaction", data=too_big, headers={"Content-Type": "application/json"})
    [row] = stored()
    assert bytes(row["body"]) == b""
    assert "over the limit" in row["body_note"]
    assert row["outcome"] == "invalid_request"


def _age_all(days: int) -> None:
    moment = datetime.now(UTC) - timedelta(days=days)
    run_committed(lambda conn: conn.execute(update(table).values(received_at=moment)))


def test_cli_lists_filters_shows_and_prunes(client, runner):
    player = PlayerFactory()
    igpx_helpers.post(client, "transaction", igpx_helpers.bet("tx-1", player, "1.00"))
    client.post("/igpx/transaction", data=b"{}", headers={"X-Security-Hash": "bad"})

    listed = json.loads(runner(["callbacks", "list", "--json"]).output)["callbacks"]
    assert [row["outcome"] for row in listed] == ["invalid_signature", "applied"]
    refused = runner(["callbacks", "list", "--outcome", "INVALID_SIGNATURE", "--json"])
    assert len(json.loads(refused.output)["callbacks"]) == 1
    assert json.loads(runner(["callbacks", "list", "--provider", "upside", "--json"]).output) == {
        "callbacks": []
    }
    recent = runner(["callbacks", "list", "--since", "1h", "--limit", "1", "--json"])
    assert len(json.loads(recent.output)["callbacks"]) == 1

    shown = json.loads(runner(["callbacks", "show", str(listed[1]["id"]), "--json"]).output)
    assert json.loads(shown["body"])["transaction_id"] == "tx-1"
    assert shown["headers"]["X-Security-Hash"] == callbacks.REDACTED

    _age_all(days=31)
    pruned = json.loads(runner(["callbacks", "prune", "--json"]).output)
    assert pruned == {"deleted": 2, "retention_days": 30}
    assert stored() == []


def test_cli_show_and_since_fail_in_one_line(runner):
    missing = runner(["callbacks", "show", "999"])
    assert missing.exit_code == 1 and missing.output.strip() == "Error: no callback 999"
    bad = runner(["callbacks", "list", "--since", "yesterday"])
    assert bad.exit_code != 0 and len(bad.output.strip().splitlines()) == 1


def test_a_non_utf8_body_is_shown_as_base64(client, runner):
    client.post("/igpx/transaction", data=b"\xff\xfe", headers={"X-Security-Hash": "x"})
    [row] = stored()
    shown = json.loads(runner(["callbacks", "show", str(row["id"]), "--json"]).output)
    assert shown["body"] is None and shown["body_base64"] == "//4="


def test_prune_keeps_recent_callbacks(client, runner):
    client.post("/igpx/transaction", data=b"{}", headers={"X-Security-Hash": "x"})
    _age_all(days=3)
    assert (
        json.loads(runner(["callbacks", "prune", "--days", "7", "--json"]).output)["deleted"] == 0
    )
    count = run_committed(lambda conn: conn.execute(select(func.count()).select_from(table)))
    assert count.scalar_one() == 1


def test_gunicorn_workers_store_callbacks_in_the_background(live_server):
    import time

    import requests

    player = PlayerFactory()
    body = igpx_helpers.body_of(igpx_helpers.bet("bg-1", player, "1.00"))
    headers = {"Content-Type": "application/json", "X-Security-Hash": igpx_helpers.sign(body)}
    answer = requests.post(f"{live_server}/igpx/transaction", data=body, headers=headers, timeout=5)
    assert answer.json()["error"] is None
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not stored():
        time.sleep(0.05)
    assert [row["outcome"] for row in stored()] == ["applied"]


def test_cli_lists_callbacks_newest_first_by_the_time_they_were_received(client, runner):
    player = PlayerFactory()
    for tx in ("first", "second", "third"):
        igpx_helpers.post(client, "transaction", igpx_helpers.bet(tx, player, "1.00"))
    ids = {json.loads(row["body"])["transaction_id"]: row["id"] for row in stored()}
    # The third was received before the others, and its row stored last (a slow request).
    earlier = datetime.now(UTC) - timedelta(minutes=5)
    third = update(table).where(table.c.id == ids["third"]).values(received_at=earlier)
    run_committed(lambda conn: conn.execute(third))
    listed = json.loads(runner(["callbacks", "list", "--json"]).output)["callbacks"]
    assert [row["id"] for row in listed] == [ids["second"], ids["first"], ids["third"]]
    times = [row["received_at"] for row in listed]
    assert times == sorted(times, reverse=True)
    limited = json.loads(runner(["callbacks", "list", "--limit", "1", "--json"]).output)
    assert [row["id"] for row in limited["callbacks"]] == [listed[0]["id"]]


def test_cli_refuses_an_unknown_provider_and_names_the_known_ones(runner):
    result = runner(["callbacks", "list", "--provider", "igpz"])
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        "Error: --provider 'igpz' is not a provider: use igpx, hypetech or upside"
    )
