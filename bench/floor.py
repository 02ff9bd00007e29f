"""The stack's floor: the least a correct IGPX bet handler does, served as the product is.

A bare Flask app that ``make bench`` serves under stock gunicorn ``gthread`` with the
product's layout (cores + 1 workers × 2 threads), one psycopg connection per thread in
autocommit. For each ``POST /igpx/transaction`` it checks ``X-Security-Hash`` (hex
HMAC-SHA256 of the raw body, ``compare_digest``), parses the JSON with orjson, calls the
product's own ``wallet_transfer(…)`` and answers ``{"error": null, "transaction_id": …}``
(or the decline's code). No schema, request log, metrics, audit trail, time budget or
unit of work: what the product spends beyond this is what it adds per request, and
``make bench`` reports the product's bets/s as a fraction of this app's.

    DATABASE_URL=postgresql://… IGPX_SECURITY_HASH=… \\
        gunicorn -k gthread -w 3 --threads 2 bench.floor:app

It imports nothing from ``app/``: the only thing it shares with the product is the
database and its functions.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import threading
from decimal import Decimal
from typing import Any

import orjson
import psycopg
from flask import Flask, Response, request

URL = os.environ.get("DATABASE_URL", "")
SECRET = os.environ.get("IGPX_SECURITY_HASH", "").encode()
PROVIDER = "igpx"
COUNTERPARTY = "house:igpx"
TRANSFER = (
    "SELECT id, status, reason, kind, player_id, currency, amount, replayed"
    " FROM wallet_transfer(%s::text, %s::text, 'bet', %s::text, %s::text, %s::numeric,"
    " NULL, %s::text, NULL)"
)
DECLINES = {"insufficient_funds": "INSUFFICIENT_FUNDS", "player_blocked": "USER_BLOCKED"}

app = Flask(__name__)
_local = threading.local()


def _cursor() -> psycopg.Cursor[Any]:
    """This thread's cursor on its own connection, opened on first use and kept."""
    cursor: psycopg.Cursor[Any] | None = getattr(_local, "cursor", None)
    if cursor is None or cursor.connection.closed:
        cursor = _local.cursor = psycopg.connect(URL, autocommit=True).cursor()
    return cursor


def _answer(document: dict[str, Any]) -> Response:
    return Response(orjson.dumps(document), mimetype="application/json")


@app.get("/healthz")
def healthz() -> Response:
    return _answer({"status": "ok"})


@app.post("/igpx/transaction")
def transaction() -> Response:
    body = request.get_data()
    given = request.headers.get("X-Security-Hash", "").strip().lower().encode()
    expected = hmac.new(SECRET, body, hashlib.sha256).hexdigest().encode()
    if not SECRET or not hmac.compare_digest(expected, given):
        return _answer({"error": "INVALID_SIGNATURE"})
    try:
        data = orjson.loads(body)
        tx, player, currency = data["transaction_id"], data["user_id"], data["currency"]
        amount = Decimal(data["amount"])
        if data["action"] != "bet" or not all(isinstance(v, str) for v in (tx, player, currency)):
            raise ValueError("not a bet")
    except (ValueError, KeyError, TypeError, ArithmeticError):
        return _answer({"error": "INVALID_REQUEST"})
    try:
        cursor = _cursor()
        cursor.execute(TRANSFER, (PROVIDER, tx, player, currency, amount, COUNTERPARTY))
        row = cursor.fetchone()
    except psycopg.Error:
        _local.cursor = None
        return _answer({"error": "INTERNAL_ERROR"})
    if row is None:
        return _answer({"error": "USER_NOT_FOUND"})
    wallet_id, status, reason, kind, stored_player, stored_currency, stored_amount, replayed = row
    if replayed and (kind, stored_player, stored_currency, stored_amount) != (
        "bet",
        player,
        currency,
        amount,
    ):
        return _answer({"error": "TRANSACTION_CONFLICT"})
    if status != "applied":
        return _answer({"error": DECLINES.get(reason, "TRANSACTION_ROLLED_BACK")})
    return _answer({"error": None, "transaction_id": str(wallet_id)})
