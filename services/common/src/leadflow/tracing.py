"""W3C trace context with OpenTelemetry: one trace from the intake request to the webhook.

Each HTTP request gets a server span, child of the request's `traceparent`; each event staged
in the outbox a producer span, whose `traceparent` is stored with the row and travels as a
Kafka header; each event handled a consumer span, child of that header; each webhook sent a
client span, whose `traceparent` goes on the webhook request. Spans come from the runtime's
tracer (`otel.Tracing`): exported when an exporter is configured, otherwise only their ids
travel.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Literal
from urllib.parse import urlsplit

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import (
    Span,
    SpanKind,
    Status,
    StatusCode,
    Tracer,
)
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from opentelemetry.util.types import Attributes

from leadflow.otel import Unexported

if TYPE_CHECKING:
    from leadflow.events import Envelope, Event

W3C = TraceContextTextMapPropagator()

# The consumer span of each event being handled, by ce_id: what the event causes continues it.
_handling: ContextVar[Mapping[str, Context] | None] = ContextVar("leadflow_handling", default=None)


def new_traceparent() -> str:
    """A fresh sampled W3C `traceparent` (for a client or a test that starts a trace)."""
    return f"00-{secrets.token_hex(16)}-{secrets.token_hex(8)}-01"


def traceparent(context: Context | None = None) -> str | None:
    """The `traceparent` of the span current in `context` (default: now), if there is one."""
    return _formatted(trace.get_current_span(context))


def _formatted(span: Span) -> str | None:
    """A span's `traceparent`, as the W3C propagator writes it (without its carrier)."""
    sc = span.get_span_context()
    if not sc.is_valid:
        return None
    return f"00-{sc.trace_id:032x}-{sc.span_id:016x}-{sc.trace_flags:02x}"


def remote(traceparent: str | None) -> Context:
    """A context whose parent is a received `traceparent`; empty (a new trace) if none/malformed."""
    return W3C.extract({"traceparent": traceparent} if traceparent else {})


# ---------------------------------------------------------------- messaging


_KINDS = {"create": SpanKind.PRODUCER, "process": SpanKind.CONSUMER}


def _messaging_span(
    tracer: Tracer,
    operation: Literal["create", "process"],
    event: Event,
    ce_id: str,
    parent: Context | None,
    *,
    group: str | None = None,
) -> Span:
    """The span of an event created or processed. An `Unexported` tracer makes only ids, so
    it gets no name and no attributes: building them would be work thrown away."""
    if isinstance(tracer, Unexported):
        return tracer.start_span("", parent)
    attributes = {
        "messaging.system": "kafka",
        "messaging.operation.type": operation,
        "messaging.destination.name": event.topic,
        "messaging.message.id": ce_id,
        "messaging.kafka.message.key": str(event.lead_id),
    }
    if group is not None:
        attributes["messaging.consumer.group.name"] = group
    name = f"{operation} {event.topic}"
    return tracer.start_span(name, parent, kind=_KINDS[operation], attributes=attributes)


def created(tracer: Tracer, event: Event, ce_id: str, parent: Context | None = None) -> str | None:
    """A producer span for an event staged in the outbox; returns its `traceparent`.

    Its parent is `parent`, or what is current (a request's or an event's span). The relay
    publishes the stored `traceparent` later, so the span ends at once.
    """
    span = _messaging_span(tracer, "create", event, ce_id, parent)
    try:
        return _formatted(span)
    finally:
        span.end()


def parent_of(cause: Envelope) -> Context:
    """The context an event caused by `cause` continues: the span handling it, if any."""
    handling = _handling.get()
    found = handling.get(cause.id) if handling else None
    return found if found is not None else remote(cause.traceparent)


@contextmanager
def consuming(tracer: Tracer, envelopes: Sequence[Envelope], group: str) -> Iterator[None]:
    """Consumer spans for events handled together, each a child of its message's header.

    Inside, `parent_of(event)` is the event's span, so what it causes continues it; with a
    single event its span is also the current one.
    """
    spans = [
        _messaging_span(tracer, "process", env.data, env.id, remote(env.traceparent), group=group)
        for env in envelopes
    ]
    contexts = {
        env.id: trace.set_span_in_context(s) for env, s in zip(envelopes, spans, strict=True)
    }
    token = _handling.set(contexts)
    current = otel_context.attach(contexts[envelopes[0].id]) if len(envelopes) == 1 else None
    try:
        yield
    except Exception as exc:
        for span in spans:
            _failed(span, exc)
        raise
    finally:
        if current is not None:
            otel_context.detach(current)
        _handling.reset(token)
        for span in spans:
            span.end()


@contextmanager
def following(envelope: Envelope) -> Iterator[None]:
    """Make the span handling `envelope` current, so what is done meanwhile continues it."""
    token = otel_context.attach(parent_of(envelope))
    try:
        yield
    finally:
        otel_context.detach(token)


def _failed(span: Span, exc: BaseException) -> None:
    span.record_exception(exc)
    span.set_status(Status(StatusCode.ERROR, type(exc).__name__))


# ---------------------------------------------------------------- HTTP


@contextmanager
def client_span(tracer: Tracer, method: str, url: str, *, parent: str | None) -> Iterator[Span]:
    """A current client span for an outgoing request, child of a stored `traceparent`.

    Put `traceparent()` on the request. Only the scheme, host and port are recorded: a
    receiver's URL may hold a token.
    """
    parts = urlsplit(url)
    attributes: Attributes = {
        "http.request.method": method,
        "url.scheme": parts.scheme,
        "server.address": parts.hostname or "",
        "server.port": parts.port or (443 if parts.scheme == "https" else 80),
    }
    with tracer.start_as_current_span(
        method, remote(parent), kind=SpanKind.CLIENT, attributes=attributes
    ) as span:
        yield span


def responded(span: Span, status_code: int | None, error: str | None = None) -> None:
    """Record an outgoing request's answer on its client span; an error fails the span."""
    if status_code is not None:
        span.set_attribute("http.response.status_code", status_code)
    if error is not None or status_code is None or status_code >= 400:
        span.set_status(Status(StatusCode.ERROR, error))
