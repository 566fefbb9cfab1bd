"""The service's OpenTelemetry tracer: the SDK and an exporter when exporting, else a cheap one.

`Tracing.from_settings` picks the exporter: `LEADFLOW_OTEL_EXPORTER` (`console`, `otlp`,
`none`), or with `auto` (the default) OTLP when the standard `OTEL_EXPORTER_OTLP_ENDPOINT`
is set, otherwise none. Built with the runtime, started in its lifespan: nothing happens at
import, and the global OpenTelemetry tracer provider is left alone.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Literal

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter
from opentelemetry.sdk.trace.id_generator import RandomIdGenerator
from opentelemetry.trace import (
    Link,
    NonRecordingSpan,
    Span,
    SpanContext,
    SpanKind,
    TraceFlags,
    Tracer,
)
from opentelemetry.util.types import Attributes

if TYPE_CHECKING:
    from leadflow.settings import Settings

ExporterSetting = Literal["auto", "none", "console", "otlp"]
Exporter = Literal["none", "console", "otlp"]

OTLP_ENDPOINT_VARS = ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")
_SAMPLED = TraceFlags(TraceFlags.SAMPLED)


def exporter_for(setting: ExporterSetting, environ: Mapping[str, str] = os.environ) -> Exporter:
    """`auto`: OTLP when the standard OTLP endpoint variable is set, otherwise none."""
    if setting != "auto":
        return setting
    return "otlp" if any(environ.get(name) for name in OTLP_ENDPOINT_VARS) else "none"


def _one_line(span: ReadableSpan) -> str:
    return f"{span.to_json(indent=None)}\n"


def _span_exporter(exporter: Exporter) -> SpanExporter:
    if exporter == "console":
        return ConsoleSpanExporter(out=sys.stdout, formatter=_one_line)
    # Imported only when used; reads the standard OTEL_EXPORTER_OTLP_* variables.
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import (  # noqa: PLC0415
        OTLPSpanExporter,
    )

    return OTLPSpanExporter()


class Unexported(Tracer):
    """With no exporter: spans with fresh ids in their parent's trace that record nothing.

    An SDK span costs an order of magnitude more even with no processor (docs/decisions.md,
    session 7). A new trace is sampled, a continued one keeps its parent's flags, as an
    exporting service would see it.
    """

    def __init__(self) -> None:
        self._ids = RandomIdGenerator()

    def start_span(  # noqa: PLR0917
        self,
        name: str,
        context: Context | None = None,
        kind: SpanKind = SpanKind.INTERNAL,
        attributes: Attributes = None,
        links: Sequence[Link] | None = None,
        start_time: int | None = None,
        record_exception: bool = True,
        set_status_on_exception: bool = True,
    ) -> Span:
        parent = trace.get_current_span(context).get_span_context()
        if parent.is_valid:
            trace_id, flags, state = parent.trace_id, parent.trace_flags, parent.trace_state
        else:
            trace_id, flags, state = self._ids.generate_trace_id(), _SAMPLED, None
        span_id = self._ids.generate_span_id()
        return NonRecordingSpan(SpanContext(trace_id, span_id, False, flags, state))

    @contextmanager
    def start_as_current_span(  # type: ignore[override]  # noqa: PLR0917
        self,
        name: str,
        context: Context | None = None,
        kind: SpanKind = SpanKind.INTERNAL,
        attributes: Attributes = None,
        links: Sequence[Link] | None = None,
        start_time: int | None = None,
        record_exception: bool = True,
        set_status_on_exception: bool = True,
        end_on_exit: bool = True,
    ) -> Iterator[Span]:
        with trace.use_span(self.start_span(name, context), end_on_exit=end_on_exit) as span:
            yield span


class Tracing:
    """A service's tracer: SDK spans exported when an exporter is set, `Unexported` otherwise.

    `exporter` is a name (`Exporter`) or a `SpanExporter` (tests, embedding). Nothing is
    exported, and no thread started, before `start`.
    """

    def __init__(self, service_name: str, exporter: Exporter | SpanExporter = "none") -> None:
        self.exporter = exporter
        self.provider: TracerProvider | None = None
        self._started = False
        if exporter == "none":
            self.tracer: Tracer = Unexported()
            return
        name = os.environ.get("OTEL_SERVICE_NAME") or service_name
        # Resource.create adds OTEL_RESOURCE_ATTRIBUTES and the SDK's own.
        resource = Resource.create({SERVICE_NAME: name})
        self.provider = TracerProvider(resource=resource, shutdown_on_exit=False)
        self.tracer = self.provider.get_tracer("leadflow")

    @classmethod
    def from_settings(cls, settings: Settings) -> Tracing:
        return cls(settings.service_name, exporter_for(settings.otel_exporter))

    def start(self) -> None:
        """Start exporting: a batch processor, with its own thread."""
        if self.provider is None or self._started:
            return
        self._started = True
        exporter = self.exporter
        if not isinstance(exporter, SpanExporter):
            exporter = _span_exporter(exporter)
        self.provider.add_span_processor(BatchSpanProcessor(exporter))

    def flush(self) -> None:
        """Export what is queued now (blocking)."""
        if self.provider is not None:
            self.provider.force_flush()

    def shutdown(self) -> None:
        """Export what is queued and stop (blocking: run it off the event loop)."""
        if self.provider is not None:
            self.provider.shutdown()
