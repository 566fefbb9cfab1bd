"""The what-if lab page in headless Chromium: feedback as a real process on the real broker
(topics of this module's own), the simulation travelling over `leadflow.lab`.

Chromium logs in on /lab, a wrong draft is said on the page, a routing simulation is run from
the form and its report is read once it arrives (the page reloads itself while it waits);
screenshots at laptop and phone sizes, as the dashboard's browser test takes them.
"""

from __future__ import annotations

import asyncio
import os
import threading
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer
from test_dashboard_browser import _at_each_size, chromium  # noqa: F401  (a fixture)

from feedback.app import MIGRATIONS
from leadflow import lab
from leadflow.events import TOPICS
from leadflow.kafka import ensure_topics, physical_topic
from leadflow.migrations import upgrade
from leadflow.settings import Settings
from support.infra import free_port
from support.kafka_tools import place_group_at_end
from support.stack import ADMIN_TOKEN, Proc

pytestmark = pytest.mark.kafka

RITA, SAM = str(uuid.UUID(int=1)), str(uuid.UUID(int=2))
DRAFT_REPS = f'[{{"rep_id": "{RITA}", "action": "deactivate"}}]'


def _report(message: lab.SimulationRequested) -> dict[str, Any]:
    """What sales-assignment reports for Rita deactivated over 3 recorded leads."""
    moved = [{"lead_id": str(uuid.UUID(int=100 + i)), "actual_rep_id": RITA,
              "simulated_rep_id": SAM, "simulated_rule": "default"} for i in range(2)]  # fmt: skip
    return {
        "simulation_id": str(message.simulation_id), "status": "done", "request": message.request,
        "created_at": message.requested_at.isoformat(), "finished_at": f"{datetime.now(UTC)}",
        "leads": 3, "changed": 2, "newly_queued": 0, "cap_hits": 0, "rules_never_matched": [],
        "reproduced": 1.0, "misses": [], "moved": moved, "moved_total": 2,
        "per_rep": [{"rep_id": RITA, "name": "Rita Rep", "actual": 2, "simulated": 0},
                    {"rep_id": SAM, "name": "Sam Rep", "actual": 1, "simulated": 3}],
    }  # fmt: skip


