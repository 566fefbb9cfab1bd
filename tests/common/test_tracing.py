"""W3C trace context: one trace id from the intake request through every emitted event."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from kernel_app import make_settings

from leadflow.events import Envelope, LeadErased
from leadflow.service import Runtime
from leadflow.tracing import child_of, current_traceparent, new_traceparent

PARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


def _erased() -> LeadErased:
    return LeadErased(lead_id=uuid.uuid4(), erased_at=datetime.now(UTC))


def test_a_child_keeps_the_trace_and_gets_a_new_span() -> None:
    child = child_of(PARENT)
    assert child[:36] == PARENT[:36]
    assert child[36:52] != PARENT[36:52]
    assert child.endswith("-01")


def test_a_missing_or_malformed_parent_starts_a_new_trace() -> None:
    for parent in (None, "", "garbage", "01-xyz"):
        fresh = child_of(parent)
        assert len(fresh) == 55
        assert fresh.startswith("00-")
    assert new_traceparent() != new_traceparent()


def test_events_continue_the_trace_of_their_cause_or_of_the_request(tmp_path: object) -> None:
    rt = Runtime.build(make_settings("sqlite+aiosqlite:///:memory:", "localhost:1"))
    cause = Envelope(data=_erased(), source="/x", traceparent=PARENT)
    assert rt.envelope(_erased(), cause=cause).traceparent[:36] == PARENT[:36]  # type: ignore[index]
    token = current_traceparent.set(PARENT)
    try:
        assert rt.envelope(_erased()).traceparent[:36] == PARENT[:36]  # type: ignore[index]
    finally:
        current_traceparent.reset(token)
