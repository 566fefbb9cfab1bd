"""Routing experiments through the real handlers and API, on SQLite and PostgreSQL: a split
routes its share by the variant rules and stamps reason.variant; a shadow routes nothing
differently and records what the variant would have done; ending promotes the variant as a
new rules version, or leaves the rules alone; the errors."""

from __future__ import annotations

import uuid
from collections import Counter
from typing import Any

import httpx
import pytest
from assignment_kit import api_rep, api_rules, body, deliveries, qualified
from fastapi import FastAPI
from sqlalchemy import select

from leadflow.events import LeadAssigned, LeadQualified
from sales_assignment.assigning import Assigner
from sales_assignment.experiments import hash_fraction
from sales_assignment.models import RRStateRow
from support.apps import ADMIN, bearer, json_of, outbox

pytestmark = pytest.mark.postgres


def ids(n: int, salt: str) -> list[uuid.UUID]:
    return [uuid.uuid5(uuid.NAMESPACE_URL, f"{salt}-{i}") for i in range(n)]


async def route_all(app: FastAPI, lead_ids: list[uuid.UUID]) -> None:
    """The leads qualified in one batch, as the consumer hands a run of MQLs over."""
    a: Assigner = app.state.assigner
    async with a.rt.transaction() as uow:
        await a.batch_handlers()[LeadQualified](uow, [qualified(i) for i in lead_ids])


async def shown(http: httpx.AsyncClient, lead_id: uuid.UUID) -> dict[str, Any]:
    doc = json_of(await http.get(f"/v1/assignments/{lead_id}", headers=ADMIN))
    # Flattened for the tests: who has it and by which rule.
    doc["rep_id"] = doc["rep"]["rep_id"] if doc["rep"] else None
    doc["rule"] = doc["reason"].get("rule")
    return doc


async def start(http: httpx.AsyncClient, **body: Any) -> dict[str, Any]:
    return json_of(await http.post("/v1/routing/experiments", json=body, headers=ADMIN), 201)


async def experiment(http: httpx.AsyncClient, experiment_id: str) -> dict[str, Any]:
    return json_of(await http.get(f"/v1/routing/experiments/{experiment_id}", headers=ADMIN))


async def end(http: httpx.AsyncClient, experiment_id: str, promote: bool) -> dict[str, Any]:
    path = f"/v1/routing/experiments/{experiment_id}/end"
    return json_of(await http.post(path, json={"promote": promote}, headers=ADMIN))


async def test_a_split_routes_its_share_by_the_variant_rules_and_stamps_the_arm(
    app: FastAPI, http: httpx.AsyncClient
) -> None:
    ann, bob, cid = [await api_rep(http, n) for n in ("Ann", "Bob", "Cid")]
    assert await api_rules(http, [{"name": "ann-only", "pool": [ann]}]) == 1
    exp = await start(
        http, name="pair", mode="split", share=0.3, rules=[{"name": "pair", "pool": [bob, cid]}]
    )
    assert (exp["status"], exp["base_version"], exp["share"]) == ("running", 1, 0.3)
    assert exp["arms"] == {
        "control": {"decisions": 0, "leads": 0},
        "variant": {"decisions": 0, "leads": 0},
    }
    hook = {"url": "http://127.0.0.1:9/hook", "event_types": ["lead.assigned"]}
    assert (await http.post("/v1/webhook-endpoints", json=hook, headers=ADMIN)).status_code == 201
    leads = ids(40, "split")
    salt = uuid.UUID(exp["experiment_id"])  # the hash is salted by the experiment
    arm = {i: "variant" if hash_fraction(salt, i) < 0.3 else "control" for i in leads}
    assert 0 < Counter(arm.values())["variant"] < 40
    await route_all(app, leads)

    got: Counter[str] = Counter()
    for lead_id in leads:
        doc = await shown(http, lead_id)
        assert doc["reason"]["variant"] == {"experiment": "pair", "arm": arm[lead_id]}
        if arm[lead_id] == "variant":
            assert (doc["rule"], doc["rep_id"] in (bob, cid)) == ("pair", True)
            assert "experiment 'pair', variant rules" in doc["reason"]["detail"]
            got[doc["rep_id"]] += 1
        else:
            assert (doc["rule"], doc["rep_id"]) == ("ann-only", ann)
    assert abs(got[bob] - got[cid]) <= 1  # the variant's own round robin over its pool
    events = [e.data for e in await outbox(app) if isinstance(e.data, LeadAssigned)]
    assert {e.lead_id: e.reason.variant for e in events} == {
        i: {"experiment": "pair", "arm": arm[i]} for i in leads
    }
    for lead_id in leads:  # the webhook carries the reason as it always has
        [sent] = await deliveries(app.state.assigner, lead_id)
        reason = body(sent)["data"]["assignment"]["reason"]
        assert reason["variant"] == {"experiment": "pair", "arm": arm[lead_id]}
    n_variant = sum(1 for a in arm.values() if a == "variant")
    counts = (await experiment(http, exp["experiment_id"]))["arms"]
    assert counts == {
        "control": {"decisions": 40 - n_variant, "leads": 40 - n_variant},
        "variant": {"decisions": n_variant, "leads": n_variant},
    }

    # The arm sticks: a variant lead declined goes on by the variant rules, to the other rep.
    lead_id = next(i for i in leads if arm[i] == "variant")
    first = (await shown(http, lead_id))["rep_id"]
    r = await http.post(f"/v1/assignments/{lead_id}/decline", json={}, headers=ADMIN)
    assert (r.status_code, r.json()["outcome"]) == (200, "reassigned")
    again = await shown(http, lead_id)
    assert again["rep_id"] == ({bob, cid} - {first}).pop()
    assert again["reason"]["variant"] == {"experiment": "pair", "arm": "variant"}
    counts = (await experiment(http, exp["experiment_id"]))["arms"]
    assert counts["variant"] == {"decisions": n_variant + 1, "leads": n_variant}


