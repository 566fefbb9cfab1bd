"""sales-assignment's bodies are bounded: an over-large value is a 422 naming it, never a 500."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from sales_assignment.app import MIGRATIONS, build_app
from sales_assignment.settings import AssignmentSettings
from support.apps import ADMIN, build, client, dispose

REP = {"name": "Ann Seller", "email": "ann@seller.example"}


@pytest.fixture
async def http(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    app = await build(
        AssignmentSettings, build_app, MIGRATIONS, f"sqlite+aiosqlite:///{tmp_path}/a.db"
    )
    async with client(app) as c:
        yield c
    await dispose(app)


def fields_of(r: httpx.Response) -> set[str]:
    assert r.status_code == 422, r.text
    return {e["field"].split(".")[0] for e in r.json()["errors"]}


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"max_open_leads": 10**30}, "max_open_leads"),
        ({"territories": ["DE"] * 301}, "territories"),
        ({"territories": ["D" * 100_000]}, "territories"),
        ({"segments": ["smb"] * 4}, "segments"),
        (
            {
                "out_of_office": [{"start": "2026-01-01T00:00:00Z", "end": "2026-01-02T00:00:00Z"}]
                * 367
            },
            "out_of_office",
        ),
        ({"working_hours": {"mon": ["09:00-10:00"] * 25}}, "working_hours"),
        ({"working_hours": {"mon": ["0" * 100_000]}}, "working_hours"),
        ({"working_hours": {"m" * 100_000: []}}, "working_hours"),
    ],
)
async def test_an_over_large_rep_field_is_a_422_naming_it(
    http: httpx.AsyncClient, extra: dict[str, Any], field: str
) -> None:
    assert fields_of(await http.post("/v1/reps", json={**REP, **extra}, headers=ADMIN)) == {field}


@pytest.mark.parametrize(
    "rule",
    [
        {"name": "big", "min_employees": 10**30},
        {"name": "many", "countries": ["DE"] * 301},
        {"name": "long", "industries": ["x" * 101]},
        {"name": "pool", "pool": [f"00000000-0000-4000-8000-{i:012d}" for i in range(1001)]},
        {"name": "wide", **{f"k{i}": 1 for i in range(20)}},
    ],
)
async def test_an_over_large_routing_rule_is_a_422(
    http: httpx.AsyncClient, rule: dict[str, Any]
) -> None:
    r = await http.put("/v1/routing/rules", json={"rules": [rule]}, headers=ADMIN)
    assert r.status_code == 422, r.text
    assert "rules" in r.text


async def test_more_than_200_routing_rules_is_a_422(http: httpx.AsyncClient) -> None:
    rules = [{"name": f"r{i}", "countries": ["DE"]} for i in range(201)]
    r = await http.put("/v1/routing/rules", json={"rules": rules}, headers=ADMIN)
    assert fields_of(r) == {"rules"}
