"""The touch rules (leadflow.leadbody.touch): a touch fills empty fields, replaces none."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from leadflow.events import Attribution, Consent, Lead
from leadflow.leadbody.touch import filled, touch_lead

NOW = datetime(2026, 12, 7, 12, tzinfo=UTC)


def _lead(**kw: object) -> Lead:
    base: dict[str, object] = {"lead_id": uuid.uuid4(), "email": "a@b.example", "captured_at": NOW}
    return Lead.model_validate({**base, **kw})


def test_only_empty_fields_are_filled() -> None:
    stored = _lead(first_name="Real", custom={"plan": "pro"})
    toucher = _lead(
        email="other@b.example",
        first_name="Mallory",
        job_title="CTO",
        custom={"plan": "free"},
        consent=Consent(marketing=True, text="yes", granted_at=NOW),
        captured_at=NOW + timedelta(days=1),
    )
    data = filled(stored.model_dump(mode="json"), toucher)
    assert (data["first_name"], data["job_title"]) == ("Real", "CTO")
    assert data["custom"] == {"plan": "pro"}  # held: kept whole
    assert data["consent"]["marketing"] is True  # none given before: filled
    assert (data["lead_id"], data["email"]) == (str(stored.lead_id), "a@b.example")
    assert data["captured_at"] == stored.model_dump(mode="json")["captured_at"]


def test_a_consent_given_is_never_replaced() -> None:
    stored = _lead(consent=Consent(marketing=True, text="v1", granted_at=NOW))
    data = filled(stored.model_dump(mode="json"), _lead(consent=Consent(text="v2")))
    assert data["consent"]["text"] == "v1"


def test_a_touch_event_carries_the_stored_lead_with_the_touchs_attribution_and_time() -> None:
    stored = _lead(first_name="Real", attribution=Attribution(source="api"))
    later = NOW + timedelta(hours=3)
    toucher = _lead(
        first_name="Mallory", attribution=Attribution(utm_source="x"), captured_at=later
    )
    touch = touch_lead(stored.model_dump(mode="json"), toucher)
    assert touch.lead_id == stored.lead_id
    assert touch.first_name == "Real"
    assert touch.attribution == Attribution(utm_source="x")
    assert touch.captured_at == later
