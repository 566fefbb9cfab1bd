"""The what-if lab page in headless Chromium: lead-scoring, sales-assignment and feedback as
real processes on the real broker (topics of this module's own), the simulations travelling
over `leadflow.lab` and nothing else between them.

Four leads captured (published as intake would) are scored by lead-scoring and routed by
sales-assignment between two reps, which records its decisions. Chromium logs in on /lab
with an analyst token (minted with POST /v1/tokens: the page is an analyst's tool), a
wrong draft is said on the page, a routing simulation deactivating one rep is run from the
form and its report read once it arrives (the page reloads itself while it waits), then a
scoring simulation with a higher threshold; screenshots at laptop and phone sizes, as the
dashboard's browser test takes them.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from feedback_events import captured

from leadflow.events import TOPICS, Lead, LeadAssigned
from leadflow.kafka import ensure_topics, physical_topic
from support.browser import at_each_size
from support.kafka_tools import eventually, place_group_at_end
from support.procs import ADMIN_TOKEN, Proc, service_proc

pytestmark = pytest.mark.kafka

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
LEADS = 4
# Deadlines a loaded machine (`make test`: three workers on two cores) needs; every wait
# ends as soon as what it waits for holds, so they cost nothing when all goes well.
PROCESS_SECONDS = 120  # a service process up, or the pipeline through it
PAGE_SECONDS = 60  # a page a click or a login leads to
REPORT_SECONDS = 180  # a simulation run in another process, its report on the page
# A simulation's own page (the form posts to /lab/simulations/<kind>: not that one).
SIMULATION_PAGE = re.compile(r"/lab/simulations/[0-9a-f]{8}-[0-9a-f-]{27}$")


def _proc(name: str, bootstrap: str, prefix: str, base: Path) -> Proc:
    """A service process on this module's topics, with a database and a group of its own."""
    return service_proc(
        name, bootstrap, base / name, group=f"{prefix}{name}",
        LEADFLOW_KAFKA_TOPIC_PREFIX=prefix, LEADFLOW_RELAY_POLL_SECONDS="0.2",
    )  # fmt: skip


@pytest.fixture
async def services(kafka_bootstrap: str, tmp_path: Path) -> AsyncIterator[dict[str, Any]]:
    """lead-scoring, sales-assignment and feedback on topics of their own; two reps, and
    four leads captured, scored (MQLs at 80), routed and their decisions recorded, and the
    assignments folded by feedback (the page names the reps from them)."""
    prefix = f"lab-browser-{uuid.uuid4().hex[:8]}."
    await ensure_topics(kafka_bootstrap, prefix=prefix, partitions=1)
    topics = [physical_topic(t, prefix) for t in TOPICS]
    procs = {name: _proc(name, kafka_bootstrap, prefix, tmp_path)
             for name in ("lead-scoring", "sales-assignment", "feedback")}  # fmt: skip
    for proc in procs.values():
        await place_group_at_end(kafka_bootstrap, proc.env["LEADFLOW_CONSUMER_GROUP"], topics)
        proc.start()
    try:
        for proc in procs.values():
            await asyncio.to_thread(proc.wait_ready, PROCESS_SECONDS)
        assignment = procs["sales-assignment"].url
        async with httpx.AsyncClient(base_url=assignment, headers=ADMIN, timeout=30) as http:
            reps = {}
            for name in ("Rita", "Sam"):
                doc = {"name": f"{name} Rep", "email": f"{name.lower()}@seller.example"}
                made = await http.post("/v1/reps", json=doc)
                assert made.status_code == 201, made.text
                reps[name] = made.json()["rep_id"]
            leads = await _capture(kafka_bootstrap, prefix)

            async def all_routed() -> bool:
                for lead_id in leads:
                    found = await http.get(f"/v1/assignments/{lead_id}")
                    if found.status_code != 200 or found.json().get("rep") is None:
                        return False
                return True

            await eventually(all_routed, timeout=PROCESS_SECONDS)
        # The report page names the reps from what feedback folded of their assignments:
        # sales-assignment having routed the leads is not enough, feedback must have read it.
        feedback = procs["feedback"].url
        async with httpx.AsyncClient(base_url=feedback, headers=ADMIN, timeout=30) as folded:

            async def all_folded() -> bool:
                for lead_id in leads:
                    found = await folded.get(f"/v1/leads/{lead_id}/journey")
                    if found.status_code != 200:
                        return False
                    kinds = {e["ce_type"] for e in found.json()["events"]}
                    if LeadAssigned.ce_type not in kinds:
                        return False
                return True

            await eventually(all_folded, timeout=PROCESS_SECONDS)
        yield {"feedback": procs["feedback"], "assignment": assignment, "reps": reps,
               "logs": procs}  # fmt: skip
    finally:
        for proc in procs.values():
            proc.terminate()


