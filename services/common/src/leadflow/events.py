"""The event contract: one frozen pydantic model per event, the topic map, CloudEvents binding.

Events travel as CloudEvents 1.0 in Kafka *binary content mode*: the message value is the
JSON `data`, every other attribute is a `ce_*` header, `content-type` is the data's media
type and the message key is the `lead_id` (so one lead's events stay in order).

Evolution (docs/architecture.md, "Rolling upgrades"): the models forbid unknown fields, so
a producer's typo fails where it builds the event, while `decode` ignores them, so a field
added by an upgraded producer never sends an event to the DLQ of a consumer not upgraded
yet. A removed, renamed or re-meant field is a breaking change: a new model with the next
`ce_type` version (`io.leadflow.lead.captured.v2`), listed in `EVENT_TYPES`, published
alongside the old one until every consumer reads it. A consumer skips a version of a known
type that it has not registered (its twin travels alongside); a type it does not know at
all is malformed.
"""

from __future__ import annotations

import functools
import os
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, ClassVar, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    ValidationError,
    model_serializer,
    model_validator,
)

SPEC_VERSION = "1.0"
CONTENT_TYPE = "application/json"


class _Frozen(BaseModel):
    """Strict where events are built (an unknown field is a producer's bug); `decode`
    validates with extra="ignore" instead, per call, so consumers tolerate added fields."""

    # An error names the field, never its value (a name, a company): its text goes to logs
    # and DLQ headers.
    model_config = ConfigDict(frozen=True, extra="forbid", hide_input_in_errors=True)


# ---------------------------------------------------------------- the lead


class Attribution(_Frozen):
    """Where the lead came from."""

    source: str | None = None
    form_id: str | None = None
    utm_source: str | None = None
    utm_medium: str | None = None
    utm_campaign: str | None = None
    utm_term: str | None = None
    utm_content: str | None = None
    referrer: str | None = None
    landing_page: str | None = None


class Consent(_Frozen):
    """What the person agreed to, in which words, when."""

    marketing: bool = False
    text: str | None = None
    granted_at: datetime | None = None


class Lead(_Frozen):
    """A normalised lead as intake stores and publishes it."""

    lead_id: uuid.UUID
    email: str
    first_name: str | None = None
    last_name: str | None = None
    phone: str | None = None
    company: str | None = None
    job_title: str | None = None
    company_size: int | None = None
    industry: str | None = None
    country: str | None = None
    website: str | None = None
    attribution: Attribution = Field(default_factory=Attribution)
    consent: Consent = Field(default_factory=Consent)
    custom: dict[str, Any] = Field(default_factory=dict)
    captured_at: datetime

    @property
    def email_domain(self) -> str:
        return self.email.rsplit("@", 1)[-1]


# ---------------------------------------------------------------- events


class Event(_Frozen):
    """Base of every event. Subclasses set `topic` and `ce_type`."""

    topic: ClassVar[str]
    ce_type: ClassVar[str]

    lead_id: uuid.UUID


class LeadCaptured(Event):
    """A lead was accepted by intake (or touched again: `touch` > 1)."""

    topic: ClassVar[str] = "leads.captured"
    ce_type: ClassVar[str] = "io.leadflow.lead.captured.v1"

    lead: Lead
    duplicate: bool = False
    touch: int = 1


class Factor(_Frozen):
    """One explainable contribution to a score."""

    name: str
    points: float
    reason: str


class LeadScored(Event):
    """A lead was (re)scored. Carries the lead so downstream needs no lookup."""

    topic: ClassVar[str] = "leads.scored"
    ce_type: ClassVar[str] = "io.leadflow.lead.scored.v1"

    score: int = Field(ge=0, le=100)
    qualified: bool
    threshold: int
    factors: list[Factor]
    model_version: str
    scored_at: datetime
    lead: Lead


class LeadQualified(LeadScored):
    """A lead became marketing-qualified; emitted once per lead."""

    topic: ClassVar[str] = "leads.qualified"
    ce_type: ClassVar[str] = "io.leadflow.lead.qualified.v1"


class RepRef(_Frozen):
    """The salesperson a lead went to."""

    rep_id: uuid.UUID
    name: str
    email: str