async def test_a_shadow_routes_nothing_differently_and_records_what_would_differ(
    app: FastAPI, http: httpx.AsyncClient
) -> None:
    ann, bob = [await api_rep(http, n) for n in ("Ann", "Bob")]
    exp = await start(http, name="bob-only", mode="shadow", rules=[{"name": "b", "pool": [bob]}])
    assert (exp["mode"], exp["share"], exp["base_version"]) == ("shadow", None, 0)
    leads = ids(6, "shadow")
    await route_all(app, leads)
    docs = [await shown(http, i) for i in leads]
    # As without the experiment: the default pool's round robin, every lead in control.
    assert Counter(d["rep_id"] for d in docs) == {ann: 3, bob: 3}
    assert {d["rule"] for d in docs} == {"default"}
    assert all(d["reason"]["variant"] == {"experiment": "bob-only", "arm": "control"} for d in docs)
    summary = await experiment(http, exp["experiment_id"])
    assert summary["arms"]["control"] == {"decisions": 6, "leads": 6}
    shadow = summary["shadow"]
    assert (shadow["decisions"], shadow["would_differ"]) == (6, 3)
    assert (shadow["queued_actual"], shadow["queued_shadow"]) == (0, 0)
    per_rep = {r["rep_id"]: (r["name"], r["actual"], r["shadow"]) for r in shadow["per_rep"]}
    assert per_rep == {bob: ("Bob", 3, 6), ann: ("Ann", 3, 0)}

    # The shadow keeps its own rotation: the same pool in shadow decides as the live one.
    await end(http, exp["experiment_id"], promote=False)
    same = await start(
        http, name="same", mode="shadow", rules=[{"name": "both", "pool": [ann, bob]}]
    )
    await route_all(app, ids(6, "same"))
    shadow = (await experiment(http, same["experiment_id"]))["shadow"]
    assert (shadow["decisions"], shadow["would_differ"]) == (6, 0)


