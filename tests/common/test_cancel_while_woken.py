"""A stop that cancels a loop just as it is woken must stop it (Python 3.11's wait_for could
swallow such a cancel: the loop went on, and a test or a shutdown waited for it)."""

from __future__ import annotations

from leadflow.bus import EventConsumer
from leadflow.db import create_engine
from leadflow.kafka import ProducerHolder
from leadflow.outbox import OutboxRelay
from support.cancelling import cancelled_as_woken


async def test_the_consumer_pause() -> None:
    consumer = EventConsumer(
        bootstrap="localhost:1",
        group="g",
        topics=["leads.erased"],
        handlers={},
        sessions=None,  # type: ignore[arg-type]  # never used here
        producer=None,  # type: ignore[arg-type]
    )
    stopping = consumer._stopping
    await cancelled_as_woken(lambda: consumer._pause(30), stopping.set)


async def test_the_relay_sleep() -> None:
    engine = create_engine("sqlite+aiosqlite:///:memory:")
    relay = OutboxRelay(engine, ProducerHolder("localhost:1", client_id="test"))
    try:
        await cancelled_as_woken(lambda: relay._sleep(30), relay.wake)
    finally:
        await engine.dispose()
