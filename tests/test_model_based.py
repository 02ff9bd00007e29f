"""Model-based test: random sequences across IGPX, Hypetech and Upside over HTTP, checked
step by step against the in-memory reference model (``tests/reference_model.py``).

After every step each player's balance in every currency and the Upside pool equal the
model, and ``ledger.verify`` is ok. Runs are seeded and replayable: the seed is printed
(``WALLET_MODEL_SEED=<n>`` replays it), a failure prints the steps and a
``@reproduce_failure`` blob, and hypothesis' example database (``.hypothesis/``) replays
the last failure first. ``WALLET_MODEL_EXAMPLES`` / ``WALLET_MODEL_STEPS`` raise the
strength (``make soak``).
"""

from __future__ import annotations

import json
import os
import random
from decimal import Decimal
from typing import Any

from click.testing import CliRunner
from flask.cli import ScriptInfo
from hypothesis import HealthCheck, seed, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test
from sqlalchemy import text

from app.cli.main import cli
from app.core import ledger, wallet
from app.db import UnitOfWork
from app.providers.upside import games
from tests import hypetech_helpers as hypetech
from tests import igpx_helpers as igpx
from tests import reference_model as model
from tests import upside_helpers as upside
from tests.conftest import TABLES
from tests.factories import PlayerFactory

EXAMPLES = int(os.environ.get("WALLET_MODEL_EXAMPLES", "8"))
STEPS = int(os.environ.get("WALLET_MODEL_STEPS", "20"))
PLAYERS = ("p1", "p2", "p3")
OPENING = Decimal("50")
CURRENCY = {"igpx": "USD", "hypetech": "BRL"}
AMOUNTS = st.sampled_from(["0.01", "1", "2.50", "5", "10", "12.34", "20", "35", "60"])
STAKES = st.sampled_from([1, 5, 10, 20, 40, 60]).map(lambda n: n * upside.WIN)
MULTIPLIER = 2
POOL_WIN = 100
CHECKED = {"examples": 0, "checks": 0}  # machines built; balance/pool/ledger checks passed