async def test_ending_without_promote_leaves_the_rules_and_with_promote_stores_a_version(
    app: FastAPI, http: httpx.AsyncClient
) -> None:
    ann, bob = [await api_rep(http, n) for n in ("Ann", "Bob")]
    await api_rules(http, [{"name": "ann-only", "pool": [ann]}])
    variant = [{"name": "bob-only", "pool": [bob]}]
    tried = await start(http, name="try", mode="split", share=0.5, rules=variant)
    await route_all(app, ids(10, "try"))
    ended = await end(http, tried["experiment_id"], promote=False)
    assert (ended["status"], ended["outcome"], ended["promoted_version"]) == (
        "ended",
        "ended",
        None,
    )
    assert ended["ended_at"] is not None
    rules = (await http.get("/v1/routing/rules", headers=ADMIN)).json()
    assert (rules["version"], [r["name"] for r in rules["rules"]]) == (1, ["ann-only"])
    async with app.state.assigner.rt.sessions() as s:
        pools = list(await s.scalars(select(RRStateRow.pool)))
    assert not [p for p in pools if p.startswith(" exp ")]  # the variant's rotation is gone
    after = ids(4, "after")
    await route_all(app, after)
    for lead_id in after:
        doc = await shown(http, lead_id)
        assert (doc["rep_id"], doc["rule"], doc["reason"].get("variant")) == (
            ann,
            "ann-only",
            None,
        )

    # A lead waiting in the queue (Ann away) goes to Bob when the variant is promoted.
    r = await http.patch(f"/v1/reps/{ann}", json={"active": False}, headers=ADMIN)
    assert r.status_code == 200, r.text
    waiting = uuid.uuid4()
    await route_all(app, [waiting])
    assert (await shown(http, waiting))["status"] == "queued"
    promoted_exp = await start(http, name="promote-me", mode="shadow", rules=variant)
    end_url = f"/v1/routing/experiments/{promoted_exp['experiment_id']}/end"
    wrong = await http.post(end_url, json={"promote": True, "over_version": 5}, headers=ADMIN)
    assert (wrong.status_code, wrong.json()["detail"]) == (
        409,
        "The active rules are v1, not v5: read them again.",
    )
    promoted = await end(http, promoted_exp["experiment_id"], promote=True)
    assert (promoted["outcome"], promoted["promoted_version"]) == ("promoted", 2)
    assert (promoted["base_version"], promoted["active_version"]) == (1, 2)
    assert promoted["control_changed"] is False  # v2 is the variant's own promotion
    rules = (await http.get("/v1/routing/rules", headers=ADMIN)).json()
    assert (rules["version"], rules["rules"]) == (2, variant)
    doc = await shown(http, waiting)
    assert (doc["status"], doc["rep_id"], doc["rule"]) == ("assigned", bob, "bob-only")
    assert "variant" not in doc["reason"]
    assert doc["reason"]["detail"].startswith("rules v2:")
    listed = (await http.get("/v1/routing/experiments", headers=ADMIN)).json()
    assert [e["name"] for e in listed] == ["promote-me", "try"]


async def test_who_may_run_experiments_and_what_is_refused(http: httpx.AsyncClient) -> None:
    ann = await api_rep(http, "Ann")
    body = {"name": "e", "mode": "split", "share": 0.5, "rules": [{"name": "r", "pool": [ann]}]}
    url = "/v1/routing/experiments"
    assert (await http.post(url, json=body)).status_code == 401
    analyst = await bearer(http, "analyst")
    assert (await http.post(url, json=body, headers=analyst)).status_code == 403

    async def refused(doc: dict[str, Any]) -> dict[str, str]:
        r = await http.post(url, json=doc, headers=ADMIN)
        assert r.status_code == 422, r.text
        assert r.headers["content-type"].startswith("application/problem+json")
        return {e["field"]: e["message"] for e in r.json()["errors"]}

    assert "share" in await refused(body | {"share": None})
    assert "share" in await refused(body | {"share": 1.0})
    assert "share" in await refused(body | {"mode": "shadow"})
    assert "mode" in await refused(body | {"mode": "ab"})
    bad_place = await refused(body | {"rules": [{"name": "r", "countries": ["DE", "Atlantis"]}]})
    assert bad_place["rules[0].countries[1]"].startswith("rule 'r': unknown country")
    ghost = str(uuid.uuid4())
    unknown = await refused(body | {"rules": [{"name": "vip", "pool": [ghost]}]})
    assert unknown == {"rules[0].pool[0]": f"rule 'vip': no rep {ghost}"}
    assert (await http.get(url, headers=analyst)).json() == []

    started = await http.post(url, json=body, headers=ADMIN)
    assert started.status_code == 201
    exp_id = started.json()["experiment_id"]
    second = await http.post(url, json=body | {"name": "f"}, headers=ADMIN)
    assert second.status_code == 409
    assert "'e' is running" in second.json()["detail"]
    r = await http.get(f"{url}/{exp_id}", headers=analyst)
    assert (r.status_code, r.json()["name"]) == (200, "e")
    assert (await http.get(f"{url}/{uuid.uuid4()}", headers=analyst)).status_code == 404
    end_url = f"{url}/{exp_id}/end"
    assert (await http.post(end_url, json={"promote": False})).status_code == 401
    assert (await http.post(end_url, json={"promote": False}, headers=analyst)).status_code == 403
    assert (await http.post(end_url, json={}, headers=ADMIN)).status_code == 422
    missing = await http.post(f"{url}/{uuid.uuid4()}/end", json={"promote": False}, headers=ADMIN)
    assert missing.status_code == 404
    assert (await http.post(end_url, json={"promote": False}, headers=ADMIN)).status_code == 200
    assert (await http.post(end_url, json={"promote": True}, headers=ADMIN)).status_code == 409
    again = await http.post(url, json=body, headers=ADMIN)
    assert again.status_code == 409
    assert "exists" in again.json()["detail"]
    rules = (await http.get("/v1/routing/rules", headers=ADMIN)).json()
    assert rules["version"] == 0  # nothing was promoted