class AssignmentReason(_Frozen):
    """Why this rep: the rule that matched and every candidate considered; while a routing
    experiment runs, `variant` says its arm: `{"experiment": name, "arm": "control" |
    "variant"}` (added in v1: absent from the JSON when None, ignored by older consumers)."""

    rule: str
    candidates: list[dict[str, Any]] = Field(default_factory=list)
    detail: str | None = None
    variant: dict[str, str] | None = None

    @model_serializer(mode="wrap")
    def _without_no_variant(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        # Without an experiment the event is byte for byte what it was before the field.
        doc: dict[str, Any] = handler(self)
        if doc.get("variant") is None:
            doc.pop("variant", None)
        return doc


class LeadAssigned(Event):
    """A lead was assigned (attempt 1) or re-assigned (attempt > 1) to a rep."""

    topic: ClassVar[str] = "leads.assigned"
    ce_type: ClassVar[str] = "io.leadflow.lead.assigned.v1"

    rep: RepRef
    reason: AssignmentReason
    assigned_at: datetime
    attempt: int = Field(ge=1)


Stage = Literal["contacted", "sql", "won", "lost", "rejected"]
# The reason codes of the contract. The event carries a reason only as one of these: free
# text written in a CRM may name the person, and the log keeps it past any erasure.
REASON_CODES = frozenset({"not_a_fit", "not_ready", "no_contact", "spam", "duplicate", "other"})
# A rejected lead goes back to marketing by default when it may ripen (not ready yet, not
# reached); spam and duplicates never come back, whatever the sender asks.
RECYCLED_BY_DEFAULT = frozenset({"not_ready", "no_contact"})
NEVER_RECYCLED = frozenset({"spam", "duplicate"})


def reason_code(reason: str | None) -> str | None:
    """The reason as the event may carry it: a contract code, else nothing."""
    return reason if reason in REASON_CODES else None


def default_recycle(reason: str | None) -> bool:
    """Whether a lead rejected for `reason` goes back to marketing when nobody says."""
    return reason in RECYCLED_BY_DEFAULT


class LeadOutcome(Event):
    """Sales reported how far a lead got; `reason` is a code of `REASON_CODES` or None.

    `stage: rejected` (sales judged the lead not sales-ready) carries its reason code, and
    `recycle` says whether the lead goes back to marketing (its assignment closed, free to
    qualify again on a later touch); `recycle` is false for every other stage and for spam
    and duplicates. Both were added to v1: consumers ignore fields they do not know, and an
    event without `recycle` (an older producer) means false.
    """

    topic: ClassVar[str] = "leads.outcomes"
    ce_type: ClassVar[str] = "io.leadflow.lead.outcome.v1"

    stage: Stage
    occurred_at: datetime
    amount: Decimal | None = None
    currency: str | None = None
    reason: str | None = None
    external_id: str | None = None
    recycle: bool = False

    @model_validator(mode="after")
    def _recycle_only_when_it_may(self) -> LeadOutcome:
        if self.recycle and (self.stage != "rejected" or self.reason in NEVER_RECYCLED):
            raise ValueError("recycle is only for a rejected lead, never for spam or duplicate")
        return self


class LeadErased(Event):
    """The person asked to be forgotten: every service drops their personal data."""

    topic: ClassVar[str] = "leads.erased"
    ce_type: ClassVar[str] = "io.leadflow.lead.erased.v1"

    erased_at: datetime


EVENT_TYPES: tuple[type[Event], ...] = (
    LeadCaptured,
    LeadScored,
    LeadQualified,
    LeadAssigned,
    LeadOutcome,
    LeadErased,
)
BY_CE_TYPE: Mapping[str, type[Event]] = {cls.ce_type: cls for cls in EVENT_TYPES}
TOPICS: tuple[str, ...] = tuple(cls.topic for cls in EVENT_TYPES)
# The topics whose events carry the lead itself (email, phone, names): compacted by lead id,
# erased with tombstones (topic_config.py, erasure_log.py).
PII_TOPICS: tuple[str, ...] = (LeadCaptured.topic, LeadScored.topic, LeadQualified.topic)


def dlq_topic(topic: str) -> str:
    """The dead-letter topic of a topic."""
    return f"{topic}.dlq"


# ---------------------------------------------------------------- CloudEvents binding

Headers = Sequence[tuple[str, bytes]]


class MalformedEvent(ValueError):
    """A Kafka message that is not a valid leadflow CloudEvent (goes to the DLQ)."""


class UnknownVersion(MalformedEvent):
    """A version of a known event type that this consumer has not registered (skipped: the
    producer publishes the version it replaces alongside until every consumer reads it)."""


def _family(ce_type: str) -> str:
    """`io.leadflow.lead.captured.v2` → `io.leadflow.lead.captured`."""
    base, _, version = ce_type.rpartition(".v")
    return base if base and version.isdigit() else ce_type


def new_event_id() -> str:
    """A random (version 4) UUID as text, as `str(uuid.uuid4())` writes it, with less work:
    every event staged pays for one."""
    h = os.urandom(16).hex()
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[int(h[16], 16) & 3]}{h[17:20]}-{h[20:]}"


