"""Through a transaction pooler the session timeouts are not sent: the service says so."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from kernel_app import make_settings

from leadflow.db_limits import DbLimits
from leadflow.settings import Settings

RELAY = "postgresql+asyncpg://leadflow@db.internal:5432/feedback"
POOLED = {"database_pooler": "pgbouncer-transaction", "relay_database_url": RELAY}


def settings_of(**kw: Any) -> Settings:
    return make_settings("postgresql+asyncpg://leadflow@pgbouncer:6432/feedback", "k:9092", **kw)


def test_timeouts_set_with_the_pooler_are_named_in_a_startup_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings = settings_of(
        **POOLED, db_statement_timeout_ms=5_000, db_idle_in_transaction_timeout_ms=20_000
    )
    with caplog.at_level(logging.WARNING, logger="leadflow.db_limits"):
        limits = DbLimits.from_settings(settings)
    [record] = caplog.records
    assert "LEADFLOW_DB_STATEMENT_TIMEOUT_MS" in record.getMessage()
    assert "LEADFLOW_DB_IDLE_IN_TRANSACTION_TIMEOUT_MS" in record.getMessage()
    assert limits.connect_args()["server_settings"] == {}  # what the warning is about


@pytest.mark.parametrize(
    "given",
    [POOLED, {"db_statement_timeout_ms": 5_000}],
    ids=["pooler, timeouts left at their defaults", "timeouts without the pooler"],
)
def test_no_warning_when_nothing_set_is_dropped(
    given: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="leadflow.db_limits"):
        DbLimits.from_settings(settings_of(**given))
    assert caplog.records == []
