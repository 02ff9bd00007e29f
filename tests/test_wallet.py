"""The provider-neutral wallet core, read as worked examples of a player's money."""

from decimal import Decimal

import pytest
from sqlalchemy import func, select

from app.core import wallet
from app.core.models import journal_transactions, postings, provider_transactions
from app.errors import CurrencyNotEnabled, TransactionConflict, UnknownPlayer
from tests.factories import PlayerFactory, balance, run_committed

pytestmark = pytest.mark.usefixtures("engine")
Kind, Status, Reason = wallet.Kind, wallet.Status, wallet.Reason


def request(kind, tx, player, amount, reference=None, currency="USD", provider="test"):
    return wallet.Request(
        provider=provider,
        external_id=tx,
        kind=kind,
        player_id=player,
        currency=currency,
        amount=Decimal(amount),
        reference_id=reference,
    )


def run(req):
    return run_committed(wallet.execute, req)


def count(table):
    return run_committed(
        lambda conn: conn.execute(select(func.count()).select_from(table)).scalar_one()
    )


def test_bet_moves_the_stake_to_the_providers_house_account():
    player = PlayerFactory(balance="100")
    outcome = run(request(Kind.BET, "b1", player, "30"))
    assert (outcome.status, outcome.balance_before, outcome.balance_after) == (
        Status.APPLIED,
        Decimal("100"),
        Decimal("70"),
    )
    legs = run_committed(
        lambda c: c.execute(select(postings.c.amount).order_by(postings.c.id)).scalars().all()
    )
    assert legs[-2:] == [Decimal("-30"), Decimal("30")]


def test_win_credits_even_a_blocked_player():
    player = PlayerFactory(balance="0", blocked=True)
    assert run(request(Kind.WIN, "w1", player, "12.5")).status is Status.APPLIED
    assert balance(player) == Decimal("12.5")


def test_bet_is_declined_for_a_blocked_player_and_recorded():
    player = PlayerFactory(balance="100", blocked=True)
    outcome = run(request(Kind.BET, "b1", player, "1"))
    assert (outcome.status, outcome.reason) == (Status.DECLINED, Reason.PLAYER_BLOCKED)
    assert run(request(Kind.BET, "b1", player, "1")).replayed


def test_declined_bet_stays_declined_when_funds_arrive_later():
    player = PlayerFactory(balance="5")
    assert run(request(Kind.BET, "b1", player, "10")).reason is Reason.INSUFFICIENT_FUNDS
    run(request(Kind.WIN, "w1", player, "100"))
    again = run(request(Kind.BET, "b1", player, "10"))
    assert (again.status, again.replayed) == (Status.DECLINED, True)
    assert balance(player) == Decimal("105")


def test_replay_reports_the_balances_of_the_first_answer():
    player = PlayerFactory(balance="100")
    first = run(request(Kind.BET, "b1", player, "10"))
    run(request(Kind.BET, "b2", player, "10"))
    replay = run(request(Kind.BET, "b1", player, "10.000"))
    assert (replay.transaction_id, replay.balance_before, replay.balance_after) == (
        first.transaction_id,
        Decimal("100"),
        Decimal("90"),
    )
    assert balance(player) == Decimal("80")


def test_same_id_from_another_provider_is_another_transaction():
    player = PlayerFactory(balance="100")
    run(request(Kind.BET, "b1", player, "10", provider="one"))
    run(request(Kind.BET, "b1", player, "10", provider="two"))
    assert balance(player) == Decimal("80")


def test_conflicting_replay_raises_and_records_nothing():
    player = PlayerFactory(balance="100")
    run(request(Kind.BET, "b1", player, "10"))
    before = count(provider_transactions)
    with pytest.raises(TransactionConflict):
        run(request(Kind.BET, "b1", player, "10.01"))
    assert count(provider_transactions) == before


def test_rollback_of_a_bet_then_a_second_rollback_moves_money_once():
    player = PlayerFactory(balance="100")
    run(request(Kind.BET, "b1", player, "40"))
    assert run(request(Kind.ROLLBACK, "r1", player, "40", "b1")).status is Status.APPLIED
    second = run(request(Kind.ROLLBACK, "r2", player, "40", "b1"))
    assert (second.status, second.reason) == (Status.NOOP, Reason.ALREADY_ROLLED_BACK)
    assert balance(player) == Decimal("100")


def test_rollback_of_a_rollback_reverses_nothing():
    player = PlayerFactory(balance="100")
    run(request(Kind.BET, "b1", player, "40"))
    run(request(Kind.ROLLBACK, "r1", player, "40", "b1"))
    outcome = run(request(Kind.ROLLBACK, "r2", player, "40", "r1"))
    assert (outcome.status, outcome.reason) == (Status.NOOP, Reason.NOTHING_TO_REVERSE)
    assert balance(player) == Decimal("100")


