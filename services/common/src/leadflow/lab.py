"""The what-if lab's channel: simulation requests and reports on the internal `leadflow.lab`
topic, as binary-mode CloudEvents keyed by simulation id.

The dashboard (feedback) calls no other service over HTTP: it publishes a `requested`
message; the service that runs that kind of simulation (sales-assignment: routing,
lead-scoring: scoring) follows the topic as its own consumer group, so one replica acts on
each request, and publishes a `reported` message that feedback keeps. sales-assignment also
publishes each routing experiment as it stands (`ExperimentReported`, keyed by its id) for
the page's experiments section. Messages are bounded
(`MAX_MESSAGE_BYTES`): a report too large to carry loses its moved leads first. A service
follows the topic with `lab_follower`.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar, Literal

from aiokafka import AIOKafkaProducer
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from leadflow.events import CONTENT_TYPE, SPEC_VERSION, header_map, new_event_id
from leadflow.http import field_name
from leadflow.kafka import LAB_TOPIC, physical_topic
from leadflow.uow import UnitOfWork

REQUESTED = "io.leadflow.lab.simulation.requested.v1"
REPORTED = "io.leadflow.lab.simulation.reported.v1"
EXPERIMENT_REPORTED = "io.leadflow.lab.experiment.reported.v1"
# Under the producer's max_request_size (1 MiB) with room for the headers.
MAX_MESSAGE_BYTES = 900_000
# A request nobody answered within this long is answered `failed` rather than run: a new
# consumer group starts at the topic's beginning, a week of requests back.
REQUEST_TTL = timedelta(hours=1)
# A handler may run a simulation inline: the group must not drop it meanwhile.
MAX_POLL_INTERVAL_MS = 1_800_000
# A request still unanswered this long after it was made never will be: past the hour it
# may be taken up in, plus the longest a follower may hold it (the page shows it failed).
ANSWER_DEADLINE = REQUEST_TTL + timedelta(milliseconds=MAX_POLL_INTERVAL_MS)

Kind = Literal["routing", "scoring"]
Status = Literal["running", "done", "failed"]


class _Lab(BaseModel):
    # Fields a newer producer adds are ignored (FIELD-NOTES: consumers of evolving events).
    model_config = ConfigDict(frozen=True, extra="ignore")
    ce_type: ClassVar[str]

    simulation_id: uuid.UUID
    kind: Kind


class SimulationRequested(_Lab):
    """Someone asked for a simulation; `request` is the API's request body."""

    ce_type: ClassVar[str] = REQUESTED

    request: dict[str, Any]
    requested_by: str = Field(max_length=200)  # a role and token id, nothing personal
    requested_at: AwareDatetime


class SimulationReported(_Lab):
    """A simulation ended (or could not start); `report` is the API's answer."""

    ce_type: ClassVar[str] = REPORTED

    status: Status
    report: dict[str, Any]
    finished_at: AwareDatetime


class ShadowRep(BaseModel):
    """One rep in a shadow experiment: decisions that gave them the lead, actually and in
    the shadow (by id only: the page names reps from its own data)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    rep_id: uuid.UUID
    actual: int = Field(ge=0)
    shadow: int = Field(ge=0)


class ShadowSummary(BaseModel):
    """A shadow experiment's decisions, those the variant would have decided otherwise,
    the leads each side queued, and per rep actual vs shadow."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    decisions: int = Field(ge=0)
    would_differ: int = Field(ge=0)
    queued_actual: int = Field(ge=0, default=0)
    queued_shadow: int = Field(ge=0, default=0)
    per_rep: list[ShadowRep] = Field(default_factory=list, max_length=5_000)


class ExperimentReported(BaseModel):
    """A routing experiment as it stands (sales-assignment's, at its start, its end and
    each minute while it runs); the latest by `reported_at` is the one to keep."""

    model_config = ConfigDict(frozen=True, extra="ignore")
    ce_type: ClassVar[str] = EXPERIMENT_REPORTED

    experiment_id: uuid.UUID
    name: str = Field(max_length=200)
    mode: Literal["shadow", "split"]
    share: float | None = None
    status: Literal["running", "ended", "promoted"]
    started_at: AwareDatetime
    ended_at: AwareDatetime | None = None
    reported_at: AwareDatetime
    # Per arm (control, variant): {"decisions", "leads"}, as GET /v1/routing/experiments/{id}.
    arms: dict[str, dict[str, int]]
    shadow: ShadowSummary | None = None

    @property
    def simulation_id(self) -> uuid.UUID:
        """The message's key on the topic (the experiment's id), as a simulation's id is."""
        return self.experiment_id


LabMessage = SimulationRequested | SimulationReported | ExperimentReported
BY_TYPE: dict[str, type[LabMessage]] = {
    REQUESTED: SimulationRequested,
    REPORTED: SimulationReported,
    EXPERIMENT_REPORTED: ExperimentReported,
}


