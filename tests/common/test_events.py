"""The event contract on the wire: CloudEvents binary mode, read back by the official SDK."""

from __future__ import annotations

import itertools
import json
import uuid
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from cloudevents.core.bindings import kafka as ce_kafka
from cloudevents.core.v1.event import CloudEvent

from leadflow.events import (
    Attribution,
    Envelope,
    Lead,
    LeadCaptured,
    LeadErased,
    LeadOutcome,
    MalformedEvent,
    decode,
    new_event_id,
)

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def a_lead() -> Lead:
    return Lead(
        lead_id=uuid.uuid4(),
        email="ada@example.com",
        first_name="Ada",
        company="Analytical Engines",
        company_size=250,
        country="GB",
        attribution=Attribution(source="webinar", utm_campaign="q4-launch"),
        captured_at=NOW,
    )


def test_an_event_round_trips_through_the_kafka_binding() -> None:
    lead = a_lead()
    env = Envelope(data=LeadCaptured(lead_id=lead.lead_id, lead=lead), source="/marketing-intake")
    back = decode(env.value(), env.headers())
    assert back == env
    assert env.key == str(lead.lead_id).encode()


def test_the_cloudevents_sdk_reads_our_messages_as_the_same_event() -> None:
    lead = a_lead()
    env = Envelope(
        data=LeadCaptured(lead_id=lead.lead_id, lead=lead),
        source="/marketing-intake",
        time=NOW,
        traceparent="00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
    )
    message = ce_kafka.KafkaMessage(headers=dict(env.headers()), key=env.key, value=env.value())
    event = ce_kafka.from_binary_event(message)
    assert event.get_specversion() == "1.0"
    assert event.get_id() == env.id
    assert event.get_type() == "io.leadflow.lead.captured.v1"
    assert event.get_source() == "/marketing-intake"
    assert event.get_time() == NOW
    assert event.get_datacontenttype() == "application/json"
    assert LeadCaptured.model_validate(event.get_data()) == env.data


def test_messages_the_sdk_writes_are_read_by_us() -> None:
    lead_id = uuid.uuid4()
    event = CloudEvent(
        attributes={
            "type": "io.leadflow.lead.erased.v1",
            "source": "/elsewhere",
            "id": "abc-1",
            "time": NOW,
            "datacontenttype": "application/json",
        },
        data={"lead_id": str(lead_id), "erased_at": NOW.isoformat()},
    )
    msg = ce_kafka.to_binary_event(event)
    env = decode(msg.value, list(msg.headers.items()))
    assert env.data == LeadErased(lead_id=lead_id, erased_at=NOW)
    assert env.id == "abc-1"


def test_money_survives_as_an_exact_decimal() -> None:
    ev = LeadOutcome(lead_id=uuid.uuid4(), stage="won", occurred_at=NOW, amount=Decimal("1234.50"))
    env = Envelope(data=ev, source="/feedback")
    assert decode(env.value(), env.headers()).data == ev


@pytest.mark.parametrize(
    ("value", "headers", "cause"),
    [
        (b"{", "good", "invalid LeadErased data"),
        (b"{}", "good", "invalid LeadErased data"),
        (b"{}", "no-id", "missing header ce_id"),
        (b"{}", "unknown-type", "unknown ce_type"),
        (b"{}", "xml", "unsupported content-type"),
        (b"{}", "naive-time", "ce_time"),
    ],
)
def test_rejects_a_malformed_message_with_its_cause(value: bytes, headers: str, cause: str) -> None:
    h = dict(Envelope(data=LeadErased(lead_id=uuid.uuid4(), erased_at=NOW), source="/x").headers())
    if headers == "no-id":
        del h["ce_id"]
    elif headers == "unknown-type":
        h["ce_type"] = b"io.example.nope"
    elif headers == "xml":
        h["content-type"] = b"application/xml"
    elif headers == "naive-time":  # no UTC offset: cannot be compared with aware times
        h["ce_time"] = b"2026-01-02T03:04:05"
    if headers == "naive-time":
        value = Envelope(data=LeadErased(lead_id=uuid.uuid4(), erased_at=NOW), source="/x").value()
    with pytest.raises(MalformedEvent, match=cause):
        decode(value, list(h.items()))


def test_the_value_is_plain_json_data_not_a_structured_envelope() -> None:
    lead = a_lead()
    env = Envelope(data=LeadCaptured(lead_id=lead.lead_id, lead=lead), source="/marketing-intake")
    body = json.loads(env.value())
    assert "specversion" not in body
    assert body["lead_id"] == str(lead.lead_id)


def test_the_value_is_the_model_json_and_the_headers_the_ce_attributes() -> None:
    lead = a_lead()
    env = Envelope(data=LeadCaptured(lead_id=lead.lead_id, lead=lead), source="/x", time=NOW)
    assert env.value() == env.data.model_dump_json().encode()
    assert env.headers() == [
        ("ce_specversion", b"1.0"),
        ("ce_id", env.id.encode()),
        ("ce_source", b"/x"),
        ("ce_type", b"io.leadflow.lead.captured.v1"),
        ("ce_time", NOW.isoformat().encode()),
        ("content-type", b"application/json"),
    ]


def test_event_ids_are_random_uuids_written_as_str_uuid4_writes_them() -> None:
    ids = [new_event_id() for _ in range(2_000)]
    assert len(set(ids)) == len(ids)
    for text in ids:
        parsed = uuid.UUID(text)
        assert (parsed.version, parsed.variant) == (4, uuid.RFC_4122)
        assert str(parsed) == text
    # Every bit outside version and variant varies.
    fixed = ~0
    for a, b in itertools.pairwise(ids):
        fixed &= ~(uuid.UUID(a).int ^ uuid.UUID(b).int)
    assert fixed & ((1 << 128) - 1) == (0xF << 76) | (0x3 << 62)
