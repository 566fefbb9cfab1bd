"""The lab page's guards (issue 23 review): a final report is never replaced by a late or
repeated one, a simulation nobody answers ends as failed on the page, the forms have a rate
per login, and stored routing reports keep no rep names (shown from feedback's own)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import httpx
from feedback_events import assigned, at, deliver
from lab_kit import ROUTING, login
from sqlalchemy import select

from feedback import lab_store
from feedback.models import LabSimulation
from leadflow import lab
from leadflow.events import RepRef
from leadflow.service import Runtime

ANN, BOB, NEW = str(uuid.UUID(int=1)), str(uuid.UUID(int=2)), str(uuid.UUID(int=3))


async def _row(rt: Runtime, sid: uuid.UUID) -> LabSimulation:
    async with rt.sessions() as s:
        [row] = list(await s.scalars(select(LabSimulation).where(
            LabSimulation.simulation_id == sid)))  # fmt: skip
        return row


async def _posted(client: httpx.AsyncClient) -> uuid.UUID:
    posted = await client.post("/lab/simulations/routing", data=ROUTING)
    assert posted.status_code == 303, posted.text
    return uuid.UUID(posted.headers["location"].removeprefix("/lab/simulations/"))


async def test_a_final_report_is_not_replaced_by_a_repeated_or_late_one(
    client: httpx.AsyncClient, rt: Runtime
) -> None:
    await login(client)
    sid = await _posted(client)
    done = lab.reported(sid, "routing", {"status": "done", "leads": 40, "changed": 7})
    await lab_store.handle(rt, done)
    # The same request delivered again: answered `expired` (or run again) after the end.
    late = lab.failed(sid, "routing", "expired: nobody ran it within an hour of the request")
    await lab_store.handle(rt, late)
    await lab_store.handle(rt, lab.reported(sid, "routing", {"status": "running"}))
    row = await _row(rt, sid)
    assert row.status == "done"
    assert row.report == {"status": "done", "leads": 40, "changed": 7}
    # A failed one stays failed too.
    other = await _posted(client)
    await lab_store.handle(rt, lab.failed(other, "routing", "invalid request"))
    await lab_store.handle(rt, lab.reported(other, "routing", {"status": "done", "leads": 1}))
    assert (await _row(rt, other)).status == "failed"


async def test_a_simulation_nobody_answers_is_shown_failed_and_the_page_stops_reloading(
    client: httpx.AsyncClient, rt: Runtime
) -> None:
    await login(client)
    long_ago = datetime.now(UTC) - timedelta(hours=2)  # past the hour's expiry and margin
    old = await lab_store.request_simulation(
        rt, "routing", {"from": "x"}, requested_by="analyst:t", now=long_ago
    )
    scoring = await lab_store.request_simulation(
        rt, "scoring", {"from": "x"}, requested_by="analyst:t", now=long_ago
    )
    await lab_store.handle(rt, lab.reported(scoring, "scoring", {"status": "running"}))
    fresh = await _posted(client)
    page = (await client.get(f"/lab/simulations/{old}")).text
    assert 'data-status="failed"' in page
    assert "no answer from sales-assignment" in page
    assert "refresh" not in page
    page = (await client.get(f"/lab/simulations/{scoring}")).text
    assert "no answer from lead-scoring" in page
    assert "refresh" not in page
    page = (await client.get(f"/lab/simulations/{fresh}")).text
    assert '<meta http-equiv="refresh" content="3">' in page
    listed = (await client.get("/lab")).text
    assert listed.count("no answer from") == 2
    # The row is left as it is: a report that still comes is kept and shown.
    assert (await _row(rt, old)).status == "requested"
    await lab_store.handle(rt, lab.reported(old, "routing", {"status": "done", "leads": 2}))
    assert 'data-status="done"' in (await client.get(f"/lab/simulations/{old}")).text


async def test_the_lab_forms_have_a_rate_per_login(client: httpx.AsyncClient, rt: Runtime) -> None:
    await login(client)
    for _ in range(10):
        await _posted(client)
    refused = await client.post("/lab/simulations/routing", data=ROUTING)
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) >= 1
    assert "Too many simulations asked for" in refused.text
    also = await client.post("/lab/simulations/scoring", data={"from": "2026-03-01",
                                                                "to": "2026-03-31"})  # fmt: skip
    assert also.status_code == 429
    async with rt.sessions() as s:
        assert len(list(await s.scalars(select(LabSimulation)))) == 10
    await login(client, "admin")  # another token: its own rate
    await _posted(client)


async def test_a_stored_routing_report_keeps_no_rep_name_and_the_page_names_reps(
    client: httpx.AsyncClient, rt: Runtime
) -> None:
    lead_id = uuid.uuid4()
    ann = RepRef(rep_id=uuid.UUID(ANN), name="Ann <b>Rep</b>", email="ann@seller.example")
    assert await deliver(rt, assigned(lead_id, ann, at(hours=1)))
    await login(client)
    sid = await _posted(client)
    report = {
        "simulation_id": str(sid), "status": "done", "leads": 3, "changed": 1,
        "per_rep": [{"rep_id": ANN, "name": "Ann <b>Rep</b>", "actual": 2, "simulated": 1},
                    {"rep_id": BOB, "name": "Bob Private", "actual": 1, "simulated": 1},
                    {"rep_id": NEW, "name": "Nina New", "actual": 0, "simulated": 1}],
        "moved": [{"lead_id": str(lead_id), "actual_rep_id": ANN, "simulated_rep_id": NEW,
                   "name": "Ann <b>Rep</b>", "simulated_rule": "default"}],
        "moved_total": 1,
    }  # fmt: skip
    await lab_store.handle(rt, lab.reported(sid, "routing", report))
    row = await _row(rt, sid)
    assert row.report is not None
    for entry in [*row.report["per_rep"], *row.report["moved"]]:
        assert "name" not in entry
    stored = str(row.report)
    assert "Ann" not in stored
    assert "Bob Private" not in stored
    assert "Nina New" not in stored
    page = (await client.get(f"/lab/simulations/{sid}")).text
    assert f'<tr data-rep-id="{ANN}"><th scope="row">Ann &lt;b&gt;Rep&lt;/b&gt;</th>' in page
    assert f'<tr data-rep-id="{BOB}"><th scope="row">{BOB}</th>' in page  # unknown here
    assert '<td class="text">Ann &lt;b&gt;Rep&lt;/b&gt;</td>' in page  # the moved lead's
    assert "Bob Private" not in page
