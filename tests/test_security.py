"""Security checks: no credential in any log line or error body, constant-time signature
comparison, no entry without a configured secret, credentials scoped to their provider."""

from __future__ import annotations

import ast
import hmac
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import select

from app import create_app
from app.web import outcomes
from app.web.callbacks import callbacks as audit_table
from tests import hypetech_helpers as hype
from tests import igpx_helpers as igpx
from tests import upside_helpers as up
from tests.conftest import HYPETECH_SECRET, IGPX_SECRET, UPSIDE_JWT_SECRET
from tests.factories import PlayerFactory, close_app, flush_audit, run_committed
from tests.hostile_helpers import books

APP = Path(__file__).resolve().parent.parent / "app"
BEARER = "Bearer never-log-this-bearer-token"


def _scenario(client: Any, runner: Any) -> tuple[list[str], list[str]]:
    """Traffic on all three providers and the CLI; returns (secrets used, answer bodies)."""
    player = PlayerFactory(currencies=("USD", "BRL"), balance=Decimal(100))
    answers: list[str] = []
    auth = {"Authorization": BEARER}

    igpx_bodies = [igpx.bet("s1", player, "5.00"), igpx.result("s2", player, "7.00")]
    igpx_bodies.append(igpx.rollback("s3", "s1", player, "5.00"))
    for payload in igpx_bodies:
        path = "transaction-rollback" if payload["action"] == "rollback" else "transaction"
        answers.append(json.dumps(igpx.post(client, path, payload, **auth)))
    forged = client.post("/igpx/transaction", data=b"{}", headers={"X-Security-Hash": "ab" * 32})
    answers.append(forged.get_data(as_text=True))

    hype_payloads = [
        ("register", hype.bet("h1", player, "3", currency="BRL")),
        ("rewards", hype.win("h2", player, "4", currency="BRL", linked_tx_id="h1")),
        ("rollback", hype.new_rollback("h3", "h2", player, "4")),
        ("getBalance", {"user_id": player, "currency": "BRL"}),
    ]
    for route, payload in hype_payloads:
        answers.append(hype.send(client, route, payload, **auth).get_data(as_text=True))
    answers.append(
        client.post("/hypetech/register", data=b"{}", headers={"Hype-Hash": "00"}).get_data(
            as_text=True
        )
    )

    up.make_game()
    key = json.loads(runner(["upside", "keys", "create", "--game", up.GAME, "--json"]).output)
    worker = up.Worker(key["key"], key["secret"], key["passphrase"])
    PlayerFactory(id="winner", currencies=("WIN",), balance=Decimal(50))
    jwt = runner(["upside", "token", "winner"]).output.strip()
    bet = up.act(client, worker, jwt, up.bet("sess-1"))
    answers.append(json.dumps(bet))
    answers.append(json.dumps(up.act(client, worker, jwt, up.payout("sess-1", 2 * up.WIN))))
    wrong = up.Worker(worker.key, worker.secret, "wrong-passphrase")
    answers.append(up.send(client, wrong, jwt, {"trigger": "checkAuth"}).get_data(as_text=True))
    forged_jwt = jwt[:-4] + "AAAA"
    answers.append(up.send(client, worker, forged_jwt, {"trigger": "checkAuth"}).get_data(True))

    for command in (["callbacks", "list", "--json"], ["callbacks", "show", "1", "--json"]):
        answers.append(runner(command).output)

    secrets = [IGPX_SECRET, HYPETECH_SECRET, UPSIDE_JWT_SECRET, BEARER, "never-log-this"]
    secrets += [worker.secret, worker.passphrase, jwt, forged_jwt]
    secrets += [igpx.sign(igpx.body_of(p)) for p in igpx_bodies]
    secrets += [hype.sign(hype.url_of(r), hype.stringify(p)) for r, p in hype_payloads]
    return secrets, answers


def test_no_credential_appears_in_any_log_line_or_answer(client, runner, captured_logs):
    secrets, answers = _scenario(client, runner)
    lines = captured_logs.getvalue().splitlines()
    assert len(lines) > 10
    for line in lines:
        json.loads(line)  # one JSON object per line
    shown = "\n".join(lines + answers[:-2])  # the CLI's callback dump is checked below
    leaked = [secret for secret in secrets if secret in shown]
    assert leaked == []
    audit = "\n".join(answers[-2:])
    assert [s for s in secrets if s in audit] == []


def test_every_stored_outcome_is_the_code_answered_in_lower_case(client, runner):
    """The outcome is settled once per callback (``app.web.outcomes``), reading an answer
    only when the adapter bound no code: on every route, the stored outcome is the code
    answered in lower case, or the wallet's own word for a decline."""
    _scenario(client, runner)
    PlayerFactory(id="poor", currencies=("USD", "BRL"), balance=Decimal(1))
    assert igpx.post(client, "transaction", igpx.bet("d1", "poor", "5.00"))["error"]
    assert hype.send(client, "register", hype.bet("d2", "poor", "5", currency="BRL")).status_code
    flush_audit()
    query = select(audit_table.c.provider, audit_table.c.answer, audit_table.c.outcome)
    rows = run_committed(lambda conn: conn.execute(query).all())
    coded = [(p, outcomes.error_code(answer), outcome) for p, answer, outcome in rows]
    coded = [row for row in coded if row[1]]
    declines = {"insufficient_balance": "insufficient_funds"}  # Upside's word for it
    expected = [(p, code, declines.get(code.lower(), code.lower())) for p, code, _ in coded]
    assert coded == expected
    assert {p for p, _, _ in coded} == {"igpx", "hypetech", "upside"}
    assert len(coded) >= 6


