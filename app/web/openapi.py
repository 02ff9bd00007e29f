"""``GET /openapi.json``: every route, its request and answer schemas, from marshmallow.

Built once per app with apispec's marshmallow plugin from the adapters' own request
schemas and the answer schemas in :mod:`app.providers.answers`. Each route is
described by its endpoint in :data:`OPERATIONS`; a route without an entry makes
``build`` fail, so a new route cannot go undocumented.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Blueprint, Flask, current_app, jsonify
from flask.typing import ResponseReturnValue
from marshmallow import Schema

from app.providers import answers, schemas
from app.providers.hypetech import adapter as hypetech
from app.providers.igpx import adapter as igpx
from app.providers.upside import adapter as upside

blueprint = Blueprint("openapi", __name__)
JSON = "application/json"
PROBLEM = "application/problem+json"


Answers = dict[int | str, tuple[str, type[Schema] | None, str]]


@dataclass(frozen=True)
class Operation:
    summary: str
    tag: str
    body: type[Schema] | None = None
    headers: tuple[str, ...] = ()
    answers: Answers = field(default_factory=dict)
    description: str = ""


IGPX_HEADERS = ("X-Security-Hash",)
UPSIDE_HEADERS = (
    "UPSIDE-ACCESS-KEY",
    "UPSIDE-ACCESS-SIGN",
    "UPSIDE-ACCESS-TIMESTAMP",
    "UPSIDE-ACCESS-PASSPHRASE",
    "B3-JWT",
)
_IGPX: Answers = {200: (JSON, answers.IgpxAnswerSchema, "every answer, success or error")}
_PROBLEMS: Answers = {
    "default": (PROBLEM, answers.ProblemSchema, "400, 401, 402, 403, 404, 409, 500, 503")
}
_UPSIDE: Answers = {
    200: (JSON, answers.UpsideSuccessSchema, "the trigger's fields"),
    "default": (JSON, answers.UpsideFailureSchema, "400, 401, 403, 404, 409, 422, 429, 503"),
}


def _upside_requirements() -> str:
    wire = {name: f.data_key or name for name, f in upside.ActionSchema().fields.items()}
    needs = (
        f"{t} needs {', '.join(wire[n] for n in names)}" for t, names in upside.REQUIRED.items()
    )
    return "; ".join(needs)


def _hypetech(summary: str, body: type[Schema], ok: type[Schema]) -> Operation:
    answered: Answers = {200: (JSON, ok, "done"), **_PROBLEMS}
    return Operation(summary, "hypetech", body, ("Hype-Hash",), answered)


OPERATIONS: dict[str, Operation] = {
    "health.healthz": Operation(
        "The process is up", "health", answers={200: (JSON, answers.StatusSchema, "up")}
    ),
    "health.readyz": Operation(
        "The database answers and is migrated",
        "health",
        answers={
            200: (JSON, answers.StatusSchema, "ready"),
            503: (JSON, answers.StatusSchema, "not ready"),
        },
    ),
    "metrics.metrics": Operation(
        "Prometheus metrics", "health", answers={200: ("text/plain", None, "exposition format")}
    ),
    "openapi.spec": Operation("This document", "health", answers={200: (JSON, None, "OpenAPI 3")}),
    "igpx.transaction": Operation(
        "IGPX bet or result", "igpx", igpx.TransactionSchema, IGPX_HEADERS, _IGPX
    ),
    "igpx.transaction_rollback": Operation(
        "IGPX rollback", "igpx", igpx.RollbackSchema, IGPX_HEADERS, _IGPX
    ),
    "hypetech.get_balance": _hypetech(
        "Hypetech balance", hypetech.BalanceSchema, answers.HypetechBalanceAnswerSchema
    ),
    "hypetech.register": _hypetech(
        "Hypetech bet", hypetech.MoneySchema, answers.HypetechMoneyAnswerSchema
    ),
    "hypetech.rewards": _hypetech(
        "Hypetech win", hypetech.MoneySchema, answers.HypetechMoneyAnswerSchema
    ),
    "hypetech.rollback": _hypetech(
        "Hypetech rollback", hypetech.RollbackSchema, answers.HypetechRollbackAnswerSchema
    ),
    "upside.game_actions": Operation(
        "Upside game action (one route; `trigger` picks the action)",
        "upside",
        upside.ActionSchema,
        UPSIDE_HEADERS,
        _UPSIDE,
        _upside_requirements(),
    ),
}


@blueprint.get("/openapi.json")
def spec() -> ResponseReturnValue:
    document = current_app.extensions.get("wallet.openapi")
    if document is None:
        document = current_app.extensions["wallet.openapi"] = build(current_app)
    return jsonify(document)


def build(app: Flask) -> dict[str, Any]:
    """The OpenAPI 3 document of every route ``app`` serves."""
    plugin = MarshmallowPlugin(schema_name_resolver=schema_name)
    document = APISpec(
        title="Seamless wallet callbacks",
        version="1",
        openapi_version="3.0.3",
        plugins=[plugin],
        info={"description": "Provider callbacks, health and metrics of the operator's wallet."},
    )
    _map_custom_fields(plugin)
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if rule.endpoint == "static":
            continue
        operation = OPERATIONS.get(rule.endpoint)
        if operation is None:
            raise LookupError(f"route {rule.rule} ({rule.endpoint}) has no OpenAPI description")
        methods = sorted((rule.methods or set()) - {"HEAD", "OPTIONS"})
        document.path(
            path=rule.rule, operations={m.lower(): _operation(operation) for m in methods}
        )
    return document.to_dict()


def schema_name(schema: Any) -> str:
    """``igpx.RollbackSchema`` → ``IgpxRollback`` (named by its provider's package);
    answers are named by their class."""
    cls = schema if isinstance(schema, type) else type(schema)
    parts = cls.__module__.split(".")
    owner = parts[parts.index("providers") + 1] if "providers" in parts[:-1] else parts[-1]
    prefix = "" if parts[-1] == "answers" else owner.title().replace("_", "")
    return prefix + cls.__name__.removesuffix("Schema")


def _map_custom_fields(plugin: MarshmallowPlugin) -> None:
    def describe(converter: Any, field: Any, **kwargs: Any) -> dict[str, Any]:
        if isinstance(field, schemas.ProviderId):
            return {"type": "string", "minLength": 1, "maxLength": 128}
        if isinstance(field, schemas.Currency):
            return {"type": "string", "pattern": "^[A-Z]{3}$", "example": "USD"}
        return {}

    assert plugin.converter is not None
    plugin.converter.add_attribute_function(describe)


def _operation(operation: Operation) -> dict[str, Any]:
    described: dict[str, Any] = {
        "summary": operation.summary,
        "description": operation.description,
        "tags": [operation.tag],
        "responses": {
            str(status): _content(media, schema, text)
            for status, (media, schema, text) in operation.answers.items()
        },
    }
    if operation.headers:
        described["parameters"] = [
            {"in": "header", "name": name, "required": True, "schema": {"type": "string"}}
            for name in operation.headers
        ]
    if operation.body is not None:
        described["requestBody"] = {
            "required": True,
            "content": {JSON: {"schema": operation.body}},
        }
    return described


def _content(media: str, schema: type[Schema] | None, text: str) -> dict[str, Any]:
    answer: dict[str, Any] = {"description": text}
    answer["content"] = {media: {"schema": schema if schema else {"type": "object"}}}
    if media == "text/plain":
        answer["content"] = {media: {"schema": {"type": "string"}}}
    return answer
