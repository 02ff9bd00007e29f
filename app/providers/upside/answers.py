"""How ``/openapi.json`` describes Upside's one route (``trigger`` picks the action)."""

from __future__ import annotations

from marshmallow import Schema, fields

from app.providers.upside import adapter
from app.providers.upside.auth import HEADERS as AUTH_HEADERS
from app.web.answers import AnswerSchema
from app.web.openapi import JSON, Answers, Operation


class UpsideSuccessSchema(AnswerSchema):
    success = fields.Boolean(required=True, metadata={"enum": [True], "description": "true"})
    trigger = fields.String(
        required=True,
        metadata={"description": "the request's trigger; its own fields follow (docs/upside.md)"},
    )


class UpsideErrorSchema(Schema):
    code = fields.String(
        required=True,
        metadata={"description": "a stable code for machines", "example": "AUTHENTICATION_FAILED"},
    )
    message = fields.String(
        required=True,
        metadata={
            "description": "what was wrong, for people; workers match on the phrases "
            "already processed and already finished"
        },
    )


class UpsideFailureSchema(AnswerSchema):
    success = fields.Boolean(required=True, metadata={"enum": [False], "description": "false"})
    error = fields.Nested(
        UpsideErrorSchema, required=True, metadata={"description": "the code and the message"}
    )


HEADERS = {
    AUTH_HEADERS["key"]: "the worker's API key (wallet upside keys create)",
    AUTH_HEADERS["signature"]: "base64 HMAC-SHA256 of timestamp + POST + path + body + B3-JWT, "
    "keyed with the key's secret",
    AUTH_HEADERS["timestamp"]: "ISO 8601, within UPSIDE_REPLAY_WINDOW_S of the wallet's clock",
    AUTH_HEADERS["passphrase"]: "the key's passphrase",
    AUTH_HEADERS["jwt"]: "the player's token (wallet upside token)",
}
_ANSWERS: Answers = {
    200: (JSON, UpsideSuccessSchema, "the trigger's fields"),
    "default": (JSON, UpsideFailureSchema, "400, 401, 403, 404, 409, 422, 429, 503"),
}


def _requirements() -> str:
    wire = {name: f.data_key or name for name, f in adapter.ActionSchema().fields.items()}
    needs = (
        f"{t} needs {', '.join(wire[n] for n in names)}" for t, names in adapter.REQUIRED.items()
    )
    return "; ".join(needs)


OPERATIONS = {
    "upside.game_actions": Operation(
        "Upside game action (one route; `trigger` picks the action)",
        "upside",
        adapter.ActionSchema,
        HEADERS,
        _ANSWERS,
        _requirements(),
    ),
}
