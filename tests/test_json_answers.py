"""Answers rendered by orjson are the documents Flask's default provider would send."""

from __future__ import annotations

import dataclasses
import json
import uuid
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from flask import Flask
from flask.json.provider import DefaultJSONProvider

from app.web.json_answers import OrjsonProvider


@dataclasses.dataclass
class Leg:
    account: int
    amount: Decimal


SAMPLES = [
    {"transaction_id": "17", "error": None},
    {"balance": Decimal("10.500000000000000000"), "currency": "USD"},
    {"at": datetime(2026, 11, 21, 22, 0, tzinfo=UTC)},
    [Leg(1, Decimal("-2.5"))],
    {"id": uuid.UUID(int=5)},
    {"atoms": 2**70},  # past orjson's 64 bits: the default provider answers
    {"text": "é ü \u2028 \U0001f600", "n": 1.25},
]


@pytest.mark.parametrize("document", SAMPLES)
def test_same_json_as_flasks_default_provider(document):
    app = Flask(__name__)
    compact = {"separators": (",", ":")}
    ours = OrjsonProvider(app).dumps(document, **compact)
    flasks = DefaultJSONProvider(app).dumps(document, **compact)
    assert json.loads(ours) == json.loads(flasks)
    assert list(json.loads(ours)) == list(json.loads(flasks))  # keys in the same order


def test_the_app_answers_through_it(client):
    assert isinstance(client.application.json, OrjsonProvider)
    assert client.get("/healthz").get_data() == b'{"status":"ok"}\n'


@pytest.mark.parametrize("document", SAMPLES)
def test_jsonify_answers_what_flasks_default_provider_answers(document):
    app = Flask(__name__)
    with app.app_context():
        ours = OrjsonProvider(app).response(document)
        flasks = DefaultJSONProvider(app).response(document)
    assert ours.mimetype == flasks.mimetype == "application/json"
    assert ours.get_data().endswith(b"\n")
    assert json.loads(ours.get_data()) == json.loads(flasks.get_data())
    assert list(json.loads(ours.get_data())) == list(json.loads(flasks.get_data()))


def test_jsonify_in_debug_mode_is_indented_as_flask_does_it():
    app = Flask(__name__)
    app.debug = True
    with app.app_context():
        answer = OrjsonProvider(app).response({"b": 1, "a": 2}).get_data()
    assert answer == DefaultJSONProvider(app).response({"b": 1, "a": 2}).get_data()