async def _answer_requests(bootstrap: str, prefix: str, seen: list[Any], stop: Any) -> None:
    """Follow the lab topic as sales-assignment would and answer each routing request."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()

    async def answer(message: lab.LabMessage) -> None:
        assert isinstance(message, lab.SimulationRequested)
        seen.append(message)
        report = lab.reported(message.simulation_id, "routing", _report(message))
        await lab.publish(producer, report, source="/sales-assignment", prefix=prefix)

    settings = Settings(
        admin_token="dev-lab-browser",  # type: ignore[arg-type]
        database_url="sqlite+aiosqlite://",
        kafka_bootstrap=bootstrap,
        kafka_topic_prefix=prefix,
        consumer_group=f"{prefix}sales-assignment",
    )
    task = asyncio.create_task(
        lab.follow(settings, group=lab.lab_group(settings), types={lab.REQUESTED}, handle=answer)
    )
    try:
        while not stop.is_set():
            await asyncio.sleep(0.1)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await producer.stop()


@pytest.fixture
async def assignment_side(kafka_bootstrap: str) -> AsyncIterator[tuple[str, list[Any]]]:
    """The routing side of the lab channel on this module's topics: the test answers the
    requests the page sends (helper A's routing engine had not landed when this was written),
    on a thread of its own: Selenium's waits block this test's event loop."""
    prefix = f"lab-browser-{uuid.uuid4().hex[:8]}."
    await ensure_topics(kafka_bootstrap, prefix=prefix, partitions=1)
    seen: list[Any] = []
    stop = threading.Event()
    thread = threading.Thread(
        target=asyncio.run, args=(_answer_requests(kafka_bootstrap, prefix, seen, stop),)
    )
    thread.start()
    try:
        yield prefix, seen
    finally:
        stop.set()
        await asyncio.to_thread(thread.join, 30)


@pytest.fixture
async def feedback(
    kafka_bootstrap: str, tmp_path: Path, assignment_side: tuple[str, list[Any]]
) -> AsyncIterator[Proc]:
    prefix, _ = assignment_side
    url = f"sqlite+aiosqlite:///{tmp_path}/feedback.db"
    await asyncio.to_thread(upgrade, MIGRATIONS, url)
    group = f"feedback-lab-{uuid.uuid4().hex[:8]}"
    await place_group_at_end(kafka_bootstrap, group, [physical_topic(t, prefix) for t in TOPICS])
    port = free_port()
    env = {
        **os.environ,
        "LEADFLOW_ENV": "dev",
        "LEADFLOW_ADMIN_TOKEN": ADMIN_TOKEN,
        "LEADFLOW_KAFKA_BOOTSTRAP": kafka_bootstrap,
        "LEADFLOW_HTTP_PORT": str(port),
        "LEADFLOW_DATA_DIR": str(tmp_path),
        "LEADFLOW_DATABASE_URL": url,
        "LEADFLOW_CONSUMER_GROUP": group,
        "LEADFLOW_KAFKA_TOPIC_PREFIX": prefix,
        "LEADFLOW_RELAY_POLL_SECONDS": "0.2",
    }
    proc = Proc("feedback", port, env, tmp_path / "feedback.log")
    proc.start()
    try:
        await asyncio.to_thread(proc.wait_ready)
        yield proc
    finally:
        proc.terminate()


async def test_a_routing_simulation_run_from_the_lab_page_shows_its_report(
    chromium: Any,  # noqa: F811
    feedback: Proc,
    assignment_side: tuple[str, list[Any]],
    tmp_path: Path,
) -> None:
    from selenium.webdriver.common.by import By  # noqa: PLC0415
    from selenium.webdriver.support.ui import WebDriverWait  # noqa: PLC0415

    driver = chromium
    driver.get_log("browser")  # drop what earlier pages logged
    lab_page = feedback.url + "/lab"
    driver.get(lab_page)
    assert driver.find_elements(By.ID, "login-form"), "no login form"
    driver.find_element(By.ID, "token").send_keys(ADMIN_TOKEN)
    driver.find_element(By.ID, "login-submit").click()
    WebDriverWait(driver, 20).until(lambda d: d.find_elements(By.ID, "routing-form"))
    current = driver.find_element(By.CSS_SELECTOR, "nav.pages a[aria-current='page']")
    assert current.text == "What-if lab"
    # A draft that is not JSON: said on the page, nothing sent.
    form = driver.find_element(By.CSS_SELECTOR, "#routing-form form")
    form.find_element(By.NAME, "rules").send_keys("[{not json")
    form.find_element(By.CSS_SELECTOR, "button").click()
    WebDriverWait(driver, 20).until(
        lambda d: d.find_elements(By.CSS_SELECTOR, "#routing-form .error")
    )
    said = driver.find_element(By.CSS_SELECTOR, "#routing-form .error").text
    assert said.startswith("rules: not JSON"), said
    # The draft kept; corrected, with Rita deactivated.
    form = driver.find_element(By.CSS_SELECTOR, "#routing-form form")
    rules = form.find_element(By.NAME, "rules")
    assert rules.get_attribute("value") == "[{not json"
    rules.clear()
    form.find_element(By.NAME, "reps").send_keys(DRAFT_REPS)
    form.find_element(By.CSS_SELECTOR, "button").click()
    WebDriverWait(driver, 20).until(lambda d: "/lab/simulations/" in d.current_url)
    # The page reloads itself until the report is in.
    WebDriverWait(driver, 60).until(
        lambda d: d.find_elements(By.CSS_SELECTOR, "#simulation[data-status='done']")
    )
    _, seen = assignment_side
    [request] = seen
    assert driver.current_url.endswith(str(request.simulation_id))
    assert request.request["reps"] == [{"rep_id": RITA, "action": "deactivate"}]
    assert request.requested_by.startswith("admin:")
    rows = [
        [c.text for c in row.find_elements(By.CSS_SELECTOR, "th, td")]
        for row in driver.find_elements(By.CSS_SELECTOR, "#per-rep tbody tr")
    ]
    assert rows == [["Rita Rep", "2", "0", "-2"], ["Sam Rep", "1", "3", "+2"]]
    moved = driver.find_elements(By.CSS_SELECTOR, "#moved tbody tr")
    assert [r.find_elements(By.CSS_SELECTOR, "td")[1].text for r in moved] == ["Sam Rep"] * 2
    headline = driver.find_element(By.ID, "headline").text
    assert "Would change rep\n2" in headline
    refused = [m for m in driver.get_log("browser") if "Content Security Policy" in m["message"]]
    assert not refused, refused
    report_page = driver.current_url
    shots = tmp_path / "screenshots"
    shots.mkdir()

    def report_shown(_: str, __: int) -> None:
        assert driver.find_element(By.CSS_SELECTOR, "#per-rep table").size["width"] > 200

    _at_each_size(driver, report_page, shots / "report", "lab-report", report_shown)

    def list_shown(_: str, __: int) -> None:
        listed = driver.find_elements(By.CSS_SELECTOR, "#simulations tbody tr")
        assert listed[0].get_attribute("data-simulation-id") == str(request.simulation_id)

    _at_each_size(driver, lab_page, shots / "lab", "lab", list_shown)
