"""Forward-compatible events: consumers ignore added fields, producers cannot emit typos,
a breaking change is a new ce_type version read only where registered."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any, ClassVar

import pytest
from kernel_app import effects_for, recording_handlers
from prometheus_client import REGISTRY
from pydantic import ValidationError

from leadflow.events import (
    BY_CE_TYPE,
    Attribution,
    Envelope,
    Lead,
    LeadCaptured,
    LeadErased,
    MalformedEvent,
    UnknownVersion,
    decode,
    dlq_topic,
)
from leadflow.service import Runtime
from support.kafka_tools import end_offsets, eventually, place_group_at_end, read_after

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
TOPIC = LeadErased.topic
CONSUMED = "leadflow_events_consumed_total"


def with_extras(env: Envelope) -> bytes:
    """The event as a newer producer would write it: fields added at every level."""
    doc: dict[str, Any] = json.loads(env.value())
    doc["priority"] = "high"
    doc["lead"]["linkedin"] = "https://example.com/ada"
    doc["lead"]["attribution"]["gclid"] = "abc"
    doc["lead"]["consent"]["channel"] = "email"
    return json.dumps(doc).encode()


def captured() -> Envelope:
    lead = Lead(lead_id=uuid.uuid4(), email="ada@example.com", captured_at=NOW)
    return Envelope(data=LeadCaptured(lead_id=lead.lead_id, lead=lead), source="/t")


def test_a_consumer_ignores_fields_added_at_the_top_and_nested() -> None:
    env = captured()
    back = decode(with_extras(env), env.headers())
    assert back.data == env.data


def test_a_producer_still_cannot_build_an_event_with_an_unknown_field() -> None:
    with pytest.raises(ValidationError):
        Attribution(utm_sourc="typo")  # type: ignore[call-arg]
    with pytest.raises(ValidationError):
        Lead.model_validate(
            {"lead_id": uuid.uuid4(), "email": "a@b.co", "captured_at": NOW, "phon": "1"}
        )


def _typed(env: Envelope, ce_type: str) -> list[tuple[str, bytes]]:
    return [(k, ce_type.encode() if k == "ce_type" else v) for k, v in env.headers()]


def test_an_unregistered_version_of_a_known_type_is_an_unknown_version() -> None:
    env = captured()
    with pytest.raises(UnknownVersion, match="v2"):
        decode(env.value(), _typed(env, "io.leadflow.lead.captured.v2"))


def test_a_type_not_known_at_all_stays_malformed() -> None:
    env = captured()
    with pytest.raises(MalformedEvent) as err:
        decode(env.value(), _typed(env, "io.example.other.v1"))
    assert not isinstance(err.value, UnknownVersion)


class LeadCapturedV2(LeadCaptured):
    """A breaking change in a test: the same event under the next version."""

    ce_type: ClassVar[str] = "io.leadflow.lead.captured.v2"


def test_a_registered_version_is_decoded_as_its_model() -> None:
    env = captured()
    types = {**BY_CE_TYPE, LeadCapturedV2.ce_type: LeadCapturedV2}
    back = decode(env.value(), _typed(env, LeadCapturedV2.ce_type), types)
    assert type(back.data) is LeadCapturedV2
    assert back.data.lead == env.data.lead  # type: ignore[attr-defined]


@pytest.mark.kafka
async def test_the_consumer_skips_an_unregistered_version_without_dead_lettering_it(
    runtime: Runtime, kafka_bootstrap: str
) -> None:
    group = f"kernel-test-{uuid.uuid4().hex[:8]}"
    await place_group_at_end(kafka_bootstrap, group, [TOPIC])
    runtime.consume([TOPIC], recording_handlers(), group=group)
    start = await end_offsets(kafka_bootstrap, [dlq_topic(TOPIC)])
    skipped = REGISTRY.get_sample_value(CONSUMED, {"topic": TOPIC, "result": "unknown_version"})
    newer = Envelope(data=LeadErased(lead_id=uuid.uuid4(), erased_at=NOW), source="/t")
    older = Envelope(data=LeadErased(lead_id=newer.data.lead_id, erased_at=NOW), source="/t")
    producer = await runtime.producer.get()
    # The producer publishes both versions, the new one first: this consumer reads the old.
    v2 = _typed(newer, "io.leadflow.lead.erased.v2")
    await producer.send_and_wait(TOPIC, newer.value(), key=newer.key, headers=v2)
    await producer.send_and_wait(TOPIC, older.value(), key=older.key, headers=older.headers())
    await runtime.start()
    lead = str(newer.data.lead_id)

    async def handled() -> bool:
        return len(await effects_for(runtime, {lead})) == 1

    await eventually(handled)
    assert [ce for _, ce in await effects_for(runtime, {lead})] == [older.id]
    after = REGISTRY.get_sample_value(CONSUMED, {"topic": TOPIC, "result": "unknown_version"})
    assert (after or 0) - (skipped or 0) == 1
    dead = await read_after(kafka_bootstrap, start, lambda m: False, timeout=1)
    # Only the dead letters of this lead's events: the group reads the shared topic, where
    # other tests (other workers) publish events meant to be dead-lettered.
    ours = [("dlq_consumer_group", group.encode()), ("dlq_original_key", lead.encode())]
    assert [m for m in dead if all(h in (m.headers or ()) for h in ours)] == []
