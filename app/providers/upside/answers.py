"""How ``/openapi.json`` describes Upside's one route (``trigger`` picks the action)."""

from __future__ import annotations

from marshmallow import Schema, fields

from app.providers.upside import adapter
from app.providers.upside.auth import HEADERS as AUTH_HEADERS
from app.web.answers import AnswerSchema
from app.web.openapi import JSON, Answers, Operation


class UpsideSuccessSchema(AnswerSchema):
    success = fields.Boolean(required=True, metadata={"enum": [True]})
    trigger = fields.String(required=True)


class UpsideErrorSchema(Schema):
    code = fields.String(required=True, metadata={"example": "AUTHENTICATION_FAILED"})
    message = fields.String(required=True)


class UpsideFailureSchema(AnswerSchema):
    success = fields.Boolean(required=True, metadata={"enum": [False]})
    error = fields.Nested(UpsideErrorSchema, required=True)


HEADERS = tuple(AUTH_HEADERS.values())
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
