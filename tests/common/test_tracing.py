"""OpenTelemetry tracing: one trace from the intake request through Kafka to the webhook."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from fastapi import APIRouter
from kernel_app import create_tables, make_settings
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from leadflow.events import Envelope, LeadErased
from leadflow.otel import Tracing, Unexported, exporter_for
from leadflow.service import Runtime, create_app
from leadflow.tracing import (
    client_span,
    consuming,
    following,
    new_traceparent,
    remote,
    responded,
    traceparent,
)
from leadflow.uow import UnitOfWork
from support.kafka_tools import eventually, place_group_at_end
from support.receiver import Receiver

PARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
TRACE_ID = PARENT.split("-")[1]


def _erased(lead_id: uuid.UUID | None = None) -> LeadErased:
    return LeadErased(lead_id=lead_id or uuid.uuid4(), erased_at=datetime.now(UTC))


def _ids(tp: str | None) -> tuple[str, str]:
    assert tp is not None
    _, trace_id, span_id, _ = tp.split("-")
    return trace_id, span_id


def _hex(span: ReadableSpan) -> tuple[str, str]:
    ctx = span.get_span_context()
    assert ctx is not None
    return f"{ctx.trace_id:032x}", f"{ctx.span_id:016x}"


def _parent(span: ReadableSpan) -> str | None:
    return f"{span.parent.span_id:016x}" if span.parent is not None else None


class Exported:
    """A tracer exporting to memory, as a service with an exporter would."""

    def __init__(self) -> None:
        self.memory = InMemorySpanExporter()
        self.tracing = Tracing("kernel-test", self.memory)
        self.tracing.start()

    def spans(self, kind: SpanKind | None = None) -> list[ReadableSpan]:
        self.tracing.flush()
        return [s for s in self.memory.get_finished_spans() if kind is None or s.kind is kind]


@pytest.fixture
def exported() -> Iterator[Exported]:
    e = Exported()
    yield e
    e.tracing.shutdown()


# ---------------------------------------------------------------- W3C context and setup


def test_a_received_traceparent_is_the_parent_and_a_bad_one_starts_a_new_trace() -> None:
    assert traceparent(remote(PARENT)) == PARENT
    for bad in (None, "", "garbage", "01-xyz", "00-" + "0" * 32 + "-b7ad6b7169203331-01"):
        assert traceparent(remote(bad)) is None
    fresh = new_traceparent()
    assert traceparent(remote(fresh)) == fresh
    assert fresh != new_traceparent()


def test_the_exporter_is_off_unless_set_or_an_otlp_endpoint_is_given() -> None:
    assert exporter_for("auto", {}) == "none"
    assert exporter_for("auto", {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}) == "otlp"
    assert exporter_for("auto", {"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://c/v1"}) == "otlp"
    assert exporter_for("none", {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}) == "none"
    assert exporter_for("console", {}) == "console"


def test_the_setting_chooses_the_exporter(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_ENDPOINT", raising=False)
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", raising=False)
    url = "sqlite+aiosqlite:///:memory:"
    off = Runtime.build(make_settings(url, "localhost:1")).tracing
    assert (off.exporter, off.provider) == ("none", None)
    assert isinstance(off.tracer, Unexported)
    monkeypatch.setenv("LEADFLOW_OTEL_EXPORTER", "console")
    on = Runtime.build(make_settings(url, "localhost:1")).tracing
    assert on.exporter == "console"
    assert on.provider is not None


def test_without_an_exporter_spans_still_carry_the_trace() -> None:
    tracer = Unexported()
    child = tracer.start_span("x", remote(PARENT))
    assert not child.is_recording()
    sent = traceparent(trace.set_span_in_context(child))
    assert sent is not None
    assert sent[:36] == PARENT[:36]  # same trace
    assert sent[-3:] == PARENT[-3:]  # the parent's flags
    assert _ids(sent)[1] != _ids(PARENT)[1]  # a span of its own
    with tracer.start_as_current_span("root") as root:
        fresh = traceparent()
    assert fresh is not None
    assert fresh.endswith("-01")  # a new trace is sampled
    assert _ids(fresh)[1] == f"{root.get_span_context().span_id:016x}"


def test_the_console_exporter_writes_one_json_line_per_span(
    capsys: pytest.CaptureFixture[str],
) -> None:
    tracing = Tracing("kernel-test", "console")
    tracing.start()
    with tracing.tracer.start_as_current_span("work"):
        pass
    tracing.shutdown()  # flushes the batch processor
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(s["name"], s["resource"]["attributes"]["service.name"]) for s in lines] == [
        ("work", "kernel-test")
    ]


# ---------------------------------------------------------------- events and webhooks


def _runtime(exported: Exported) -> Runtime:
    rt = Runtime.build(make_settings("sqlite+aiosqlite:///:memory:", "localhost:1"))
    rt.tracing = exported.tracing
    return rt


def test_events_continue_the_trace_of_their_cause_or_of_the_current_span(
    exported: Exported,
) -> None:
    rt = _runtime(exported)
    cause = Envelope(data=_erased(), source="/x", traceparent=PARENT)
    caused = rt.envelope(_erased(), cause=cause)
    assert _ids(caused.traceparent)[0] == TRACE_ID
    with exported.tracing.tracer.start_as_current_span("request", remote(PARENT)):
        within = rt.envelope(_erased())
    assert _ids(within.traceparent)[0] == TRACE_ID
    alone = rt.envelope(_erased())
    assert _ids(alone.traceparent)[0] != TRACE_ID  # nothing current: a new trace
    producers = exported.spans(SpanKind.PRODUCER)
    assert [s.name for s in producers] == ["create leads.erased"] * 3
    assert (producers[0].attributes or {})["messaging.message.id"] == caused.id
    assert _hex(producers[0]) == _ids(caused.traceparent)  # the stored header is its span's


def test_each_event_of_a_batch_gets_its_consumer_span_and_its_effects_continue_it(
    exported: Exported,
) -> None:
    rt = _runtime(exported)
    first = Envelope(data=_erased(), source="/x", traceparent=PARENT)
    second = Envelope(data=_erased(), source="/x", traceparent=new_traceparent())
    with consuming(exported.tracing.tracer, [first, second], "group-a"):
        out_first = rt.envelope(_erased(), cause=first)
        with following(second):
            out_second = rt.envelope(_erased())
            webhook_parent = traceparent()
    consumers = {
        (s.attributes or {})["messaging.message.id"]: s for s in exported.spans(SpanKind.CONSUMER)
    }
    c1, c2 = consumers[first.id], consumers[second.id]
    assert _hex(c1)[0] == TRACE_ID
    assert _parent(c1) == _ids(PARENT)[1]
    assert _hex(c2)[0] == _ids(second.traceparent)[0]
    assert (c1.attributes or {})["messaging.consumer.group.name"] == "group-a"
    producers = {_hex(s): s for s in exported.spans(SpanKind.PRODUCER)}
    assert _parent(producers[_ids(out_first.traceparent)]) == _hex(c1)[1]
    assert _parent(producers[_ids(out_second.traceparent)]) == _hex(c2)[1]
    assert _ids(webhook_parent) == _hex(c2)


def test_a_failing_handler_fails_its_consumer_span(exported: Exported) -> None:
    env = Envelope(data=_erased(), source="/x", traceparent=PARENT)
    current: list[str | None] = []

    def handle() -> None:
        with consuming(exported.tracing.tracer, [env], "g"):
            current.append(traceparent())
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        handle()
    assert _ids(current[0])[0] == TRACE_ID  # the event's span was current
    (span,) = exported.spans()
    assert span.status.status_code is StatusCode.ERROR
    assert [e.name for e in span.events] == ["exception"]


def test_a_webhook_span_is_a_client_span_and_an_error_answer_fails_it(
    exported: Exported,
) -> None:
    url = "https://crm.example/hooks?token=secret"
    with client_span(exported.tracing.tracer, "POST", url, parent=PARENT) as span:
        sent = traceparent()
        responded(span, 503, "HTTP 503")
    (done,) = exported.spans()
    assert done.kind is SpanKind.CLIENT
    assert _ids(sent) == _hex(done)
    assert _parent(done) == _ids(PARENT)[1]
    assert done.status.status_code is StatusCode.ERROR
    assert "secret" not in json.dumps(dict(done.attributes or {}))
    assert (done.attributes or {})["server.address"] == "crm.example"


# ---------------------------------------------------------------- end to end


@pytest.fixture
async def traced(
    tmp_path: Path, kafka_bootstrap: str, receiver: Receiver, exported: Exported
) -> AsyncIterator[Runtime]:
    """A service whose request emits an event whose handler sends a webhook, spans in memory."""
    rt = Runtime.build(make_settings(f"sqlite+aiosqlite:///{tmp_path}/t.db", kafka_bootstrap))
    rt.tracing = exported.tracing
    await create_tables(rt)

    async def on_erased(uow: UnitOfWork, env: Envelope) -> None:
        # What sales-assignment's delivery worker does: a client span, its traceparent sent.
        stored = traceparent()
        with client_span(rt.tracing.tracer, "POST", receiver.url, parent=stored) as span:
            async with httpx.AsyncClient() as http:
                r = await http.post(
                    receiver.url,
                    json={"lead_id": str(env.data.lead_id)},
                    headers={"traceparent": traceparent() or ""},
                )
            responded(span, r.status_code)

    group = f"kernel-test-{uuid.uuid4().hex[:8]}"
    await place_group_at_end(kafka_bootstrap, group, [LeadErased.topic])
    rt.consume([LeadErased.topic], {LeadErased: on_erased}, group=group)
    await rt.start()
    yield rt
    await rt.stop()


@pytest.mark.kafka
async def test_one_trace_runs_from_the_request_through_kafka_to_the_webhook(
    traced: Runtime, exported: Exported, receiver: Receiver
) -> None:
    rt = traced
    router = APIRouter()

    @router.post("/v1/erase/{lead_id}", status_code=202)
    async def erase(lead_id: uuid.UUID) -> dict[str, str]:
        async with rt.transaction() as uow:
            uow.emit(_erased(lead_id))
        return {"status": "accepted"}

    app = create_app(rt, title="t", description="t", routers=[router])
    lead_id = uuid.uuid4()
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://kernel"
    ) as http:
        r = await http.post(f"/v1/erase/{lead_id}", headers={"traceparent": PARENT})
    assert r.status_code == 202

    def hook() -> dict[str, str] | None:
        for got in receiver.snapshot():
            if json.loads(got.body).get("lead_id") == str(lead_id):
                return dict(got.headers)
        return None

    await eventually(lambda: hook() is not None)
    await eventually(lambda: bool(exported.spans(SpanKind.CLIENT)))
    by_kind = {s.kind: s for s in exported.spans()}
    server, producer = by_kind[SpanKind.SERVER], by_kind[SpanKind.PRODUCER]
    consumer, client = by_kind[SpanKind.CONSUMER], by_kind[SpanKind.CLIENT]
    assert {_hex(s)[0] for s in by_kind.values()} == {TRACE_ID}
    assert server.name == "POST /v1/erase/{lead_id}"
    assert (server.attributes or {})["http.response.status_code"] == 202
    assert _parent(server) == _ids(PARENT)[1]
    assert _parent(producer) == _hex(server)[1]
    assert _parent(consumer) == _hex(producer)[1]  # extracted from the Kafka header
    assert _parent(client) == _hex(consumer)[1]
    headers = hook()
    assert headers is not None
    assert _ids(headers["traceparent"]) == _hex(client)
