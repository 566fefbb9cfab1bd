"""One stack of the four services per e2e module, on the run's Kafka broker."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from support.receiver import Receiver
from support.stack import Stack


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    r = Receiver().start()
    yield r
    r.stop()


@pytest.fixture(scope="module")
def stack(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    base: Path = tmp_path_factory.mktemp("stack")
    s = Stack(
        base,
        kafka_bootstrap,
        extra_env={
            "LEADFLOW_WEBHOOK_RETRY_SCHEDULE": "[0, 1, 2, 3, 5]",
            "LEADFLOW_ASSIGNMENT_SLA_SECONDS": "3600",
            "LEADFLOW_WEBHOOK_POLL_SECONDS": "0.2",
        },
    ).start()
    yield s
    codes = s.stop()
    # uvicorn re-raises SIGTERM after its graceful shutdown, so -15 is the clean exit here;
    # the lifespan's last line proves the drain ran.
    assert all(code in (0, -signal.SIGTERM) for code in codes.values()), codes
    assert all('"msg": "stopped"' in log for log in s.logs().values())