def test_every_signature_check_goes_through_compare_digest(client, monkeypatch):
    calls: list[tuple[Any, Any]] = []
    real = hmac.compare_digest

    def recording(a: Any, b: Any) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", recording)
    player = PlayerFactory(currencies=("USD", "BRL", "WIN"))
    igpx.post(client, "transaction", igpx.bet("c1", player, "1.00"))
    assert len(calls) == 1
    hype.send(client, "register", hype.bet("c2", player, "1", currency="BRL"))
    assert len(calls) == 2
    up.make_game()
    worker = up.make_key()
    up.act(client, worker, up.token(player), {"trigger": "checkAuth"})
    upside_calls = [a for a, _ in calls[2:]]
    signature = up.headers(worker, up.token(player), b"")["UPSIDE-ACCESS-SIGN"]
    assert len(upside_calls) >= 2  # the request signature and the passphrase hash
    assert any(len(a) == len(signature) for a in upside_calls)


SECRET_NAMES = ("sign", "hash", "digest", "passphrase", "secret", "token", "jwt", "expected")


def test_no_signature_or_secret_is_compared_with_equals():
    """Static check: ``==``/``!=`` never has an operand named like a credential."""
    offenders = []
    for path in APP.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Compare) and any(
                isinstance(op, ast.Eq | ast.NotEq) for op in node.ops
            ):
                names = [ast.unparse(side).lower() for side in [node.left, *node.comparators]]
                if any(word in name for name in names for word in SECRET_NAMES):
                    offenders.append(f"{path.name}:{node.lineno}: {ast.unparse(node)}")
    assert offenders == []


def test_a_provider_whose_secret_is_unset_refuses_everything(settings, engine):
    unset = {"IGPX_SECURITY_HASH": None, "HYPETECH_API_KEY": None, "UPSIDE_JWT_SECRET": None}
    app = create_app({**settings, **unset})
    client = app.test_client()
    player = PlayerFactory(currencies=("USD", "WIN"))
    up.make_game()
    worker = up.make_key()
    before = books()
    body = igpx.body_of(igpx.bet("u1", player, "1.00"))
    for signature in (igpx.sign(body), igpx.sign(body, ""), ""):
        answer = client.post(
            "/igpx/transaction",
            data=body,
            headers={"X-Security-Hash": signature, "Content-Type": "application/json"},
        )
        assert answer.get_json() == {"error": "INVALID_SIGNATURE"}
    refused = hype.send(client, "register", hype.bet("u2", player, "1"))
    assert refused.status_code == 401
    upside = up.send(client, worker, up.token(player), {"trigger": "getBalance"})
    assert upside.status_code == 401
    assert books() == before
    close_app(app)


def test_each_providers_credentials_work_only_on_its_own_routes(client):
    player = PlayerFactory(currencies=("USD", "WIN"))
    up.make_game()
    worker = up.make_key()
    before = books()
    payload = igpx.bet("x1", player, "1.00")
    body = igpx.body_of(payload)
    igpx_signed = {"X-Security-Hash": igpx.sign(body), "Content-Type": "application/json"}
    hype_as_igpx = {"Hype-Hash": igpx.sign(body), "Content-Type": "application/json"}
    assert client.post("/hypetech/register", data=body, headers=igpx_signed).status_code == 401
    assert client.post("/hypetech/register", data=body, headers=hype_as_igpx).status_code == 401
    assert client.post("/upside/game-actions", data=body, headers=igpx_signed).status_code == 401

    hype_sig = hype.sign(hype.url_of("register"), body)
    for header in ("X-Security-Hash", "Hype-Hash"):
        headers = {header: hype_sig, "Content-Type": "application/json"}
        assert client.post("/igpx/transaction", data=body, headers=headers).get_json() == {
            "error": "INVALID_SIGNATURE"
        }
    upside_signed = up.headers(worker, up.token(player), body)
    assert client.post("/igpx/transaction", data=body, headers=upside_signed).get_json() == {
        "error": "INVALID_SIGNATURE"
    }
    assert client.post("/hypetech/register", data=body, headers=upside_signed).status_code == 401
    assert books() == before


def test_upside_keys_reach_neither_another_game_nor_another_players_session(client):
    up.make_game()
    up.make_game("dice")
    coin_only = up.make_key((up.GAME,))
    alice, bob = up.make_player(), up.make_player()
    assert up.refused(client, coin_only, up.token(alice), up.bet(game="dice"), 403)["code"] == (
        "GAME_NOT_ALLOWED"
    )
    up.act(client, coin_only, up.token(alice), up.bet("alice-session"))
    stolen = up.refused(client, coin_only, up.token(bob), up.payout("alice-session", up.WIN), 403)
    assert stolen["code"] == "SESSION_OF_ANOTHER_PLAYER"