async def _capture(bootstrap: str, prefix: str) -> list[uuid.UUID]:
    """Four `leads.captured` events, as intake publishes them: CTOs of a large software
    company, 80 with lead-scoring's default rules (an MQL at 60)."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        ids = []
        for _ in range(LEADS):
            person = Lead(lead_id=uuid.uuid4(), email="ada@bigco.example.com", job_title="CTO",
                          company_size=400, industry="software", country="DE",
                          captured_at=datetime.now(UTC))  # fmt: skip
            envelope = captured(person)
            topic = physical_topic(envelope.topic, prefix)
            await producer.send_and_wait(
                topic, value=envelope.value(), key=envelope.key, headers=envelope.headers()
            )
            ids.append(envelope.data.lead_id)
        return ids
    finally:
        await producer.stop()


def _report(driver: Any, services: dict[str, Any]) -> str:
    """After a simulation form's click: its page (which reloads itself while it waits),
    once the report is in; the simulation's id. A failed one is said with its reason."""
    from selenium.common.exceptions import TimeoutException  # noqa: PLC0415
    from selenium.webdriver.common.by import By  # noqa: PLC0415
    from selenium.webdriver.support.ui import WebDriverWait  # noqa: PLC0415

    final = "#simulation[data-status='done'], #simulation[data-status='failed']"
    try:
        WebDriverWait(driver, PAGE_SECONDS).until(lambda d: SIMULATION_PAGE.search(d.current_url))
        WebDriverWait(driver, REPORT_SECONDS).until(
            lambda d: d.find_elements(By.CSS_SELECTOR, final)
        )
    except TimeoutException as exc:
        logs = "\n".join(p.log_tail() for p in services["logs"].values())
        raise AssertionError(f"no report: {driver.page_source[-2000:]}\n{logs}") from exc
    status = driver.find_element(By.ID, "simulation").get_attribute("data-status")
    assert status == "done", driver.find_element(By.ID, "summary").text
    return str(driver.current_url.rsplit("/", 1)[1])


