"""``/openapi.json`` says what every field and header is, requests and answers alike."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any


def undescribed(node: Any, where: str = "") -> Iterator[str]:
    """Every property and parameter under ``node`` without a description."""
    if isinstance(node, list):
        for index, item in enumerate(node):
            yield from undescribed(item, f"{where}[{index}]")
        return
    if not isinstance(node, dict):
        return
    for name, schema in (node.get("properties") or {}).items():
        if "description" not in schema:
            yield f"{where}.properties.{name}"
    if "in" in node and "name" in node and "description" not in node:
        yield f"{where} ({node['in']} {node['name']})"
    for key, value in node.items():
        yield from undescribed(value, f"{where}/{key}")


def test_every_field_and_header_has_a_description(client):
    document = client.get("/openapi.json").get_json()
    assert document["components"]["schemas"]  # the walk below has something to walk
    assert list(undescribed(document)) == []


def test_the_walk_finds_a_field_without_one():
    schema = {"properties": {"amount": {"description": "x"}, "currency": {"type": "string"}}}
    assert list(undescribed({"components": {"schemas": {"Bet": schema}}})) == [
        "/components/schemas/Bet.properties.currency"
    ]
