"""How ``/openapi.json`` describes IGPX's routes: every answer is HTTP 200."""

from __future__ import annotations

from marshmallow import fields

from app.providers.igpx import adapter
from app.web.answers import AnswerSchema
from app.web.openapi import JSON, Answers, Operation


class IgpxAnswerSchema(AnswerSchema):
    error = fields.String(
        required=True,
        allow_none=True,
        metadata={"description": "null on success, else a code such as INVALID_SIGNATURE"},
    )
    transaction_id = fields.String(metadata={"description": "the wallet's own id, on success"})


HEADERS = {
    "X-Security-Hash": "hex HMAC-SHA256 of the raw body keyed with IGPX_SECURITY_HASH "
    "(also read as X-Securty-Hash)"
}
_ANSWERS: Answers = {200: (JSON, IgpxAnswerSchema, "every answer, success or error")}
OPERATIONS = {
    "igpx.transaction": Operation(
        "IGPX bet or result", "igpx", adapter.TransactionSchema, HEADERS, _ANSWERS
    ),
    "igpx.transaction_rollback": Operation(
        "IGPX rollback", "igpx", adapter.RollbackSchema, HEADERS, _ANSWERS
    ),
}