class MalformedLabMessage(ValueError):
    """A record on the lab topic that is not a lab message we can read."""


def bounded_report(report: dict[str, Any]) -> dict[str, Any]:
    """The report, made to fit one message: without its moved leads if it must (`moved_total`
    still counts them), else only why it could not be carried."""
    if _size(report) <= MAX_MESSAGE_BYTES // 2:
        return report
    trimmed = {**report, "moved": [], "moved_truncated": True}
    if _size(trimmed) <= MAX_MESSAGE_BYTES // 2:
        return trimmed
    return {
        "simulation_id": report.get("simulation_id"),
        "status": "failed",
        "error": f"the report is too large to carry ({_size(report)} bytes)",
    }


def _size(document: dict[str, Any]) -> int:
    return len(json.dumps(document, default=str).encode())


def reported(
    simulation_id: uuid.UUID, kind: Kind, report: dict[str, Any], *, now: datetime | None = None
) -> SimulationReported:
    """The `reported` message of a report (its status read from it; bounded)."""
    status = report.get("status")
    return SimulationReported(
        simulation_id=simulation_id,
        kind=kind,
        status=status if status in ("running", "done", "failed") else "done",
        report=bounded_report(report),
        finished_at=now or datetime.now(UTC),
    )


def failed(
    simulation_id: uuid.UUID, kind: Kind, error: str, errors: list[Any] | None = None
) -> SimulationReported:
    """A `failed` report: why, and for a request that does not validate, each field's
    error as the API's 422 gives them (`{"field", "message"}`)."""
    report: dict[str, Any] = {"error": error}
    if errors is not None:
        report["errors"] = errors[:100]
    return reported(simulation_id, kind, {"status": "failed", **report})


def invalid_fields(exc: ValidationError) -> list[dict[str, str]]:
    """A request's validation errors as the API's 422 names them (`{"field", "message"}`)."""
    return [{"field": field_name(e["loc"]), "message": e["msg"]} for e in exc.errors()]


def expired(message: SimulationRequested, now: datetime | None = None) -> bool:
    """Whether a request is too old to run (`REQUEST_TTL`)."""
    return (now or datetime.now(UTC)) - message.requested_at > REQUEST_TTL


def encode(message: LabMessage, *, source: str) -> tuple[bytes, bytes, list[tuple[str, bytes]]]:
    """Key, value and CloudEvents headers of a message; `source` is the sending service."""
    value = message.model_dump_json().encode()
    if len(value) > MAX_MESSAGE_BYTES:
        raise ValueError(f"a lab message of {len(value)} bytes (at most {MAX_MESSAGE_BYTES})")
    headers = [
        ("ce_specversion", SPEC_VERSION.encode()),
        ("ce_id", new_event_id().encode()),
        ("ce_source", source.encode()),
        ("ce_type", message.ce_type.encode()),
        ("ce_time", datetime.now(UTC).isoformat().encode()),
        ("content-type", CONTENT_TYPE.encode()),
    ]
    return str(message.simulation_id).encode(), value, headers


def decode(value: bytes | None, headers: Any) -> LabMessage | None:
    """The message in a record; None for a type this release does not know (a newer one's);
    MalformedLabMessage when it cannot be read."""
    h = header_map(headers)
    cls = BY_TYPE.get(h.get("ce_type", ""))
    if cls is None:
        if not h.get("ce_type"):
            raise MalformedLabMessage("missing header ce_type")
        return None
    if h.get("ce_specversion") != SPEC_VERSION:
        raise MalformedLabMessage(f"unsupported ce_specversion {h.get('ce_specversion')!r}")
    if value is None or len(value) > MAX_MESSAGE_BYTES:
        raise MalformedLabMessage("no value, or one over the size limit")
    try:
        return cls.model_validate_json(value)
    except ValidationError as exc:
        raise MalformedLabMessage(f"invalid {cls.__name__}: {exc.error_count()} error(s)") from exc


def stage(uow: UnitOfWork, message: LabMessage, *, source: str) -> None:
    """Publish `message` through the outbox, with the unit of work's other writes."""
    key, value, headers = encode(message, source=source)
    ce_id = dict(headers)["ce_id"].decode()
    uow.emit_record(record_id=ce_id, topic=LAB_TOPIC, key=key, value=value, headers=headers)


async def publish(
    producer: AIOKafkaProducer, message: LabMessage, *, source: str, prefix: str = ""
) -> None:
    """Publish `message` at once (tests, tools); services stage it in their outbox."""
    key, value, headers = encode(message, source=source)
    topic = physical_topic(LAB_TOPIC, prefix)
    await producer.send_and_wait(topic, value=value, key=key, headers=headers)
