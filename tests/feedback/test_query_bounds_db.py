"""Dates and months out of the range a service can store or add a day to: a 422 naming the
field (an HTML page: its own error line), never an OverflowError answered as a 500."""

from __future__ import annotations

import httpx
import pytest
from feedback_events import ADMIN

pytestmark = pytest.mark.postgres

TOKEN = ADMIN["Authorization"].removeprefix("Bearer ")
TERMS = {"mqls_per_month": 3, "min_acceptance_rate": 0.8, "contact_within_minutes": 60}


def named(r: httpx.Response, field: str) -> None:
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert [e["field"] for e in r.json()["errors"]] == [field]


@pytest.mark.parametrize("month", ["9999-12", "0000-01", "1969-12"])
async def test_a_month_out_of_range_is_a_422_naming_month(
    client: httpx.AsyncClient, month: str
) -> None:
    assert (await client.put("/v1/agreement", json=TERMS, headers=ADMIN)).status_code == 200
    r = await client.get("/v1/agreement/status", params={"month": month}, headers=ADMIN)
    named(r, "month")


@pytest.mark.parametrize("path", ["/v1/metrics/funnel", "/v1/metrics/funnel.csv"])
@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"from": "0001-01-01T00:00:00+01:00"}, "from"),
        ({"from": "0001-01-01T00:00:00"}, "from"),
        ({"from": "9999-12-31T23:00:00-05:00"}, "from"),
        ({"from": "2026-01-01T00:00:00Z", "to": "9999-12-31T23:59:59-05:00"}, "to"),
    ],
)
async def test_a_funnel_bound_out_of_range_is_a_422_naming_it(
    client: httpx.AsyncClient, path: str, params: dict[str, str], field: str
) -> None:
    named(await client.get(path, params=params, headers=ADMIN), field)


@pytest.mark.parametrize("page", ["/sales-ops", "/"])
@pytest.mark.parametrize(
    ("params", "line"),
    [
        ({"from": "9999-12-30", "to": "9999-12-31"}, "from: must be within years 1970–9998"),
        ({"from": "0001-01-01", "to": "2026-01-01"}, "from: must be within years 1970–9998"),
    ],
)
async def test_a_page_says_a_day_out_of_range(
    client: httpx.AsyncClient, page: str, params: dict[str, str], line: str
) -> None:
    await client.post("/login", data={"token": TOKEN})
    r = await client.get(page, params=params)
    assert r.status_code == 200, r.text
    assert line in r.text