@dataclass(frozen=True)
class Envelope:
    """A CloudEvent around one of our events, as it travels on Kafka."""

    data: Event
    source: str
    id: str = field(default_factory=new_event_id)
    time: datetime = field(default_factory=lambda: datetime.now(UTC))
    traceparent: str | None = None

    @property
    def topic(self) -> str:
        return self.data.topic

    @property
    def type(self) -> str:
        return self.data.ce_type

    @property
    def key(self) -> bytes:
        return str(self.data.lead_id).encode()

    def value(self) -> bytes:
        # What `model_dump_json()` returns, encoded, without the detour through str.
        return self.data.__pydantic_serializer__.to_json(self.data)

    def headers(self) -> list[tuple[str, bytes]]:
        h = [
            _SPEC_VERSION_HEADER,
            ("ce_id", self.id.encode()),
            ("ce_source", self.source.encode()),
            ("ce_type", _encoded(self.data.ce_type)),
            ("ce_time", self.time.isoformat().encode()),
            _CONTENT_TYPE_HEADER,
        ]
        if self.traceparent:
            h.append(("traceparent", self.traceparent.encode()))
        return h


_SPEC_VERSION_HEADER = ("ce_specversion", SPEC_VERSION.encode())
_CONTENT_TYPE_HEADER = ("content-type", CONTENT_TYPE.encode())
_encoded = functools.lru_cache(maxsize=64)(str.encode)  # the few ce_types, encoded once


def header_map(headers: Headers | None) -> dict[str, str]:
    """Kafka headers as text; undecodable values become replacement characters."""
    return {k: (v or b"").decode("utf-8", "replace") for k, v in (headers or ())}


def decode(
    value: bytes | None, headers: Headers | None, types: Mapping[str, type[Event]] = BY_CE_TYPE
) -> Envelope:
    """Parse a binary-mode CloudEvent of a registered `ce_type` from Kafka, ignoring unknown
    data fields; raise MalformedEvent (UnknownVersion for a version not in `types`)."""
    h = header_map(headers)
    for required in ("ce_specversion", "ce_id", "ce_source", "ce_type"):
        if not h.get(required):
            raise MalformedEvent(f"missing header {required}")
    if h["ce_specversion"] != SPEC_VERSION:
        raise MalformedEvent(f"unsupported ce_specversion {h['ce_specversion']!r}")
    cls = types.get(h["ce_type"])
    if cls is None:
        if _family(h["ce_type"]) in {_family(t) for t in types}:
            raise UnknownVersion(f"unregistered version ce_type {h['ce_type']!r}")
        raise MalformedEvent(f"unknown ce_type {h['ce_type']!r}")
    ctype = h.get("content-type", CONTENT_TYPE)
    if not ctype.startswith(CONTENT_TYPE):
        raise MalformedEvent(f"unsupported content-type {ctype!r}")
    try:
        # One pass: parse and validate. Fields a newer producer added are dropped, nested too.
        data = cls.model_validate_json(value or b"", extra="ignore")
    except (ValueError, ValidationError) as exc:
        raise MalformedEvent(f"invalid {cls.__name__} data: {_short(exc)}") from exc
    try:
        time = datetime.fromisoformat(h["ce_time"]) if h.get("ce_time") else datetime.now(UTC)
    except ValueError as exc:
        raise MalformedEvent(f"invalid ce_time {h['ce_time']!r}") from exc
    if time.utcoffset() is None:  # RFC 3339 requires one; a naive time breaks every comparison
        raise MalformedEvent(f"ce_time {h['ce_time']!r} has no UTC offset")
    return Envelope(
        data=data,
        source=h["ce_source"],
        id=h["ce_id"],
        time=time,
        traceparent=h.get("traceparent"),
    )


def _short(exc: Exception) -> str:
    text = str(exc).replace("\n", " ")
    return text if len(text) <= 300 else text[:297] + "..."
