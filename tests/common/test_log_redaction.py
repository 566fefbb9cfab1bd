"""Names and companies never reach the logs through SQL parameters or pydantic's input_value."""

from __future__ import annotations

import io
import logging
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest
from fastapi import FastAPI
from pydantic import BaseModel, ValidationError
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from leadflow.db import create_engine
from leadflow.events import Envelope, LeadCaptured, MalformedEvent, decode
from leadflow.http import install_error_handlers
from leadflow.observability import JsonFormatter, redact
from leadflow.settings import Settings

NAME, COMPANY = "Ada Lovelace", "Analytical Engines Ltd"


@pytest.fixture
def logs() -> Iterator[io.StringIO]:
    """What the service's JSON log handler writes, SQLAlchemy's engine log included."""
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(JsonFormatter("svc"))
    loggers = [logging.getLogger("leadflow.test"), logging.getLogger("sqlalchemy.engine")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.addHandler(handler)
        lg.setLevel(logging.INFO)  # the engine logs each statement and its parameters at INFO
    yield out
    for lg, level in zip(loggers, levels, strict=True):
        lg.removeHandler(handler)
        lg.setLevel(level)


async def test_sql_parameters_are_not_logged_with_a_database_error(
    database_url: str, logs: io.StringIO
) -> None:
    engine = create_engine(database_url)
    try:
        async with engine.begin() as conn:
            await conn.execute(text("CREATE TABLE people (name text UNIQUE, company text)"))
        row = {"name": NAME, "company": COMPANY}
        insert = text("INSERT INTO people (name, company) VALUES (:name, :company)")
        async with engine.begin() as conn:
            await conn.execute(insert, row)
        with pytest.raises(IntegrityError) as caught:
            async with engine.begin() as conn:
                await conn.execute(insert, row)
        logging.getLogger("leadflow.test").error("insert failed", exc_info=caught.value)
    finally:
        await engine.dispose()
    out = logs.getvalue()
    assert "insert failed" in out
    assert "INSERT INTO people" in out  # the statement is still there to debug with
    assert NAME not in out
    assert COMPANY not in out


def _captured(**lead: object) -> dict[str, object]:
    return {
        "lead_id": str(uuid.uuid4()),
        "lead": {
            "lead_id": str(uuid.uuid4()),
            "email": "ada@example.com",
            "first_name": "Ada",
            "last_name": "Lovelace",
            "company": COMPANY,
            "captured_at": datetime.now(UTC).isoformat(),
            **lead,
        },
    }


def test_a_validation_error_logs_no_input_value(logs: io.StringIO) -> None:
    with pytest.raises(ValidationError) as caught:
        LeadCaptured.model_validate(_captured(company_size=NAME, email=None))
    logging.getLogger("leadflow.test").error("bad event", exc_info=caught.value)
    logging.getLogger("leadflow.test").warning("as text: %s", caught.value)
    out = logs.getvalue()
    assert "company_size" in out  # which field failed is kept
    assert COMPANY not in out
    assert NAME not in out


def test_a_malformed_event_s_cause_names_fields_not_their_values() -> None:
    good = Envelope(data=LeadCaptured.model_validate(_captured()), source="/t")
    bad = good.value().replace(b'"captured_at":"', b'"captured_at":"Ada Lovelace ')
    with pytest.raises(MalformedEvent) as caught:
        decode(bad, good.headers())  # the cause goes into DLQ headers and logs
    assert "captured_at" in str(caught.value)
    assert "Lovelace" not in str(caught.value)


def test_a_settings_error_does_not_echo_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEADFLOW_ENV", "prod")
    monkeypatch.setenv("LEADFLOW_ADMIN_TOKEN", "Zq8x-Lp3vNc7tWb2yHd5kRm4jQs9Xe2Ua7")
    monkeypatch.setenv("LEADFLOW_DATABASE_URL", "postgresql+asyncpg://u:Pa55w0rd@db/x")
    with pytest.raises(ValidationError) as caught:
        Settings()
    assert "Value error, " in str(caught.value)  # the reason, without the input
    assert "input_value" not in str(caught.value)  # the environment, secrets and all


async def test_a_response_that_fails_its_model_logs_no_input(logs: io.StringIO) -> None:
    class Person(BaseModel):
        name: str
        size: int

    app = FastAPI()
    install_error_handlers(app)

    @app.get("/p", response_model=Person)
    async def person() -> dict[str, str]:
        return {"name": NAME, "size": COMPANY}  # a bug: the model refuses it

    logging.getLogger("leadflow.http").addHandler(logs_handler := _handler(logs))
    try:
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
            assert (await http.get("/p")).status_code == 500
    finally:
        logging.getLogger("leadflow.http").removeHandler(logs_handler)
    out = logs.getvalue()
    assert "unhandled error" in out
    assert "size" in out
    assert COMPANY not in out


def _handler(out: io.StringIO) -> logging.Handler:
    handler = logging.StreamHandler(out)
    handler.setFormatter(JsonFormatter("svc"))
    return handler


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "[SQL: INSERT INTO t VALUES ($1, $2)]\n[parameters: ('Ada Lovelace', 'ACME')]\n(Bg)",
            "[SQL: INSERT INTO t VALUES ($1, $2)]\n[parameters: hidden]\n(Bg)",
        ),
        (
            "  Input should be a valid integer [type=int_parsing, input_value='Ada, input_type=x', "
            "input_type=str]",
            "  Input should be a valid integer [type=int_parsing, input_value=hidden, "
            "input_type=str]",
        ),
        (
            'violates unique constraint "people_name_key"\nDETAIL:  Key (name)=(Ada) already '
            "exists.\n[SQL: INSERT]",
            'violates unique constraint "people_name_key"\nDETAIL: hidden\n[SQL: INSERT]',
        ),
        (
            "1 validation error:\n  {'type': 'int_parsing', 'loc': ('n',), 'msg': 'bad', "
            "'input': 'Ada Lovelace', 'url': 'https://errors.pydantic.dev'}",
            "1 validation error:\n  {'type': 'int_parsing', 'loc': ('n',), 'msg': 'bad', "
            "'input': hidden}",
        ),
    ],
)
def test_the_formatter_masks_parameters_and_input_values_from_anywhere(
    text: str, expected: str
) -> None:
    assert redact(text) == expected
