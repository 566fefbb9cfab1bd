"""The what-if lab's channel in tests: a request published and the one report it gets."""

from __future__ import annotations

from aiokafka import AIOKafkaProducer

from leadflow import lab
from support.kafka_tools import eventually


async def one_report(
    producer: AIOKafkaProducer,
    request: lab.SimulationRequested,
    reports: list[lab.LabMessage],
    *,
    prefix: str,
    source: str = "/test",
    timeout: float = 30.0,
) -> lab.SimulationReported:
    """Publish `request` on the lab topic and wait for the one report a follower puts in
    `reports`: it answers that request, of its kind."""
    await lab.publish(producer, request, source=source, prefix=prefix)
    await eventually(lambda: len(reports) == 1, timeout=timeout)
    [report] = reports
    assert isinstance(report, lab.SimulationReported)
    assert (report.simulation_id, report.kind) == (request.simulation_id, request.kind)
    return report