class WalletMachine(RuleBasedStateMachine):
    """Each example starts from empty tables, three players with 50 USD, 50 BRL and
    50 WIN each, one Upside game (×2) with a 100 WIN pool, and one worker key."""

    def __init__(self, app: Any, engine: Any) -> None:
        super().__init__()
        self.client, self.engine, self.app = app.test_client(), engine, app
        with engine.begin() as conn:
            conn.execute(text(f"TRUNCATE {TABLES} RESTART IDENTITY CASCADE"))
        for player in PLAYERS:
            PlayerFactory(id=player, currencies=("USD", "BRL", "WIN"), balance=OPENING)
        upside.make_game(multiplier=str(MULTIPLIER), pool_win=POOL_WIN)
        self.worker = upside.make_key()
        self.jwts = {player: upside.token(player) for player in PLAYERS}
        balances = {(p, c): OPENING for p in PLAYERS for c in ("USD", "BRL", "WIN")}
        self.model = model.Model(balances, POOL_WIN * upside.WIN, MULTIPLIER)
        self.sent: list[tuple[str, str, dict[str, Any], Any]] = []  # provider, route, body, answer
        self.pending_originals: list[tuple[str, str, str]] = []  # provider, id, player
        self.counter = 0
        CHECKED["examples"] += 1

    def wallet_cli(self, *args: str) -> None:
        result = CliRunner().invoke(cli, list(args), obj=ScriptInfo(create_app=lambda: self.app))
        assert result.exit_code == 0, result.output

    def fresh(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}{self.counter}"

    # --- sending, in each provider's shape --------------------------------------------

    def send(self, provider: str, route: str, body: dict[str, Any]) -> Any:
        """(status, JSON) of a signed request."""
        if provider == "igpx":
            raw = igpx.body_of(body)
            headers = {"Content-Type": "application/json", "X-Security-Hash": igpx.sign(raw)}
            response = self.client.post(f"/igpx/{route}", data=raw, headers=headers)
        else:
            response = hypetech.send(self.client, route, body)
        return response.status_code, response.get_json()

    def money(self, provider: str, route: str, body: dict[str, Any], tx: model.Tx | None) -> Any:
        answer = self.send(provider, route, body)
        check_answer(provider, answer, tx, self.model)
        if tx is not None:
            self.sent.append((provider, route, body, answer))
        return answer

    def bet_body(self, provider: str, tx_id: str, player: str, amount: str) -> tuple[str, dict]:
        if provider == "igpx":
            return "transaction", igpx.bet(tx_id, player, amount, "USD")
        return "register", hypetech.bet(tx_id, player, amount, currency="BRL")

    def win_body(self, provider: str, tx_id: str, player: str, amount: str) -> tuple[str, dict]:
        if provider == "igpx":
            return "transaction", igpx.result(tx_id, player, amount, "USD")
        return "rewards", hypetech.win(tx_id, player, amount, currency="BRL")

    def rollback_body(
        self, provider: str, tx_id: str, original: str, player: str, amount: str
    ) -> tuple[str, dict]:
        if provider == "igpx":
            return "transaction-rollback", igpx.rollback(tx_id, original, player, amount, "USD")
        return "rollback", hypetech.new_rollback(tx_id, original, player, amount, currency="BRL")

    # --- IGPX and Hypetech ------------------------------------------------------------

    @rule(
        provider=st.sampled_from(["igpx", "hypetech"]),
        player=st.sampled_from(PLAYERS),
        amount=AMOUNTS,
    )
    def bet(self, provider: str, player: str, amount: str) -> None:
        tx_id = self.fresh("b")
        tx = self.model.bet(provider, tx_id, player, CURRENCY[provider], Decimal(amount))
        self.money(provider, *self.bet_body(provider, tx_id, player, amount), tx)

    @rule(
        provider=st.sampled_from(["igpx", "hypetech"]),
        player=st.sampled_from(PLAYERS),
        amount=AMOUNTS,
    )
    def win(self, provider: str, player: str, amount: str) -> None:
        tx_id = self.fresh("w")
        tx = self.model.win(provider, tx_id, player, CURRENCY[provider], Decimal(amount))
        self.money(provider, *self.win_body(provider, tx_id, player, amount), tx)

    @rule(data=st.data())
    def rollback_of_a_known_transaction(self, data: st.DataObject) -> None:
        """Of a bet, a win, a declined bet, a rollback or an already rolled-back original."""
        known = [(p, i) for (p, i) in self.model.txs if p != "upside"]
        if not known:
            return
        provider, original = data.draw(st.sampled_from(known))
        tx = self.model.txs[(provider, original)]
        self.rollback(provider, original, tx.player, str(tx.amount))

    @rule(provider=st.sampled_from(["igpx", "hypetech"]), player=st.sampled_from(PLAYERS))
    def rollback_before_its_original(self, provider: str, player: str) -> None:
        original = self.fresh("late")
        self.rollback(provider, original, player, "5")
        self.pending_originals.append((provider, original, player))

    @rule(data=st.data(), as_bet=st.booleans())
    def original_after_its_rollback(self, data: st.DataObject, as_bet: bool) -> None:
        if not self.pending_originals:
            return
        provider, tx_id, player = data.draw(st.sampled_from(self.pending_originals))
        self.pending_originals.remove((provider, tx_id, player))
        currency = CURRENCY[provider]
        if as_bet:
            tx = self.model.bet(provider, tx_id, player, currency, Decimal(5))
            self.money(provider, *self.bet_body(provider, tx_id, player, "5"), tx)
        else:
            tx = self.model.win(provider, tx_id, player, currency, Decimal(5))
            self.money(provider, *self.win_body(provider, tx_id, player, "5"), tx)

    @rule(data=st.data(), other=st.sampled_from(PLAYERS))
    def rollback_naming_another_players_transaction(self, data: st.DataObject, other: str) -> None:
        known = [
            (p, i) for (p, i), tx in self.model.txs.items() if p != "upside" and tx.player != other
        ]
        if not known:
            return
        provider, original = data.draw(st.sampled_from(known))
        self.rollback(provider, original, other, "1")

    @rule(data=st.data())
    def hypetech_rollback_in_the_older_shape(self, data: st.DataObject) -> None:
        """``{user_id, provider_tx_id: <the bet's id>}``: keyed ``rollback:<bet id>``."""
        known = [
            i for (p, i), tx in self.model.txs.items() if p == "hypetech" and tx.kind != "rollback"
        ]
        if not known:
            return
        original = data.draw(st.sampled_from(known))
        if ("hypetech", f"rollback:{original}") in self.model.txs:
            return  # sending it again is a replay: the replay rules' business
        player = self.model.txs[("hypetech", original)].player
        tx = self.model.rollback(
            "hypetech", f"rollback:{original}", original, player, "BRL", Decimal(0)
        )
        body = {**hypetech.old_rollback(original, player), "currency": "BRL"}
        self.money("hypetech", "rollback", body, tx)

    def rollback(self, provider: str, original: str, player: str, amount: str) -> None:
        tx_id = self.fresh("rb")
        tx = self.model.rollback(
            provider, tx_id, original, player, CURRENCY[provider], Decimal(amount)
        )
        self.money(provider, *self.rollback_body(provider, tx_id, original, player, amount), tx)

    @rule(data=st.data(), as_number=st.booleans())
    def same_payload_replay(self, data: st.DataObject, as_number: bool) -> None:
        """The same request again (the amount as a JSON number or with trailing zeros:
        equal as numbers): the first answer, byte for byte in meaning, and no money."""
        if not self.sent:
            return
        provider, route, body, first = data.draw(st.sampled_from(self.sent))
        again = dict(body)
        if "amount" in again:
            again["amount"] = (
                float(again["amount"]) if as_number else f"{Decimal(again['amount']):.4f}"
            )
            if as_number and Decimal(str(again["amount"])) != Decimal(body["amount"]):
                again["amount"] = body["amount"]
        assert self.send(provider, route, again) == first

    @rule(data=st.data())
    def conflicting_replay(self, data: st.DataObject) -> None:
        candidates = [s for s in self.sent if "amount" in s[2]]
        if not candidates:
            return
        provider, route, body, _ = data.draw(st.sampled_from(candidates))
        changed = {**body, "amount": str(Decimal(body["amount"] or 0) + 1)}
        check_answer(provider, self.send(provider, route, changed), None, self.model)

    # --- the cashier and the back office (CLI) ----------------------------------------

    @rule(player=st.sampled_from(PLAYERS), currency=st.sampled_from(["USD", "BRL"]), amount=AMOUNTS)
    def deposit(self, player: str, currency: str, amount: str) -> None:
        reference = self.fresh("dep")
        self.wallet_cli("deposit", player, amount, currency, "--reference", reference)
        self.model.deposit(player, currency, Decimal(amount))

    @rule(player=st.sampled_from(PLAYERS), blocked=st.booleans())
    def block_or_unblock(self, player: str, blocked: bool) -> None:
        self.wallet_cli("players", "block" if blocked else "unblock", player)
        (self.model.blocked.add if blocked else self.model.blocked.discard)(player)

    # --- Upside --------------------------------------------------------------------------

    def upside(self, player: str, payload: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """Every body differs (``gameData``), so no two are one signed request replayed."""
        payload = {**payload, "gameData": {"step": self.fresh("")}}
        response = upside.send(self.client, self.worker, self.jwts[player], payload)
        return response.status_code, response.get_json()

    @rule(player=st.sampled_from(PLAYERS), stake=STAKES, reuse=st.booleans(), data=st.data())
    def upside_place_bet(self, player: str, stake: int, reuse: bool, data: st.DataObject) -> None:
        sessions = list(self.model.sessions)
        session_id = data.draw(st.sampled_from(sessions)) if reuse and sessions else self.fresh("s")
        expected = self.model.place_bet(session_id, player, stake)
        status, answer = self.upside(player, upside.bet(session_id, stake))
        check_upside(expected, status, answer)
        if expected == "ok":
            assert int(answer["userBalance"]) == _atomic(self.model.balance(player, "WIN"))

    @rule(data=st.data(), quarters=st.integers(0, 9), known=st.booleans(), stranger=st.booleans())
    def upside_process_payout(
        self, data: st.DataObject, quarters: int, known: bool, stranger: bool
    ) -> None:
        """A payout of 0–2.25 × the stake (above 2 × is refused) of a known or unknown
        session, sent by its own player or by a random one."""
        if known and self.model.sessions:
            session_id = data.draw(st.sampled_from(list(self.model.sessions)))
            owner, stake = (
                self.model.sessions[session_id].player,
                self.model.sessions[session_id].stake,
            )
        else:
            session_id, owner, stake = self.fresh("unknown-s"), "p1", upside.WIN
        player = data.draw(st.sampled_from(PLAYERS)) if stranger else owner
        amount = stake * quarters // 4
        expected = self.model.payout(session_id, player, amount)
        status, answer = self.upside(player, upside.payout(session_id, amount))
        check_upside(expected, status, answer)

    @rule(win=st.sampled_from([1, 50, 200]))
    def fund_the_pool(self, win: int) -> None:
        self.wallet_cli("upside", "pool", "fund", upside.GAME, str(win))
        self.model.pool += win * upside.WIN

    # --- after every step ---------------------------------------------------------------

    @invariant()
    def balances_and_pool_equal_the_model_and_the_ledger_verifies(self) -> None:
        with UnitOfWork(self.engine) as uow:
            for player in PLAYERS:
                found = wallet.balances(uow.conn, player)
                expected = {c: self.model.balance(player, c) for c in ("USD", "BRL", "WIN")}
                assert found == expected, (player, found, expected)
            pool = games.pool_balance(uow.conn, games.find(uow.conn, upside.GAME))
            assert pool == self.model.pool
            result = ledger.verify(uow.conn)
        assert result.ok, result
        CHECKED["checks"] += 1


# --- what each answer must be -------------------------------------------------------------

IGPX_DECLINES = {
    model.INSUFFICIENT_FUNDS: "INSUFFICIENT_FUNDS",
    model.PLAYER_BLOCKED: "USER_BLOCKED",
    model.ROLLED_BACK: "TRANSACTION_ROLLED_BACK",
}
HYPETECH_DECLINES = {
    model.INSUFFICIENT_FUNDS: 402,
    model.PLAYER_BLOCKED: 403,
    model.ROLLED_BACK: 409,
}


def check_answer(provider: str, answer: Any, tx: model.Tx | None, reference: model.Model) -> None:
    """``tx`` None: the request must be refused as a conflict."""
    status, body = answer
    if provider == "igpx":
        assert status == 200
        if tx is None:
            assert body == {"error": "TRANSACTION_CONFLICT"}
        elif tx.status == model.DECLINED:
            assert body == {"error": IGPX_DECLINES[tx.reason or ""]}
        else:
            assert body["error"] is None and body["transaction_id"]
        return
    if tx is None:
        assert (status, body["code"]) == (409, "TRANSACTION_CONFLICT"), body
    elif tx.status == model.DECLINED:
        assert status == HYPETECH_DECLINES[tx.reason or ""], body
    else:
        assert status == 200, body
        assert Decimal(body["new_balance"]) == reference.balance(tx.player, tx.currency)


def check_upside(expected: str, status: int, answer: dict[str, Any]) -> None:
    if expected == "ok":
        assert (status, answer["success"]) == (200, True), answer
    else:
        assert answer["error"]["code"] == expected, (expected, status, answer)


def _atomic(win: Decimal) -> int:
    return int(win * 10**18)


def test_the_wallet_behaves_like_its_model_across_all_providers(app, engine):
    chosen = int(os.environ.get("WALLET_MODEL_SEED") or random.SystemRandom().randrange(2**32))
    print(f"model-based test seed: WALLET_MODEL_SEED={chosen}")
    config = settings(
        max_examples=EXAMPLES,
        stateful_step_count=STEPS,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        print_blob=True,
    )
    run_state_machine_as_test(seed(chosen)(lambda: WalletMachine(app, engine)), settings=config)
    line = {"run": "model-based", "seed": chosen, "max_examples": EXAMPLES, "max_steps": STEPS}
    line |= CHECKED
    print(json.dumps(line))
    if os.environ.get("RELIABILITY_REPORT"):
        with open(os.environ["RELIABILITY_REPORT"], "a") as out:
            out.write(json.dumps(line) + "\n")
