"""What a capture of a person already known may change (pure: no I/O).

Anyone may post a form with anyone's email, and another API key may send a person some
other integration captured. Such a touch counts (and brings its attribution), but never
rewrites the lead: only the key that captured it fills the fields it left empty.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from leadflow.events import Consent, Lead
from marketing_intake.models import StoredLead

# Never taken from a touch: who the lead is, and when it was first captured; attribution
# is the touch's own (it goes with the touch's event, not into the stored lead).
_KEPT = frozenset({"lead_id", "email", "captured_at", "attribution"})
_NO_CONSENT = Consent().model_dump(mode="json")


def _empty(value: Any) -> bool:
    return value is None or value in ("", {}, []) or value == _NO_CONSENT


def filled(stored: Mapping[str, Any], new: Lead) -> dict[str, Any]:
    """The stored lead (JSON) with its empty fields taken from `new`; nothing it holds is
    replaced (a touch of the key that captured it)."""
    data = dict(stored)
    for name, value in new.model_dump(mode="json", exclude=set(_KEPT)).items():
        if _empty(data.get(name)) and not _empty(value):
            data[name] = value
    return data


def touch_lead(stored: Mapping[str, Any], new: Lead) -> Lead:
    """What a touch's `leads.captured` carries: the lead as stored, with this touch's
    attribution and time (consumers fold touches by time and count them by source)."""
    return Lead.model_validate(
        {**stored, "attribution": new.attribution, "captured_at": new.captured_at}
    )


@dataclass
class Seen:
    """A lead row one group of captures makes or touches, as it will be stored."""

    lead_id: uuid.UUID
    captured_by: uuid.UUID | None
    data: dict[str, Any]
    touches: int
    captured_at: datetime
    last_touch_at: datetime
    dedupe_key: str | None = None
    touch_of: uuid.UUID | None = None
    stored: StoredLead | None = None  # None: new, inserted by this group

    @classmethod
    def new(
        cls,
        lead: Lead,
        captured_by: uuid.UUID | None,
        *,
        dedupe_key: str | None = None,
        touch_of: uuid.UUID | None = None,
    ) -> Seen:
        """A row for `lead`, touched once: a lead (with its dedupe key), or another key's
        submission of the lead `touch_of` (no dedupe key: never matched as the person)."""
        data = lead.model_dump(mode="json")
        at = lead.captured_at
        return cls(lead.lead_id, captured_by, data, 1, at, at, dedupe_key, touch_of)

    @classmethod
    def of(cls, stored: StoredLead) -> Seen:
        return cls(
            stored.lead_id,
            stored.captured_by,
            dict(stored.data),
            stored.touches,
            stored.captured_at,
            stored.last_touch_at,
            stored.dedupe_key,
            stored.touch_of,
            stored,
        )

    def touch(self, lead: Lead, *, own: bool) -> int:
        """Count a touch; one by the key that captured the row fills its empty fields."""
        self.touches += 1
        self.last_touch_at = max(self.last_touch_at, lead.captured_at)
        if own:
            self.data = filled(self.data, lead)
        return self.touches

    def row(self) -> dict[str, Any]:
        """The new row's columns (for an insert)."""
        return {
            "lead_id": self.lead_id,
            "dedupe_key": self.dedupe_key,
            "data": self.data,
            "touches": self.touches,
            "captured_at": self.captured_at,
            "last_touch_at": self.last_touch_at,
            "captured_by": self.captured_by,
            "touch_of": self.touch_of,
        }

    def save(self) -> None:
        """Write a touched stored row back (the ORM flushes it)."""
        if self.stored is not None:
            self.stored.touches = self.touches
            self.stored.last_touch_at = self.last_touch_at
            if self.data != self.stored.data:
                self.stored.data = self.data
