"""What a new touch of a known lead may change in it (pure; intake and scoring share it).

A touch counts and brings its own attribution and time, but never replaces what the lead
holds: at most it fills the fields the lead left empty.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from leadflow.events import Consent, Lead

# Never taken from a touch: who the lead is, and when it was first captured; attribution
# is the touch's own (it goes with the touch's event, not into the stored lead).
_KEPT = frozenset({"lead_id", "email", "captured_at", "attribution"})
_NO_CONSENT = Consent().model_dump(mode="json")


def _empty(value: Any) -> bool:
    return value is None or value in ("", {}, []) or value == _NO_CONSENT


def filled(stored: Mapping[str, Any], new: Lead) -> dict[str, Any]:
    """The stored lead (JSON) with its empty fields taken from `new`; nothing it holds is
    replaced."""
    data = dict(stored)
    for name, value in new.model_dump(mode="json", exclude=set(_KEPT)).items():
        if _empty(data.get(name)) and not _empty(value):
            data[name] = value
    return data


def touch_lead(stored: Mapping[str, Any], new: Lead) -> Lead:
    """The lead as stored, with the touch's attribution and time (consumers fold touches
    by time and count them by source)."""
    return Lead.model_validate(
        {**stored, "attribution": new.attribution, "captured_at": new.captured_at}
    )
