"""POST /v1/leads is documented as the typed route it is: its body, header, token and errors
as on POST /v1/leads/batch, the bearer scheme and the lead's schemas in the components."""

from __future__ import annotations

import pytest

from marketing_intake.app import build_app
from marketing_intake.settings import IntakeSettings


def test_the_lead_route_is_documented_with_its_body_header_and_bearer_scheme(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LEADFLOW_ADMIN_TOKEN", "dev-test")
    doc = build_app(IntakeSettings()).openapi()
    one, batch = doc["paths"]["/v1/leads"]["post"], doc["paths"]["/v1/leads/batch"]["post"]
    assert one["parameters"] == batch["parameters"]
    assert one["security"] == batch["security"]
    errors = {code for code in batch["responses"] if code[0] in "45"}
    assert {code for code in one["responses"] if code[0] in "45"} == errors
    assert {"401", "403", "413", "422", "429"} <= errors
    body = one["requestBody"]
    assert body["required"] is True
    assert body["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/LeadIn"}
    assert {"LeadIn", "AttributionIn", "ConsentIn"} <= set(doc["components"]["schemas"])
    assert [p["name"] for p in one["parameters"]] == ["idempotency-key"]
    [scheme] = one["security"][0]
    assert doc["components"]["securitySchemes"][scheme] == {"type": "http", "scheme": "bearer"}
