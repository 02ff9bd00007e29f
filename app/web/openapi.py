"""``GET /openapi.json``: every route, its request and answer schemas, from marshmallow.

Built once per app with apispec's marshmallow plugin from the adapters' own request
schemas and their answer schemas. Each route is described by its endpoint: the
wallet's own in :data:`OPERATIONS`, each provider's in its registry entry's
``operations``; a route without an entry makes ``build`` fail, so a new route cannot
go undocumented.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Blueprint, Flask, current_app, jsonify
from flask.typing import ResponseReturnValue
from marshmallow import Schema

from app.web import answers

blueprint = Blueprint("openapi", __name__)
JSON = "application/json"


Answers = dict[int | str, tuple[str, type[Schema] | None, str]]


@dataclass(frozen=True)
class Operation:
    summary: str
    tag: str
    body: type[Schema] | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    """Required request headers: name → what it carries."""
    answers: Answers = field(default_factory=dict)
    description: str = ""


_TELEMETRY_REFUSED: Answers = {403: (JSON, None, "the client is not in METRICS_ALLOW_IPS")}


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
        "Prometheus metrics",
        "health",
        answers={200: ("text/plain", None, "exposition format"), **_TELEMETRY_REFUSED},
    ),
    "openapi.spec": Operation(
        "This document", "health", answers={200: (JSON, None, "OpenAPI 3"), **_TELEMETRY_REFUSED}
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
    operations = dict(OPERATIONS)
    for provider in app.extensions["wallet.providers"]:
        operations.update(provider.operations)
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if rule.endpoint == "static":
            continue
        operation = operations.get(rule.endpoint)
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
    """The fields every provider's request schemas share (:mod:`app.providers.schemas`)."""
    from app.providers import schemas

    def describe(converter: Any, field: Any, **kwargs: Any) -> dict[str, Any]:
        if isinstance(field, schemas.PlayerId):
            return {"type": "string", "minLength": 1, "maxLength": 64, "pattern": r"^\S(.*\S)?$"}
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
            {
                "in": "header",
                "name": name,
                "required": True,
                "description": description,
                "schema": {"type": "string"},
            }
            for name, description in operation.headers.items()
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
