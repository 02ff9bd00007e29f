"""IGPX callbacks over HTTP: every scenario of IGPX's "Sportsbook API integration"."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.factories import PlayerFactory, balance
from tests.igpx_helpers import bet, body_of, post, result, rollback, sign


def test_bet_debits_and_answers_the_wallets_transaction_id(client):
    player = PlayerFactory(balance="100.00")
    answer = post(client, "transaction", bet("b1", player, "10.50"))
    assert answer["error"] is None
    assert answer["transaction_id"]
    assert balance(player) == Decimal("89.50")


def test_result_credits(client):
    player = PlayerFactory(balance="10.00")
    answer = post(client, "transaction", result("r1", player, "25.00"))
    assert answer["error"] is None
    assert balance(player) == Decimal("35.00")


def test_zero_result_is_a_recorded_loss(client, runner):
    player = PlayerFactory(balance="10.00")
    post(client, "transaction", bet("b1", player, "10.00"))
    answer = post(client, "transaction", result("r1", player, "0"))
    assert answer["error"] is None
    assert balance(player) == Decimal("0.00")
    shown = runner(["transactions", "show", "igpx", "r1", "--json"])
    assert '"status": "applied"' in shown.stdout


def test_amounts_as_json_numbers_are_exact(client):
    player = PlayerFactory(balance="1.00")
    post(client, "transaction", bet("b1", player, 0.1))
    post(client, "transaction", bet("b2", player, 0.2))
    assert balance(player) == Decimal("0.70")


def test_duplicate_bet_replays_first_answer_and_moves_no_money(client):
    player = PlayerFactory(balance="100.00")
    first = post(client, "transaction", bet("b1", player, "10"))
    second = post(client, "transaction", bet("b1", player, "10.00"))
    assert second == first
    assert balance(player) == Decimal("90.00")


def test_duplicate_result_replays_first_answer(client):
    player = PlayerFactory(balance="0")
    first = post(client, "transaction", result("r1", player, "5"))
    assert post(client, "transaction", result("r1", player, "5")) == first
    assert balance(player) == Decimal("5.00")


@pytest.mark.parametrize(
    "change",
    [{"amount": "11"}, {"action": "result"}, {"currency": "EUR"}, {"user_id": "someone-else"}],
)
def test_repeat_with_a_different_payload_is_a_conflict(client, change):
    player = PlayerFactory(balance="100.00", currencies=("USD", "EUR"))
    PlayerFactory(id="someone-else")
    post(client, "transaction", bet("b1", player, "10"))
    answer = post(client, "transaction", {**bet("b1", player, "10"), **change})
    assert answer == {"error": "TRANSACTION_CONFLICT"}
    assert balance(player) == Decimal("90.00")
    assert balance(player, "EUR") == Decimal("100.00")


def test_declined_bet_is_declined_again_on_retry_even_after_a_deposit(client):
    player = PlayerFactory(balance="5.00")
    assert post(client, "transaction", bet("b1", player, "10")) == {"error": "INSUFFICIENT_FUNDS"}
    post(client, "transaction", result("r1", player, "50"))
    assert post(client, "transaction", bet("b1", player, "10")) == {"error": "INSUFFICIENT_FUNDS"}
    assert balance(player) == Decimal("55.00")


def test_insufficient_funds_code_is_configurable(app, client):
    player = PlayerFactory(balance="1.00")
    app.config["IGPX_INSUFFICIENT_FUNDS_CODE"] = "INSUFFICENT_FUNDS"
    try:
        answer = post(client, "transaction", bet("b1", player, "10"))
    finally:
        app.config["IGPX_INSUFFICIENT_FUNDS_CODE"] = "INSUFFICIENT_FUNDS"
    assert answer == {"error": "INSUFFICENT_FUNDS"}


def test_bet_of_the_whole_balance_leaves_zero(client):
    player = PlayerFactory(balance="10.00")
    assert post(client, "transaction", bet("b1", player, "10.00"))["error"] is None
    assert balance(player) == Decimal("0.00")


def test_blocked_player_bet_declined_but_result_credited(client):
    player = PlayerFactory(balance="20.00", blocked=True)
    assert post(client, "transaction", bet("b1", player, "5")) == {"error": "USER_BLOCKED"}
    assert post(client, "transaction", result("r1", player, "7"))["error"] is None
    assert balance(player) == Decimal("27.00")


def test_rollback_of_a_bet_refunds_it(client):
    player = PlayerFactory(balance="100.00")
    post(client, "transaction", bet("b1", player, "30"))
    answer = post(client, "transaction-rollback", rollback("rb1", "b1", player, "30"))
    assert answer["error"] is None
    assert balance(player) == Decimal("100.00")


def test_rollback_of_a_result_takes_the_win_back_even_below_zero(client, runner):
    player = PlayerFactory(balance="0")
    post(client, "transaction", result("r1", player, "40"))
    post(client, "transaction", bet("b1", player, "30"))
    assert (
        post(client, "transaction-rollback", rollback("rb1", "r1", player, "40"))["error"] is None
    )
    assert balance(player) == Decimal("-30.00")
    verify = runner(["ledger", "verify", "--json"])
    assert verify.exit_code == 0
    assert player in verify.stdout  # reported among negative balances


def test_rollback_reverses_the_originals_amount_not_the_requests(client):
    player = PlayerFactory(balance="100.00")
    post(client, "transaction", bet("b1", player, "30"))
    post(client, "transaction-rollback", rollback("rb1", "b1", player, "999"))
    assert balance(player) == Decimal("100.00")


def test_rolling_back_twice_refunds_once(client):
    player = PlayerFactory(balance="100.00")
    post(client, "transaction", bet("b1", player, "30"))
    first = post(client, "transaction-rollback", rollback("rb1", "b1", player, "30"))
    assert post(client, "transaction-rollback", rollback("rb1", "b1", player, "30")) == first
    other = post(client, "transaction-rollback", rollback("rb2", "b1", player, "30"))
    assert other["error"] is None
    assert balance(player) == Decimal("100.00")


def test_rollback_of_unknown_id_is_a_tombstone_and_the_late_bet_is_declined(client):
    player = PlayerFactory(balance="100.00")
    answer = post(client, "transaction-rollback", rollback("rb1", "b-late", player, "30"))
    assert answer["error"] is None
    assert balance(player) == Decimal("100.00")
    late = post(client, "transaction", bet("b-late", player, "30"))
    assert late == {"error": "TRANSACTION_ROLLED_BACK"}
    assert balance(player) == Decimal("100.00")


def test_late_result_after_its_rollback_is_acknowledged_without_money(client):
    player = PlayerFactory(balance="100.00")
    post(client, "transaction-rollback", rollback("rb1", "r-late", player, "30"))
    late = post(client, "transaction", result("r-late", player, "30"))
    assert late["error"] is None
    assert balance(player) == Decimal("100.00")


def test_rollback_of_a_declined_bet_moves_nothing(client):
    player = PlayerFactory(balance="5.00")
    post(client, "transaction", bet("b1", player, "10"))
    assert (
        post(client, "transaction-rollback", rollback("rb1", "b1", player, "10"))["error"] is None
    )
    assert balance(player) == Decimal("5.00")


def test_rollback_repeat_with_different_payload_is_a_conflict(client):
    player = PlayerFactory(balance="100.00")
    post(client, "transaction", bet("b1", player, "30"))
    post(client, "transaction-rollback", rollback("rb1", "b1", player, "30"))
    answer = post(client, "transaction-rollback", rollback("rb1", "b2", player, "30"))
    assert answer == {"error": "TRANSACTION_CONFLICT"}


def test_rollback_naming_another_players_transaction_is_refused(client):
    player, other = PlayerFactory(balance="100.00"), PlayerFactory(balance="100.00")
    post(client, "transaction", bet("b1", player, "30"))
    answer = post(client, "transaction-rollback", rollback("rb1", "b1", other, "30"))
    assert answer == {"error": "TRANSACTION_CONFLICT"}
    assert balance(player) == Decimal("70.00")
    assert balance(other) == Decimal("100.00")


def test_unknown_player_and_currency(client):
    player = PlayerFactory(balance="100.00")
    assert post(client, "transaction", bet("b1", "nobody", "1")) == {"error": "USER_NOT_FOUND"}
    assert post(client, "transaction", bet("b2", player, "1", "EUR")) == {
        "error": "CURRENCY_MISMATCH"
    }
    assert post(client, "transaction", bet("b3", player, "1", "XYZ")) == {
        "error": "CURRENCY_MISMATCH"
    }
    assert balance(player) == Decimal("100.00")


@pytest.mark.parametrize("header", ["X-Security-Hash", "X-Securty-Hash"])
def test_both_spellings_of_the_signature_header_are_accepted(client, header):
    player = PlayerFactory(balance="100.00")
    body = body_of(bet("b1", player, "1"))
    response = client.post(
        "/igpx/transaction",
        data=body,
        headers={"Content-Type": "application/json", header: sign(body)},
    )
    assert response.get_json()["error"] is None


def test_upper_case_hex_signature_is_accepted(client):
    player = PlayerFactory(balance="100.00")
    body = body_of(bet("b1", player, "1"))
    answer = post(client, "transaction", body, **{"X-Security-Hash": sign(body).upper()})
    assert answer["error"] is None


@pytest.mark.parametrize(
    "signature",
    ["", "deadbeef", "0" * 64, "not hex at all", "é" * 64, sign(b"another body")],
)
def test_bad_signatures_are_refused_and_move_nothing(client, signature):
    player = PlayerFactory(balance="100.00")
    body = body_of(bet("b1", player, "10"))
    response = client.post(
        "/igpx/transaction",
        data=body,
        headers={"Content-Type": "application/json", "X-Security-Hash": signature},
    )
    assert response.status_code == 200
    assert response.get_json() == {"error": "INVALID_SIGNATURE"}
    assert balance(player) == Decimal("100.00")


def test_unsigned_request_is_refused(client):
    player = PlayerFactory(balance="100.00")
    response = client.post("/igpx/transaction", json=bet("b1", player, "10"))
    assert response.get_json() == {"error": "INVALID_SIGNATURE"}


def test_signature_made_with_another_secret_is_refused(client):
    player = PlayerFactory(balance="100.00")
    body = body_of(bet("b1", player, "10"))
    answer = post(client, "transaction", body, **{"X-Security-Hash": sign(body, "wrong")})
    assert answer == {"error": "INVALID_SIGNATURE"}


def test_unset_secret_refuses_everything(app, client):
    player = PlayerFactory(balance="100.00")
    app.config["IGPX_SECURITY_HASH"] = None
    try:
        answer = post(client, "transaction", bet("b1", player, "10"))
    finally:
        app.config["IGPX_SECURITY_HASH"] = "igpx-test-secret"
    assert answer == {"error": "INVALID_SIGNATURE"}
    assert balance(player) == Decimal("100.00")


BAD_BODIES = [
    b"not json",
    b"[1, 2, 3]",
    b'"a string"',
    b"{",
    b"\xff\xfe\x00garbage",
    b'{"transaction_id": "t", "transaction_id": "u", "action": "bet", "user_id": "p",'
    b' "currency": "USD", "amount": "1"}',
    b"[" * 100000 + b"]" * 100000,
    b'{"amount": NaN}',
]


@pytest.mark.parametrize("body", BAD_BODIES, ids=range(len(BAD_BODIES)))
def test_malformed_bodies_get_invalid_request(client, body):
    answer = post(client, "transaction", body)
    assert answer == {"error": "INVALID_REQUEST"}


@pytest.mark.parametrize(
    "change",
    [
        {"transaction_id": None},
        {"transaction_id": ""},
        {"transaction_id": "x" * 129},
        {"action": "refund"},
        {"user_id": {"id": 1}},
        {"amount": "-1"},
        {"amount": -1},
        {"amount": "1.001"},
        {"amount": "abc"},
        {"amount": "1e3"},
        {"amount": True},
        {"amount": "NaN"},
        {"amount": "Infinity"},
        {"amount": None},
        {"amount": "1" * 400},
        {"amount": 10**30},
        {"currency": 840},
    ],
)
def test_malformed_fields_get_invalid_request_and_move_nothing(client, change):
    player = PlayerFactory(balance="100.00")
    answer = post(client, "transaction", {**bet("b1", player, "1"), **change})
    assert answer == {"error": "INVALID_REQUEST"}
    assert balance(player) == Decimal("100.00")


def test_huge_json_number_gets_invalid_request(client):
    player = PlayerFactory(balance="100.00")
    body = (
        b'{"transaction_id": "b1", "action": "bet", "user_id": "'
        + player.encode()
        + b'", "currency": "USD", "amount": '
        + b"9" * 10000
        + b"}"
    )
    assert post(client, "transaction", body) == {"error": "INVALID_REQUEST"}


def test_missing_fields_get_invalid_request(client):
    for field in ("transaction_id", "action", "user_id", "currency", "amount"):
        payload = bet("b1", "p", "1")
        del payload[field]
        assert post(client, "transaction", payload) == {"error": "INVALID_REQUEST"}


def test_unknown_fields_are_ignored(client):
    player = PlayerFactory(balance="100.00")
    answer = post(client, "transaction", {**bet("b1", player, "1"), "extra": {"a": [1]}})
    assert answer["error"] is None


def test_wrong_content_type_is_refused(client):
    player = PlayerFactory(balance="100.00")
    body = body_of(bet("b1", player, "1"))
    response = client.post(
        "/igpx/transaction",
        data=body,
        headers={"Content-Type": "text/plain", "X-Security-Hash": sign(body)},
    )
    assert response.get_json() == {"error": "INVALID_REQUEST"}
    assert balance(player) == Decimal("100.00")


def test_oversized_body_is_refused(client):
    body = body_of({**bet("b1", "p", "1"), "padding": "x" * 100_000})
    assert post(client, "transaction", body) == {"error": "INVALID_REQUEST"}


def test_rollback_endpoint_requires_the_rollback_action(client):
    player = PlayerFactory(balance="100.00")
    answer = post(
        client, "transaction-rollback", {**rollback("rb1", "b1", player, "1"), "action": "bet"}
    )
    assert answer == {"error": "INVALID_REQUEST"}


def test_integer_user_id_is_accepted_as_a_string(client):
    PlayerFactory(id="12345", balance="100.00")
    answer = post(client, "transaction", {**bet("b1", "x", "1"), "user_id": 12345})
    assert answer["error"] is None
    assert balance("12345") == Decimal("99.00")


def test_database_outage_answers_internal_error(client, app):
    from app.db import Database, make_engine

    database = app.extensions["wallet.db"]
    broken = make_engine("postgresql://nobody@127.0.0.1:1/none")
    app.extensions["wallet.db"] = Database(broken)
    try:
        answer = post(client, "transaction", bet("b1", "p", "1"))
    finally:
        app.extensions["wallet.db"] = database
        broken.dispose()
    assert answer == {"error": "INTERNAL_ERROR"}


def test_a_prepared_statement_lost_by_the_server_is_logged_with_the_pooler_hint(
    client, app, captured_logs
):
    """What a pooler in transaction mode does to prepared statements, done to the thread's
    kept connection directly: the answer is an internal error (the provider retries), the
    log names the SQLSTATE and the setting to change, not just an error class, and the
    connection is replaced, so the retry is applied."""
    import json

    from app.providers.base import POOLER_HINT

    player = PlayerFactory(balance="100.00")
    for n in range(6):  # psycopg prepares a statement after 5 executions on a connection
        assert post(client, "transaction", bet(f"warm{n}", player, "1"))["error"] is None
    held = app.extensions["wallet.held"].get(app.extensions["wallet.engine"])
    driver = held.connection.driver_connection
    driver.pgconn.exec_(b"DEALLOCATE ALL")  # behind psycopg's back, as another connection
    answer = post(client, "transaction", bet("lost", player, "1"))
    assert answer == {"error": "INTERNAL_ERROR"}
    lines = [json.loads(line) for line in captured_logs.getvalue().splitlines()]
    (logged,) = [line for line in lines if line["event"] == "database unavailable"]
    assert logged["sqlstate"] == "26000"
    assert logged["hint"] == POOLER_HINT
    assert balance(player) == Decimal("94.00")  # the failed attempt moved nothing
    assert post(client, "transaction", bet("lost", player, "1"))["error"] is None
    assert balance(player) == Decimal("93.00")
