"""JSON logs without personal data, and the Prometheus metrics every service exposes."""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime

from prometheus_client import Counter, Gauge, Histogram

# A last line of defence: code never logs personal data on purpose, and this masks what
# slips through (an email or a phone number in an exception message, say).
# Both run in linear time on any text (a log line may quote what a client sent): a match
# starts only where a run of its characters starts, and a phone number is at most 42 long.
_EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# Digits standing alone (not inside an id such as a UUID's hex groups).
_PHONE = re.compile(r"(?<![\w-])\+?\d[\d ()-]{7,40}\d(?![\w-])")

# What carries whole field values, names and companies among them: SQLAlchemy's
# "[parameters: ...]" line of a database error and pydantic's "input_value=..., input_type="
# (engines and models hide them at the source, db.py and events.py; these catch the rest).
# A repr holds no raw newline, so each runs to the end of its line at most: from the first
# opening to the last closing on the line (`_mask_spans`, linear; as a pattern, each opening
# without a closing scanned the rest of the line again: 240 KB of them took 10 s).
_SQL_PARAMETERS = ("[parameters: ", "]", "[parameters: hidden]")
_INPUT_VALUE = ("input_value=", ", input_type=", "input_value=hidden, input_type=")
# PostgreSQL's DETAIL of an error quotes the values: "Key (name)=(Ada Lovelace) already
# exists", "Failing row contains (...)".
_PG_DETAIL = re.compile(r"DETAIL: [^\n]*")
# FastAPI's validation errors print pydantic's error dicts, "'input': ..." included.
_ERROR_INPUT = re.compile(r"'input': [^\n]*")

_STD_ATTRS = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}


def redact(text: str) -> str:
    """Mask email addresses, phone numbers, SQL parameters and pydantic input values."""
    if any(m in text for m in ("parameters: ", "input_value=", "DETAIL: ", "'input': ")):
        text = _mask_spans(text, *_SQL_PARAMETERS)
        text = _mask_spans(text, *_INPUT_VALUE)
        text = _PG_DETAIL.sub("DETAIL: hidden", text)
        text = _ERROR_INPUT.sub("'input': hidden}", text)
    return _PHONE.sub("[phone]", _EMAIL.sub("[email]", text))


def _mask_spans(text: str, opening: str, closing: str, mask: str) -> str:
    """Each line's span from its first `opening` to its last `closing` after it, as `mask`."""
    if opening not in text:
        return text
    lines = text.split("\n")
    for n, line in enumerate(lines):
        start = line.find(opening)
        if start < 0:
            continue
        end = line.rfind(closing, start + len(opening))
        if end >= 0:
            lines[n] = line[:start] + mask + line[end + len(closing) :]
    return "\n".join(lines)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, service, message and extras."""

    def __init__(self, service: str) -> None:
        super().__init__()
        self._service = service

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "service": self._service,
            "logger": record.name,
            "msg": redact(record.getMessage()),
        }
        for key, value in record.__dict__.items():
            if key not in _STD_ATTRS and not key.startswith("_"):
                safe = key.endswith("_id") or not isinstance(value, str)
                out[key] = value if safe else redact(value)
        if record.exc_info:
            out["exc"] = redact(self.formatException(record.exc_info))
        return json.dumps(out, default=str)


def configure_logging(service: str, level: str = "INFO") -> None:
    """Route all logging (uvicorn's too) to stdout as JSON lines."""
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter(service))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        lg = logging.getLogger(name)
        lg.handlers[:] = []
        lg.propagate = True
    logging.getLogger("aiokafka").setLevel(logging.WARNING)
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)


HTTP_REQUESTS = Counter(
    "leadflow_http_requests_total", "HTTP requests answered", ["method", "route", "status"]
)
HTTP_LATENCY = Histogram(
    "leadflow_http_request_duration_seconds",
    "HTTP request latency",
    ["method", "route"],
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
EVENTS_CONSUMED = Counter(
    "leadflow_events_consumed_total", "Kafka events consumed", ["topic", "result"]
)
EVENT_HANDLE_SECONDS = Histogram(
    "leadflow_event_handle_seconds",
    "Time to handle one consumed event, its transaction included (handled together with "
    "others: its share of their transaction); decoding, back-off and failed attempts excluded",
    ["topic"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5),
)
EVENT_BATCH_HANDLE_SECONDS = Histogram(
    "leadflow_event_batch_handle_seconds",
    "Time of one transaction that handled a poll's events together",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5),
)
EVENT_AGE_SECONDS = Histogram(
    "leadflow_event_age_seconds",
    "Time from an event's ce_time to the moment this service handled it",
    ["topic"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
DLQ_PUBLISHED = Counter("leadflow_dlq_published_total", "Events sent to a DLQ", ["topic"])
DLQ_PENDING = Gauge(
    "leadflow_dlq_pending_replay",
    "Messages in the topic's DLQ not replayed yet, as last read from Kafka (dlq_gauge.py)",
    ["topic"],
)
OUTBOX_PUBLISHED = Counter("leadflow_outbox_published_total", "Outbox events published")
OUTBOX_PENDING = Gauge("leadflow_outbox_pending", "Outbox rows seen unsent at the last poll")
OUTBOX_OLDEST_PENDING = Gauge(
    "leadflow_outbox_oldest_pending_seconds",
    "Age of the oldest unsent outbox row at the last poll (0: none waiting); reported by the "
    "replica whose relay publishes, 0 on the others",
)
CONSUMER_LAG = Gauge("leadflow_consumer_lag", "Messages behind the high watermark", ["topic"])