async def test_a_shadow_records_queued_decisions_only_and_cannot_promote_a_retired_rep(
    app: FastAPI, http: httpx.AsyncClient
) -> None:
    ann, bob = [await api_rep(http, n) for n in ("Ann", "Bob")]
    await api_rules(http, [{"name": "ann-only", "pool": [ann]}])
    r = await http.patch(f"/v1/reps/{ann}", json={"active": False}, headers=ADMIN)
    assert r.status_code == 200, r.text
    exp = await start(http, name="bob", mode="shadow", rules=[{"name": "b", "pool": [bob]}])
    waiting = uuid.uuid4()
    await route_all(app, [waiting])
    assert (await shown(http, waiting))["status"] == "queued"
    assert await app.state.assigner.retry_queue() == 0  # a pass that leaves it waiting
    shadow = (await experiment(http, exp["experiment_id"]))["shadow"]
    assert (shadow["decisions"], shadow["would_differ"]) == (1, 1)
    assert (shadow["queued_actual"], shadow["queued_shadow"]) == (1, 0)
    assert shadow["per_rep"] == [{"rep_id": bob, "name": "Bob", "actual": 0, "shadow": 1}]

    assert (await http.delete(f"/v1/reps/{bob}", headers=ADMIN)).status_code == 204
    end_url = f"/v1/routing/experiments/{exp['experiment_id']}/end"
    refused = await http.post(end_url, json={"promote": True}, headers=ADMIN)
    assert refused.status_code == 409
    assert f"no rep {bob}" in refused.json()["detail"]
    assert (await experiment(http, exp["experiment_id"]))["status"] == "running"
    assert (await http.get("/v1/routing/rules", headers=ADMIN)).json()["version"] == 1
    assert (await end(http, exp["experiment_id"], promote=False))["outcome"] == "ended"


async def test_promoting_over_rules_changed_since_the_start_is_409_until_the_admin_confirms(
    app: FastAPI, http: httpx.AsyncClient
) -> None:
    ann, bob = [await api_rep(http, n) for n in ("Ann", "Bob")]
    assert await api_rules(http, [{"name": "ann-only", "pool": [ann]}]) == 1
    variant = [{"name": "bob-only", "pool": [bob]}]
    exp = await start(http, name="late", mode="split", share=0.5, rules=variant)
    assert (exp["base_version"], exp["active_version"], exp["control_changed"]) == (1, 1, False)
    v2 = [{"name": "vip", "countries": ["DE"], "pool": [ann]}, {"name": "ann-only", "pool": [ann]}]
    assert await api_rules(http, v2) == 2  # the control arm changes mid-experiment
    seen = await experiment(http, exp["experiment_id"])
    assert (seen["base_version"], seen["active_version"], seen["control_changed"]) == (1, 2, True)

    end_url = f"/v1/routing/experiments/{exp['experiment_id']}/end"
    refused = await http.post(end_url, json={"promote": True}, headers=ADMIN)
    assert refused.status_code == 409, refused.text
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert "rules changed since the experiment started (v1 → v2)" in refused.json()["detail"]
    assert '"over_version": 2' in refused.json()["detail"]
    stale = await http.post(end_url, json={"promote": True, "over_version": 1}, headers=ADMIN)
    assert stale.status_code == 409  # the admin saw v1, but v2 is active
    assert "(v1 → v2)" in stale.json()["detail"]
    odd = await http.post(end_url, json={"promote": False, "over_version": 2}, headers=ADMIN)
    assert odd.status_code == 422
    assert [e["field"] for e in odd.json()["errors"]] == ["over_version"]
    rules = (await http.get("/v1/routing/rules", headers=ADMIN)).json()
    assert (rules["version"], rules["rules"]) == (2, v2)  # nothing overwritten
    assert (await experiment(http, exp["experiment_id"]))["status"] == "running"

    confirmed = await http.post(end_url, json={"promote": True, "over_version": 2}, headers=ADMIN)
    assert confirmed.status_code == 200, confirmed.text
    ended = confirmed.json()
    assert (ended["outcome"], ended["promoted_version"]) == ("promoted", 3)
    assert (ended["active_version"], ended["control_changed"]) == (3, True)
    rules = (await http.get("/v1/routing/rules", headers=ADMIN)).json()
    assert (rules["version"], rules["rules"]) == (3, variant)
