"""Limits hold under concurrency: the check and the period total share the bet's row lock."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest

from app.core import wallet
from tests.factories import PlayerFactory, balance, run_committed
from tests.igpx_helpers import bet
from tests.protection_helpers import money_request, set_limit, show
from tests.test_concurrency import send_all


@pytest.mark.slow
def test_forty_bets_at_once_against_a_loss_limit_for_nineteen_accept_nineteen(live_server):
    player = PlayerFactory(balance="100.00")
    set_limit(player, "loss 19/day")

    answers = send_all(live_server, [("transaction", bet(f"b{i}", player, "1")) for i in range(40)])

    assert sum(answer["error"] is None for answer in answers) == 19
    assert {a["error"] for a in answers if a["error"]} == {"LIMIT_EXCEEDED"}
    assert balance(player) == Decimal("81.00")
    assert show(player)["loss/day"].used == Decimal("19")


def test_twenty_bets_on_twenty_connections_against_a_wager_limit_accept_nine(engine):
    player = PlayerFactory(balance="100.00")
    set_limit(player, "wager 9/week")
    barrier = threading.Barrier(20)

    def place(i: int) -> wallet.Outcome:
        request = money_request(wallet.Kind.BET, f"b{i}", player, "1")
        barrier.wait()
        outcome: wallet.Outcome = run_committed(wallet.execute, request)
        return outcome

    with ThreadPoolExecutor(max_workers=20) as pool:
        outcomes = list(pool.map(place, range(20)))

    assert sum(not outcome.declined for outcome in outcomes) == 9
    assert {o.reason for o in outcomes if o.declined} == {wallet.Reason.LIMIT_EXCEEDED}
    assert show(player)["wager/week"].used == Decimal("9")