async def test_a_routing_simulation_run_from_the_lab_page_shows_its_report(
    chromium: Any,
    services: dict[str, Any],
    tmp_path: Path,
) -> None:
    from selenium.webdriver.common.by import By  # noqa: PLC0415
    from selenium.webdriver.support.ui import WebDriverWait  # noqa: PLC0415

    driver = chromium
    driver.get_log("browser")  # drop what earlier pages logged
    feedback: Proc = services["feedback"]
    rita, sam = services["reps"]["Rita"], services["reps"]["Sam"]
    lab_page = feedback.url + "/lab"
    async with httpx.AsyncClient(base_url=feedback.url, headers=ADMIN, timeout=30) as http:
        issued = await http.post("/v1/tokens", json={"role": "analyst"})
    assert issued.status_code == 201, issued.text
    analyst = issued.json()
    driver.get(lab_page)
    assert driver.find_elements(By.ID, "login-form"), "no login form"
    driver.find_element(By.ID, "token").send_keys(analyst["token"])
    driver.find_element(By.ID, "login-submit").click()
    WebDriverWait(driver, PAGE_SECONDS).until(lambda d: d.find_elements(By.ID, "routing-form"))
    current = driver.find_element(By.CSS_SELECTOR, "nav.pages a[aria-current='page']")
    assert current.text == "What-if lab"
    # A draft that is not JSON: said on the page, nothing sent.
    form = driver.find_element(By.CSS_SELECTOR, "#routing-form form")
    form.find_element(By.NAME, "rules").send_keys("[{not json")
    form.find_element(By.CSS_SELECTOR, "button").click()
    WebDriverWait(driver, PAGE_SECONDS).until(
        lambda d: d.find_elements(By.CSS_SELECTOR, "#routing-form .error")
    )
    said = driver.find_element(By.CSS_SELECTOR, "#routing-form .error").text
    assert said.startswith("rules: not JSON"), said
    # The draft kept; corrected, with Rita deactivated.
    form = driver.find_element(By.CSS_SELECTOR, "#routing-form form")
    rules = form.find_element(By.NAME, "rules")
    assert rules.get_attribute("value") == "[{not json"
    rules.clear()
    form.find_element(By.NAME, "reps").send_keys(
        f'[{{"rep_id": "{rita}", "action": "deactivate"}}]'
    )
    form.find_element(By.CSS_SELECTOR, "button").click()
    # The page reloads itself until sales-assignment's report is in (the wrong draft's
    # answer was already at /lab/simulations/routing: the wait is for the simulation's page).
    simulation_id = _report(driver, services)
    # sales-assignment ran it under the page's id: its own API reads it, for the analyst too.
    async with httpx.AsyncClient(base_url=services["assignment"], timeout=30) as http:
        there = await http.get(
            f"/v1/routing/simulations/{simulation_id}",
            headers={"Authorization": f"Bearer {analyst['token']}"},
        )
    assert there.status_code == 200, there.text
    assert there.json()["status"] == "done"
    rows = {
        row.get_attribute("data-rep-id"): [
            c.text for c in row.find_elements(By.CSS_SELECTOR, "th, td")
        ]
        for row in driver.find_elements(By.CSS_SELECTOR, "#per-rep tbody tr")
    }
    # Rita deactivated: no lead; Sam takes all four. What each actually got adds up to four.
    assert [rows[rita][0], rows[rita][2]] == ["Rita Rep", "0"], rows
    assert [rows[sam][0], rows[sam][2]] == ["Sam Rep", str(LEADS)], rows
    assert int(rows[rita][1]) + int(rows[sam][1]) == LEADS
    moved = driver.find_elements(By.CSS_SELECTOR, "#moved tbody tr")
    assert len(moved) == int(rows[rita][1])  # Rita's leads move to Sam
    assert all(r.find_elements(By.CSS_SELECTOR, "td")[1].text == "Sam Rep" for r in moved)
    kpis = [k.text.split("\n") for k in driver.find_elements(By.CSS_SELECTOR, "#headline .kpi")]
    headline = {kpi[0]: kpi[-1] for kpi in kpis}
    assert headline["Leads replayed"] == str(LEADS)
    assert headline["Active rules reproduce"] == "100.0 %"
    refused = [m for m in driver.get_log("browser") if "Content Security Policy" in m["message"]]
    assert not refused, refused
    report_page = driver.current_url
    shots = tmp_path / "screenshots"
    shots.mkdir()

    def report_shown(_: str, __: int) -> None:
        assert driver.find_element(By.CSS_SELECTOR, "#per-rep table").size["width"] > 200

    at_each_size(driver, report_page, shots / "report", "lab-report", report_shown)

    def list_shown(_: str, __: int) -> None:
        listed = driver.find_elements(By.CSS_SELECTOR, "#simulations tbody tr")
        assert listed[0].get_attribute("data-simulation-id") == simulation_id

    at_each_size(driver, lab_page, shots / "lab", "lab", list_shown)

    # A scoring simulation from the page: a threshold of 90 leaves none of the four (80).
    driver.get(lab_page)
    form = driver.find_element(By.CSS_SELECTOR, "#scoring-form form")
    form.find_element(By.NAME, "threshold").send_keys("90")
    form.find_element(By.CSS_SELECTOR, "button").click()
    scoring_id = _report(driver, services)
    assert driver.find_element(By.ID, "mqls-now").text == str(LEADS)
    assert driver.find_element(By.ID, "mqls-draft").text == "0"
    stopped = driver.find_element(By.CSS_SELECTOR, "#stopped-being-mql h2").text
    assert stopped == f"Leads that would stop being MQLs ({LEADS})"

    def scoring_shown(_: str, __: int) -> None:
        assert driver.find_element(By.CSS_SELECTOR, "#outcomes table").size["width"] > 200

    at_each_size(driver, driver.current_url, shots / "scoring", "lab-scoring", scoring_shown)
    # Both were asked for by the analyst's token (role and token id, nothing personal).
    driver.get(lab_page)
    by = {
        row.get_attribute("data-simulation-id"): row.find_elements(By.CSS_SELECTOR, "td")[2].text
        for row in driver.find_elements(By.CSS_SELECTOR, "#simulations tbody tr")
    }
    asked_by = f"analyst:{analyst['token_id']}"
    assert by == {simulation_id: asked_by, scoring_id: asked_by}, by
