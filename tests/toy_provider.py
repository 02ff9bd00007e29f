"""A fourth provider, defined in the test suite: the toy protocol.

One route, ``POST /toy/play``, takes ``{"id", "action": "bet"|"win"|"rollback", "player",
"currency", "amount", "original"?}`` signed with ``X-Toy-Mac``: the hex HMAC-SHA256 of the
raw body keyed with ``TOY_SECRET``. Success is HTTP 200 ``{"ok": true, "tx", "balance"}``;
a refusal is a 4xx (or 500) ``{"ok": false, "error": CODE}``.

Everything here is what a provider package would hold (adapter, settings, OpenAPI
description, simulator client, contract driver, report layout, ``PROVIDER``), built only from what
the product offers every provider: nothing in ``app/`` knows the toy.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from flask import Blueprint, current_app, jsonify, request
from flask.typing import ResponseReturnValue
from marshmallow import EXCLUDE, Schema, fields, validate
from sqlalchemy import Connection
from werkzeug.exceptions import HTTPException

from app import errors, rotation
from app.config import read_str
from app.core import money, wallet
from app.core.report_layout import Layout
from app.providers import base, schemas
from app.providers.contract import Reply, Send
from app.providers.registry import Provider
from app.simulate import Answer, Options, Round
from app.web.answers import AnswerSchema
from app.web.openapi import JSON, Operation

NAME = "toy"
SECRET = "toy-test-secret"
MAC_HEADER = "X-Toy-Mac"  # a name no credential pattern would catch: only the registry redacts it
blueprint = Blueprint(NAME, __name__, url_prefix="/toy")

# --- adapter ------------------------------------------------------------------------------


class PlaySchema(Schema):
    class Meta:
        unknown = EXCLUDE

    id = schemas.ProviderId(required=True)
    action = fields.String(required=True, validate=validate.OneOf(["bet", "win", "rollback"]))
    player = schemas.ProviderId(required=True)
    currency = schemas.Currency(required=True)
    amount = fields.Raw(required=True, metadata=schemas.AMOUNT_DOC)
    original = schemas.ProviderId(load_default=None)


PLAY = PlaySchema()
KINDS = {"bet": wallet.Kind.BET, "win": wallet.Kind.WIN, "rollback": wallet.Kind.ROLLBACK}
DECLINES = {
    wallet.Reason.INSUFFICIENT_FUNDS: (402, "INSUFFICIENT_FUNDS"),
    wallet.Reason.PLAYER_BLOCKED: (403, "PLAYER_BLOCKED"),
}
ERRORS: list[tuple[type[Exception], int, str]] = [
    (errors.InvalidSignature, 401, "BAD_MAC"),
    (errors.TransactionConflict, 409, "CONFLICT"),
    (errors.UnknownPlayer, 404, "NO_SUCH_PLAYER"),
    (errors.WalletError, 400, "BAD_REQUEST"),
]


@blueprint.post("/play")
def play() -> ResponseReturnValue:
    body = base.raw_body()
    secrets = rotation.accepted(current_app.config, "TOY_SECRET")
    base.check_hex_signature(secrets, body, request.headers.get(MAC_HEADER))
    base.require_json_content_type()
    data = schemas.load(PLAY, schemas.parse_json_object(body))
    base.bind(action=data["action"])
    outcome = base.execute(
        wallet.Request(
            provider=NAME,
            external_id=data["id"],
            kind=KINDS[data["action"]],
            player_id=data["player"],
            currency=data["currency"],
            amount=schemas.amount(data, data["currency"]),
            reference_id=data["original"],
        )
    )
    balance = money.format_amount(outcome.balance_after, outcome.currency)
    if outcome.declined:
        status, code = DECLINES.get(outcome.reason, (409, "ROLLED_BACK"))
        return jsonify(ok=False, error=code, balance=balance), status
    return jsonify(ok=True, tx=str(outcome.transaction_id), balance=balance)


@blueprint.errorhandler(Exception)
def _refused(exc: Exception) -> ResponseReturnValue:
    for kind, status, code in ERRORS:
        if isinstance(exc, kind):
            return jsonify(ok=False, error=code), status
    if isinstance(exc, HTTPException) and exc.code is not None and exc.code < 500:
        return jsonify(ok=False, error="BAD_REQUEST"), 400
    return jsonify(ok=False, error="INTERNAL_ERROR"), 500


# --- settings and OpenAPI -------------------------------------------------------------------


def settings(env: Mapping[str, str], problems: list[str]) -> dict[str, Any]:
    return {"TOY_SECRET": read_str(env, "TOY_SECRET")}


class ToyAnswerSchema(AnswerSchema):
    ok = fields.Boolean(required=True)
    tx = fields.String()
    balance = fields.String()
    error = fields.String()


OPERATIONS = {
    "toy.play": Operation(
        "Toy bet, win or rollback",
        NAME,
        PlaySchema,
        {MAC_HEADER: "hex HMAC-SHA256 of the raw body keyed with TOY_SECRET"},
        {200: (JSON, ToyAnswerSchema, "done"), "default": (JSON, ToyAnswerSchema, "refused")},
    )
}

# --- simulator client -----------------------------------------------------------------------


def payload(
    tx: str, action: str, player: str, amount: Decimal | str, original: str | None = None
) -> dict[str, Any]:
    return {
        "id": tx,
        "action": action,
        "player": player,
        "currency": ToyClient.currency,
        "amount": str(amount),
        "original": original,
    }


class ToyClient:
    name = NAME
    currency = "USD"

    def __init__(self, secret: str) -> None:
        self._secret = secret

    def signed(self, body: dict[str, Any]) -> tuple[str, bytes, dict[str, str]]:
        raw = json.dumps(body).encode()
        mac = base.hmac_sha256_hex(self._secret, raw)
        return "/toy/play", raw, {"Content-Type": "application/json", MAC_HEADER: mac}

    def prepare(self, conn: Connection, run: str, player_ids: list[str], options: Options) -> None:
        """Funded players are all the toy needs."""

    def play_round(self, r: Round) -> None:
        stake, bet_id = r.stake(), f"{r.tx}-bet"
        answer = self._send(r, payload(bet_id, "bet", r.player.id, stake))
        if stake > r.player.modelled:
            r.tally.count("declined")
            r.expect(answer.status == 402, "402 insufficient funds", answer)
            return
        r.player.modelled -= stake
        if not self._check(r, answer, "the bet taken"):
            return
        if r.rollback():
            r.tally.count("rollbacks")
            undo = payload(f"{r.tx}-rb", "rollback", r.player.id, stake, original=bet_id)
            answer = self._send(r, undo)
            r.player.modelled += stake
            self._check(r, answer, "the rollback refunded")
            return
        win = r.win(stake)
        if win:
            answer = self._send(r, payload(f"{r.tx}-win", "win", r.player.id, win))
            r.player.modelled += win
            self._check(r, answer, "the win paid")

    def _check(self, r: Round, answer: Answer, what: str) -> bool:
        modelled = money.format_amount(r.player.modelled, self.currency)
        ok = answer.status == 200 and answer.body.get("balance") == modelled
        return r.expect(ok, f"{what}, balance {modelled}", answer)

    def _send(self, r: Round, body: dict[str, Any]) -> Answer:
        path, raw, headers = self.signed(body)
        answer = r.transport.post(path, raw, lambda: headers)
        if r.duplicate():
            again = r.transport.post(path, raw, lambda: headers)
            same = (again.status, again.body) == (answer.status, answer.body)
            r.expect(same, f"the duplicate answered {answer.status} {answer.body}", again)
        return answer


def simulator(config: Mapping[str, Any], base_url: str) -> ToyClient:
    return ToyClient(config["TOY_SECRET"])


# --- contract driver ------------------------------------------------------------------------


class ToyContract:
    currency = ToyClient.currency

    def __init__(self, config: Mapping[str, Any]) -> None:
        self._client = ToyClient(config["TOY_SECRET"])
        self._stranger = ToyClient("not-the-toy-secret")

    def bet(self, send: Send, tx: str, player: str, amount: str, signed: bool = True) -> Reply:
        client = self._client if signed else self._stranger
        return send(*client.signed(payload(tx, "bet", player, amount)))

    def rollback(self, send: Send, tx: str, original: str, player: str, amount: str) -> Reply:
        return send(*self._client.signed(payload(tx, "rollback", player, amount, original)))

    def succeeded(self, reply: Reply) -> bool:
        return reply.status == 200 and reply.body["ok"] is True

    def refused_signature(self, reply: Reply) -> bool:
        return (reply.status, reply.body["error"]) == (401, "BAD_MAC")

    def insufficient_funds(self, reply: Reply, balance: str) -> bool:
        expected = {"ok": False, "error": "INSUFFICIENT_FUNDS", "balance": balance}
        return reply.status == 402 and reply.body == expected

    def conflict(self, reply: Reply) -> bool:
        return (reply.status, reply.body["error"]) == (409, "CONFLICT")


# --- report -------------------------------------------------------------------------------

# ``wallet reconcile toy``: the toy's report names its columns as its callbacks do.
REPORT = Layout(
    {"id": ("id",), "kind": ("action",), "player": ("player",), "linked": ("original",)},
    callback_id="id",
    callback_kind="action",
    callback_kinds={"bet": "bet", "win": "win", "rollback": "rollback"},
)

PROVIDER = Provider(
    name=NAME,
    blueprint=blueprint,
    settings=settings,
    secrets=("TOY_SECRET",),
    secret_headers=(MAC_HEADER,),
    operations=OPERATIONS,
    simulator=simulator,
    contract=ToyContract,
    report=REPORT,
)