def test_tombstone_then_late_bet_and_late_win_move_nothing():
    player = PlayerFactory(balance="100")
    assert run(request(Kind.ROLLBACK, "r1", player, "40", "b1")).status is Status.TOMBSTONE
    late_bet = run(request(Kind.BET, "b1", player, "40"))
    assert (late_bet.status, late_bet.reason) == (Status.DECLINED, Reason.CANCELLED)
    run(request(Kind.ROLLBACK, "r2", player, "40", "w1"))
    assert run(request(Kind.WIN, "w1", player, "40")).status is Status.CANCELLED
    assert balance(player) == Decimal("100")


def test_zero_amounts_are_recorded_without_a_journal_transaction():
    player = PlayerFactory(balance="10")
    journals = count(journal_transactions)
    assert run(request(Kind.WIN, "w0", player, "0")).status is Status.APPLIED
    assert run(request(Kind.BET, "b0", player, "0")).status is Status.APPLIED
    assert run(request(Kind.ROLLBACK, "r0", player, "0", "w0")).status is Status.APPLIED
    assert count(journal_transactions) == journals


def test_unknown_player_and_missing_currency_are_errors_that_record_nothing():
    player = PlayerFactory(balance="10")
    with pytest.raises(UnknownPlayer):
        run(request(Kind.BET, "b1", "ghost", "1"))
    with pytest.raises(CurrencyNotEnabled):
        run(request(Kind.BET, "b1", player, "1", currency="EUR"))
    assert count(provider_transactions) == 1  # the factory's deposit


def test_withdrawal_never_takes_a_balance_below_zero():
    player = PlayerFactory(balance="10")
    req = wallet.Request(
        provider=wallet.CASHIER,
        external_id="w",
        kind=Kind.WITHDRAWAL,
        player_id=player,
        currency="USD",
        amount=Decimal("10.01"),
        counterparty=wallet.CASHIER,
    )
    assert run(req).reason is Reason.INSUFFICIENT_FUNDS
    assert balance(player) == Decimal("10")


def test_eighteen_decimal_amounts_stay_exact():
    player = PlayerFactory(balance="0", currencies=("WIN",))
    atoms = Decimal(2**70) / Decimal(10**18)  # above 2**64 atomic units
    run(request(Kind.WIN, "w1", player, atoms, currency="WIN"))
    run(request(Kind.BET, "b1", player, "0.000000000000000001", currency="WIN"))
    assert balance(player, "WIN") == atoms - Decimal("0.000000000000000001")


def test_balances_of_an_unknown_player_is_an_error():
    with pytest.raises(UnknownPlayer):
        run_committed(wallet.balances, "ghost")


def test_rollback_lookups_use_their_partial_index_even_with_a_generic_plan(engine):
    """A bound ``kind`` would hide the partial index from a generic plan and make every
    bet read all of its provider's rows; the hot-path SQL writes the literal instead.

    The bet's tombstone check runs inside ``wallet_transfer`` and the rollback's "already
    reversed" check inside ``wallet_rollback``: auto_explain sends the plans of the
    functions' own statements back as notices."""
    player = PlayerFactory(balance="10")
    params = {
        "provider": "igpx",
        "external_id": "b1",
        "kind": "bet",
        "player_id": player,
        "currency": "USD",
        "amount": "1",
        "reference_id": None,
        "counterparty": "house:igpx",
        "details": None,
    }
    with engine.begin() as conn:
        driver = conn.connection.driver_connection
        notices: list[str] = []
        driver.add_notice_handler(lambda diag: notices.append(diag.message_primary or ""))
        conn.exec_driver_sql("LOAD 'auto_explain'")
        for setting in (
            "plan_cache_mode = force_generic_plan",
            "enable_seqscan = off",
            "auto_explain.log_min_duration = 0",
            "auto_explain.log_nested_statements = on",
            "auto_explain.log_level = notice",
            "client_min_messages = notice",
        ):
            conn.exec_driver_sql(f"SET LOCAL {setting}")
        with driver.cursor() as cursor:
            cursor.execute(wallet._TRANSFER, params)
            rollback = {**params, "external_id": "rb1", "reference_id": "b1"}
            cursor.execute(wallet._ROLLBACK, rollback)
    tombstone = [n for n in notices if "r.account_id = acct.id" in n]
    assert tombstone, notices
    assert "ix_provider_transactions_reference" in tombstone[0]
    reversed_check = [n for n in notices if "r.status = 'applied'" in n]
    assert reversed_check, notices
    assert "uq_provider_transactions_one_reversal" in reversed_check[0]
