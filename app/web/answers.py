"""Marshmallow schemas of answers, for ``/openapi.json`` only.

The routes build their answers with ``jsonify``; these describe them (``INCLUDE``: a
provider must ignore fields it does not know, so the documents allow more). Each
provider package describes its own answers on :class:`AnswerSchema`.
"""

from __future__ import annotations

from marshmallow import INCLUDE, Schema, fields


class AnswerSchema(Schema):
    class Meta:
        unknown = INCLUDE


class StatusSchema(AnswerSchema):
    status = fields.String(
        required=True,
        metadata={"description": "ok, ready, or unavailable", "example": "ok"},
    )
    reason = fields.String(
        metadata={
            "description": "why it is unavailable: database unreachable, or migrations pending"
        }
    )
