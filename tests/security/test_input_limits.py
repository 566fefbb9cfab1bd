"""Every string, list and map a client may send in a JSON body is bounded in the schema.

Walks each service's OpenAPI document: every request body's strings carry `maxLength`,
its arrays `maxItems` and its free maps `maxProperties`, so an over-long value is a 422
naming the field before any code reads it (and the document says the limit). Enumerated,
so a field added later without a bound fails here.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from test_routes_auth import SERVICES, Service

from support.apps import build, dispose

# Strings whose format bounds them (pydantic parses these, refusing anything else).
BOUNDED_FORMATS = {"uuid", "date-time", "date", "time", "duration"}


@pytest.fixture(params=SERVICES, ids=[s.name for s in SERVICES])
async def app(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    svc: Service = request.param
    built = await build(
        svc.settings, svc.build_app, svc.migrations, f"sqlite+aiosqlite:///{tmp_path}/x.db"
    )
    yield built
    await dispose(built)


def unbounded(
    node: dict[str, Any], where: str, components: dict[str, Any], seen: set[str]
) -> Iterator[str]:
    """Places in a schema where a client's value has no upper bound."""
    if ref := node.get("$ref"):
        name = ref.rsplit("/", 1)[-1]
        if name in seen:
            return
        yield from unbounded(components[name], where, components, seen | {name})
        return
    for key in ("anyOf", "oneOf", "allOf"):
        for branch in node.get(key, []):
            yield from unbounded(branch, where, components, seen)
    kind = node.get("type")
    if kind == "string":
        bounded = "maxLength" in node or "enum" in node or "const" in node
        if not bounded and node.get("format") not in BOUNDED_FORMATS:
            yield f"{where}: string without maxLength"
    elif kind == "array":
        if "maxItems" not in node:
            yield f"{where}: array without maxItems"
        if isinstance(node.get("items"), dict):
            yield from unbounded(node["items"], f"{where}[]", components, seen)
    elif kind == "object" or "properties" in node or "additionalProperties" in node:
        for name, prop in node.get("properties", {}).items():
            yield from unbounded(prop, f"{where}.{name}", components, seen)
        extra = node.get("additionalProperties")
        if extra not in (None, False):
            if "maxProperties" not in node:
                yield f"{where}: map without maxProperties"
            if isinstance(extra, dict):
                yield from unbounded(extra, f"{where}.*", components, seen)


def test_every_json_body_bounds_its_strings_lists_and_maps(app: FastAPI) -> None:
    doc = app.openapi()
    components = doc.get("components", {}).get("schemas", {})
    found = []
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            content = op.get("requestBody", {}).get("content", {})
            if schema := content.get("application/json", {}).get("schema"):
                found += unbounded(schema, f"{method.upper()} {path} body", components, set())
    assert not found, "\n".join(found)
