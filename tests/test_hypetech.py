"""Hypetech webhooks over HTTP: both versions of Hypetech's webhook documentation."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from sqlalchemy import select

from app import create_app
from app.core.models import provider_transactions
from tests.factories import PlayerFactory, balance, close_app, deposit
from tests.hypetech_helpers import (
    bet,
    new_rollback,
    ok,
    old_rollback,
    problem,
    send,
    sign,
    stringify,
    win,
)


def brl_player(amount: str = "100.00", **kw) -> str:
    return PlayerFactory(currencies=("BRL",), balance=amount, **kw)


# --- getBalance -------------------------------------------------------------------------


@pytest.mark.parametrize("field", ["player_id", "user_id"])
def test_get_balance_reads_either_player_field(client, field):
    player = brl_player("2050")
    answer = ok(client, "getBalance", {field: player, "currency": "BRL"})
    assert answer == {"balance": "2050.00", "user_id": player, "currency": "BRL"}


def test_get_balance_without_currency_uses_the_only_wallet(client):
    player = PlayerFactory(currencies=("JPY",), balance="500")
    assert ok(client, "getBalance", {"user_id": player})["balance"] == "500"


def test_get_balance_with_several_wallets_and_no_currency_is_ambiguous(client):
    player = PlayerFactory(currencies=("BRL", "USD"))
    assert problem(client, "getBalance", {"user_id": player}, 400)["code"] == "CURRENCY_AMBIGUOUS"


def test_default_currency_settles_the_ambiguity(app, client):
    player = PlayerFactory(currencies=("BRL", "USD"), balance="7")
    app.config["HYPETECH_DEFAULT_CURRENCY"] = "USD"
    try:
        answer = ok(client, "getBalance", {"user_id": player})
    finally:
        app.config["HYPETECH_DEFAULT_CURRENCY"] = None
    assert (answer["currency"], answer["balance"]) == ("USD", "7.00")


def test_get_balance_of_unknown_player_or_wallet_is_404(client):
    player = brl_player()
    assert problem(client, "getBalance", {"user_id": "nobody"}, 404)["code"] == "PLAYER_NOT_FOUND"
    missing = problem(client, "getBalance", {"user_id": player, "currency": "EUR"}, 404)
    assert missing["code"] == "WALLET_NOT_FOUND"


def test_get_balance_with_two_different_player_ids_is_refused(client):
    assert problem(client, "getBalance", {"user_id": "a", "player_id": "b"}, 400)


# --- register and rewards ---------------------------------------------------------------


def test_bet_debits_and_answers_as_the_document_shows(client):
    player = brl_player("2300")
    answer = ok(client, "register", bet("559", player, "200.00", currency="BRL"))
    assert answer == {
        "operator_tx_id": answer["operator_tx_id"],
        "new_balance": "2100.00",
        "old_balance": "2300.00",
        "user_id": player,
        "currency": "BRL",
        "provider": "hypetech",
        "provider_tx_id": "559",
    }
    assert answer["operator_tx_id"].isdigit()
    assert balance(player, "BRL") == Decimal("2100.00")


def test_amounts_as_json_numbers_stay_exact(client):
    player = brl_player("1.00")
    for tx, amount in (("1", "0.1"), ("2", "0.2")):
        body = b'{"user_id":"%s","amount":%s,"provider_tx_id":"%s"}' % (
            player.encode(),
            amount.encode(),
            tx.encode(),
        )
        ok(client, "register", body)
    assert balance(player, "BRL") == Decimal("0.70")


def test_win_credits_and_names_its_bet(client):
    player = brl_player("100")
    ok(client, "register", bet("559", player, "50"))
    answer = ok(client, "rewards", win("600", player, "120.50", linked_tx_id="559"))
    assert (answer["old_balance"], answer["new_balance"]) == ("50.00", "170.50")


def test_duplicate_bet_replays_the_first_answer_and_moves_no_money(client):
    player = brl_player("100")
    first = ok(client, "register", bet("559", player, "10"))
    deposit(player, Decimal("5"), "BRL")
    assert ok(client, "register", bet("559", player, "10.00")) == first
    assert balance(player, "BRL") == Decimal("95.00")


@pytest.mark.parametrize(
    ("route", "change"),
    [
        ("register", {"amount": "11"}),
        ("register", {"currency": "USD"}),
        ("register", {"user_id": "someone-else"}),
        ("rewards", {}),
    ],
)
def test_repeat_with_a_different_payload_is_409(client, route, change):
    player = PlayerFactory(currencies=("BRL", "USD"), balance="100")
    PlayerFactory(id="someone-else", currencies=("BRL",))
    ok(client, "register", bet("559", player, "10", currency="BRL"))
    answer = problem(client, route, {**bet("559", player, "10", currency="BRL"), **change}, 409)
    assert answer["code"] == "TRANSACTION_CONFLICT"
    assert balance(player, "BRL") == Decimal("90.00")


def test_insufficient_funds_is_402_with_the_balance_and_stays_declined(client):
    player = brl_player("5.00")
    answer = problem(client, "register", bet("1", player, "10"), 402)
    assert (answer["code"], answer["balance"]) == ("INSUFFICIENT_FUNDS", "5.00")
    ok(client, "rewards", win("2", player, "50"))
    assert problem(client, "register", bet("1", player, "10"), 402)["balance"] == "5.00"
    assert balance(player, "BRL") == Decimal("55.00")


def test_a_declined_bet_replayed_gets_the_first_problem_document_unchanged(client):
    """Found by the model-based test: the replay's ``detail`` spelled the stored amount
    (``10.000000000000000000``) where the first answer said ``10``."""
    player = brl_player("5.00")
    first = problem(client, "register", bet("1", player, "10"), 402)
    assert problem(client, "register", bet("1", player, "10"), 402) == first
    assert first["detail"] == "bet 10.00 BRL declined: insufficient_funds"


def test_blocked_player_cannot_bet_but_is_paid_wins(client):
    player = brl_player("20", blocked=True)
    assert problem(client, "register", bet("1", player, "5"), 403)["code"] == "PLAYER_BLOCKED"
    ok(client, "rewards", win("2", player, "7"))
    assert balance(player, "BRL") == Decimal("27.00")


def test_newer_fields_are_stored_with_the_transaction(client, engine):
    player = brl_player()
    extra = {"mode": "real", "bonus_code": "B1", "extra_data": {"odd": 1.5, "n": 2, "s": "a\x00"}}
    ok(client, "register", bet("559", player, "1", **extra))
    with engine.connect() as conn:
        query = select(provider_transactions.c.details).where(
            provider_transactions.c.provider == "hypetech"
        )
        details = conn.execute(query).scalar_one()
    assert details["mode"] == "real" and details["bonus_code"] == "B1"
    assert details["extra_data"] == {"odd": "1.5", "n": 2, "s": "a\ufffd"}
    assert details["game"] == "motograu" and "session_token" not in details


# --- rollback ---------------------------------------------------------------------------


def test_older_rollback_by_the_bets_own_id_refunds_it(client):
    player = brl_player("2500")
    ok(client, "register", bet("559", player, "550"))
    answer = ok(client, "rollback", old_rollback("559", player))
    assert answer == {"old_balance": "1950.00", "new_balance": "2500.00"}


def test_newer_rollback_by_linked_tx_id_refunds_the_bet(client):
    player = brl_player("100")
    ok(client, "register", bet("559", player, "30"))
    answer = ok(client, "rollback", new_rollback("r-1", "559", player, "30", currency="BRL"))
    assert answer == {"old_balance": "70.00", "new_balance": "100.00"}


def test_rolling_back_twice_in_either_form_refunds_once(client):
    player = brl_player("100")
    ok(client, "register", bet("559", player, "30"))
    first = ok(client, "rollback", old_rollback("559", player))
    assert ok(client, "rollback", old_rollback("559", player)) == first
    ok(client, "rollback", new_rollback("r-1", "559", player, "30"))
    ok(client, "rollback", new_rollback("r-1", "559", player, "30"))
    assert balance(player, "BRL") == Decimal("100.00")


def test_rollback_of_a_win_takes_it_back(client):
    player = brl_player("0")
    ok(client, "rewards", win("600", player, "40"))
    assert ok(client, "rollback", new_rollback("r-1", "600", player, "40"))["new_balance"] == "0.00"


def test_rollback_of_an_unknown_bet_is_a_tombstone_and_the_late_bet_moves_nothing(client):
    player = brl_player("100")
    assert ok(client, "rollback", old_rollback("559", player)) == {
        "old_balance": "100.00",
        "new_balance": "100.00",
    }
    late = problem(client, "register", bet("559", player, "30"), 409)
    assert late["code"] == "TRANSACTION_ROLLED_BACK"
    assert balance(player, "BRL") == Decimal("100.00")


def test_late_win_after_its_rollback_is_acknowledged_without_money(client):
    player = brl_player("100")
    ok(client, "rollback", new_rollback("r-1", "600", player, "30"))
    answer = ok(client, "rewards", win("600", player, "30"))
    assert answer["new_balance"] == answer["old_balance"] == "100.00"


def test_rollback_of_another_players_bet_is_409(client):
    player, other = brl_player("100"), brl_player("100")
    ok(client, "register", bet("559", player, "30"))
    assert problem(client, "rollback", old_rollback("559", other), 409)
    assert balance(player, "BRL") == Decimal("70.00")


def test_rollback_finds_the_currency_of_the_bet_it_reverses(client):
    player = PlayerFactory(currencies=("BRL", "USD"), balance="100")
    ok(client, "register", bet("559", player, "30", currency="USD"))
    ok(client, "rollback", old_rollback("559", player))
    assert balance(player, "USD") == Decimal("100.00")


def test_a_win_never_borrows_the_currency_of_another_players_bet(client):
    player = PlayerFactory(currencies=("BRL", "USD"), balance="100")
    other = PlayerFactory(currencies=("USD",), balance="100")
    ok(client, "register", bet("559", other, "30", currency="USD"))
    linked = win("600", player, "50", linked_tx_id="559")
    assert problem(client, "rewards", linked, 400)["code"] == "CURRENCY_AMBIGUOUS"
    assert (balance(player, "BRL"), balance(player, "USD")) == (Decimal(100), Decimal(100))


def test_a_win_takes_the_currency_of_the_players_own_bet(client):
    player = PlayerFactory(currencies=("BRL", "USD"), balance="100")
    ok(client, "register", bet("559", player, "30", currency="USD"))
    answer = ok(client, "rewards", win("600", player, "50", linked_tx_id="559"))
    assert (answer["currency"], answer["new_balance"]) == ("USD", "120.00")


def test_rollback_id_too_long_for_the_older_form_is_400(client):
    player = brl_player()
    assert problem(client, "rollback", old_rollback("x" * 120, player), 400)


# --- errors -----------------------------------------------------------------------------


BAD_BODIES = [b"not json", b"[1]", b"{", b"\xff\xfe", b'{"a": NaN}', b"[" * 30000 + b"]" * 30000]


@pytest.mark.parametrize("body", BAD_BODIES, ids=range(len(BAD_BODIES)))
def test_malformed_bodies_are_400(client, body):
    assert problem(client, "register", body, 400)["code"] == "INVALID_REQUEST"


@pytest.mark.parametrize(
    "change",
    [
        {"provider_tx_id": None},
        {"provider_tx_id": ""},
        {"provider_tx_id": "a\x00b"},
        {"user_id": ["x"]},
        {"amount": "-1"},
        {"amount": "1.001"},
        {"amount": "1e3"},
        {"amount": True},
        {"amount": None},
        {"amount": 10**30},
        {"currency": "XYZ"},
        {"currency": 986},
    ],
)
def test_malformed_fields_are_400_and_move_nothing(client, change):
    player = brl_player()
    answer = problem(client, "register", {**bet("1", player, "1"), **change}, 400)
    assert answer["code"] in {"INVALID_REQUEST", "INVALID_AMOUNT", "UNKNOWN_CURRENCY"}
    assert balance(player, "BRL") == Decimal("100.00")


def test_missing_fields_are_400(client):
    for field in ("user_id", "amount", "provider_tx_id"):
        payload = bet("1", "p", "1")
        del payload[field]
        assert "detail" in problem(client, "register", payload, 400)


def test_wrong_content_type_and_oversized_body_are_400(client):
    player = brl_player()
    body = stringify(bet("1", player, "1"))
    response = send(client, "register", body, **{"Content-Type": "text/plain"})
    assert response.status_code == 400
    big = stringify({**bet("2", player, "1"), "pad": "x" * 100_000})
    assert problem(client, "register", big, 400)["code"] == "BODY_TOO_LARGE"
    assert balance(player, "BRL") == Decimal("100.00")


def test_unexpected_failure_is_a_500_problem_without_a_traceback(client, monkeypatch):
    from app.providers import base

    def broken(*args):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(base, "run_in_request", broken)
    answer = problem(client, "getBalance", {"user_id": "p"}, 500)
    assert answer["code"] == "INTERNAL_ERROR" and "secret internals" not in str(answer)


def test_database_outage_is_503_and_the_retry_succeeds(app, client):
    from app.db import Database, make_engine

    player = brl_player()
    database = app.extensions["wallet.db"]
    broken = make_engine("postgresql://nobody@127.0.0.1:1/none")
    app.extensions["wallet.db"] = Database(broken)
    try:
        answer = problem(client, "register", bet("1", player, "1"), 503)
    finally:
        app.extensions["wallet.db"] = database
        broken.dispose()
    assert answer["code"] == "SERVICE_UNAVAILABLE"
    assert ok(client, "register", bet("1", player, "1"))["new_balance"] == "99.00"


def test_paths_come_from_the_settings(settings, engine):
    custom = create_app({**settings, "HYPETECH_PATH_REGISTER": "/cb/bet"})
    try:
        player = brl_player()
        body = stringify(bet("1", player, "1"))
        url = settings["HYPETECH_WEBHOOK_BASE_URL"] + "/cb/bet"
        response = custom.test_client().post(
            "/cb/bet",
            data=body,
            headers={"Content-Type": "application/json", "Hype-Hash": sign(url, body)},
        )
        assert response.status_code == 200, response.data
        assert custom.test_client().post("/hypetech/register", data=body).status_code == 404
    finally:
        close_app(custom)


# --- concurrency ------------------------------------------------------------------------


def test_the_same_bet_twenty_times_at_once_applies_once(app):
    player = brl_player("100")
    barrier = threading.Barrier(20)
    answers: list[tuple[int, bytes]] = []

    def place() -> None:
        client = app.test_client()
        barrier.wait()
        response = send(client, "register", bet("559", player, "10"))
        answers.append((response.status_code, response.get_json()))

    threads = [threading.Thread(target=place) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(answers) == 20
    assert all(answer == answers[0] for answer in answers)
    assert answers[0][0] == 200
    assert balance(player, "BRL") == Decimal("90.00")


# --- settings ---------------------------------------------------------------------------


def test_hypetech_settings_are_validated_at_start_up():
    from app.config import ConfigError, load_config

    with pytest.raises(ConfigError) as refused:
        load_config(
            {
                "HYPETECH_PATH_REGISTER": "hypetech/register",
                "HYPETECH_PATH_ROLLBACK": "/hypetech/rewards",
                "HYPETECH_DEFAULT_CURRENCY": "XYZ",
                "HYPETECH_WEBHOOK_BASE_URL": "wallet.example.com",
            }
        )
    problems = str(refused.value).splitlines()
    assert len(problems) == 4
    assert load_config({"HYPETECH_DEFAULT_CURRENCY": "brl"})["HYPETECH_DEFAULT_CURRENCY"] == "BRL"
