"""The lead rows a group of captures makes or touches (pure: no I/O).

Anyone may post a form with anyone's email, and another API key may send a person some
other integration captured. Such a touch counts (and brings its attribution), but never
rewrites the lead: only the key that captured it fills the fields it left empty
(`leadflow.leadbody.touch`).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from leadflow.events import Lead
from leadflow.leadbody.touch import filled
from marketing_intake.models import StoredLead


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
