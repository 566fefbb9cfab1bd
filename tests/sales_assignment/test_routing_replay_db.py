"""The replay record and the routing simulation over it (SQLite and PostgreSQL).

History is made by the Assigner's own handlers (new MQLs, a decline, an SLA miss, a rep
retired, rules and weights changed, an account owner, an erased lead, a recycled one); the
simulation then reads it back: with no draft it must give every recorded decision again.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from assignment_kit import (
    add_rep,
    check_setting,
    clock,
    handle,
    outcome,
    qualified,
    simulation_settled,
)
from sqlalchemy import inspect, select, text

from leadflow.events import Envelope, LeadErased, LeadOutcome
from sales_assignment import (
    admin,
    declining,
    experiment_admin,
    policy_admin,
    retention,
    simulation_runs,
)
from sales_assignment.assigning import Assigner
from sales_assignment.recording import FACTS
from sales_assignment.replay_models import CheckpointRow, DecisionRow, SimulationRow, SnapshotRow
from sales_assignment.replay_report import MISS_REASONS
from sales_assignment.schemas_lab import RoutingSimulationRequest
from sales_assignment.simulation import simulate

pytestmark = pytest.mark.postgres


def _window(a: Assigner, **draft: object) -> RoutingSimulationRequest:
    now = clock(a).now
    doc = {"from": now - timedelta(days=1), "to": now + timedelta(days=1)} | draft
    return RoutingSimulationRequest.model_validate(doc)


async def _leads(a: Assigner, n: int, **lead: object) -> list[uuid.UUID]:
    ids = []
    for _ in range(n):
        env = qualified(**lead)
        await handle(a, env)
        clock(a).advance(1)
        ids.append(env.data.lead_id)
    return ids


def RULES(ann: uuid.UUID, bob: uuid.UUID, cy: uuid.UUID) -> list[dict[str, object]]:
    """Rules reading industry and size: an erased lead must still match them as it did."""
    return [
        {"name": "widgets", "industries": ["widgets"], "pool": [str(ann)]},
        {"name": "fr-big", "countries": ["FR"], "min_employees": 120, "pool": [str(bob)]},
        {"name": "fr", "countries": ["FR"], "pool": [str(cy)]},
    ]


async def test_a_replay_without_draft_gives_every_recorded_decision_again(
    a: Assigner,
) -> None:
    ann = await add_rep(a, "Ann", weight=1)
    bob = await add_rep(a, "Bob", weight=2, max_open_leads=6)
    cy = await add_rep(a, "Cy", weight=3, territories=["FR"])
    await policy_admin.put_account(a, "owned.example", ann, names=["Owned Industries"])
    await _leads(a, 12)
    await _leads(a, 2, email="x@owned.example")
    await _leads(a, 2, email="x@gmail.com", company="Owned Industries")  # by name
    await admin.update_rep(a, bob, {"weight": 4})
    await policy_admin.put_rules(a, RULES(ann, bob, cy))
    fr = await _leads(a, 4, country="FR")
    # Erased below: a size of its own and an industry no rule names (the record keeps the
    # band the rules cut, 120-999, and no industry), and an industry a rule names (kept).
    odd = await _leads(a, 1, country="FR", company_size=137, industry="quill carving")
    named = await _leads(a, 1, company_size=7, industry="WIDGETS")
    de = await _leads(a, 8)
    await declining.decline(a, de[0], note="not mine")
    await handle(a, outcome(de[1], "won"))  # frees capacity: the queue may move
    clock(a).advance(3600)  # every unaccepted lead misses its SLA
    await a.check_sla()
    await admin.delete_rep(a, cy)  # its leads go on to the others
    for lead_id in (fr[0], odd[0], named[0]):
        erased = Envelope(data=LeadErased(lead_id=lead_id, erased_at=clock(a).now), source="/t")
        await handle(a, erased)
    rejected = LeadOutcome(
        lead_id=de[2], stage="rejected", reason="not_ready", recycle=True, occurred_at=clock(a).now
    )
    await handle(a, Envelope(data=rejected, source="/t"))
    await handle(a, qualified(de[2]))  # recycled: qualified again

    report = await simulate(a, _window(a))

    async with a.rt.sessions() as s:
        kinds = set(await s.scalars(select(DecisionRow.kind)))
        snapshots = len(list(await s.scalars(select(SnapshotRow.id))))
        stored = list(await s.scalars(select(DecisionRow)))
    assert {"new", "declined", "sla", "retired", "recycled"} <= kinds
    assert snapshots <= 6  # one per change of team or rules, not per decision
    assert all(set(d.facts) <= {*FACTS, "size_band"} for d in stored)
    kept = {(d.lead_id, d.kind): d.facts for d in stored if d.lead_id in (odd[0], named[0])}
    assert kept[odd[0], "new"] == {"country": "FR", "company_size": 120, "industry": None} | {
        "size_band": [120, 999],
        "score": 82,
    }
    assert kept[named[0], "new"] == {"country": "DE", "company_size": 0, "industry": "WIDGETS"} | {
        "size_band": [0, 99],
        "score": 82,
    }
    assert any(d.owner_id == ann for d in stored)
    assert report["reproduced"] == 1.0, report["misses"]
    assert report["misses"] == []
    assert report["decisions"] == len(stored)
    assert report["changed"] == 0
    assert report["moved"] == []
    assert sum(r["actual"] for r in report["per_rep"]) > 0


async def test_a_draft_deactivating_a_rep_spreads_its_leads_by_the_others_weights(
    a: Assigner,
) -> None:
    ann = await add_rep(a, "Ann", weight=1)
    bob = await add_rep(a, "Bob", weight=2)
    cy = await add_rep(a, "Cy", weight=3)
    await _leads(a, 60)

    draft = {"reps": [{"action": "deactivate", "rep_id": str(cy)}]}
    report = await simulate(a, _window(a, **draft))

    got = {r["rep_id"]: (r["actual"], r["simulated"]) for r in report["per_rep"]}
    assert got == {str(ann): (10, 20), str(bob): (20, 40), str(cy): (30, 0)}
    assert report["changed"] >= 30  # Cy's leads, and others the rotation now orders apart
    assert report["moved_total"] == report["changed"] == len(report["moved"])
    assert report["reproduced"] == 1.0
    assert report["newly_queued"] == 0
    fair = {r["rep_id"]: (r["expected"], r["simulated"]) for r in report["fairness"]}
    assert fair == {str(ann): (20.0, 20), str(bob): (40.0, 40)}


async def test_a_draft_can_add_a_rep_change_rules_and_cap(a: Assigner) -> None:
    ann = await add_rep(a, "Ann", weight=1)
    await _leads(a, 6)
    await _leads(a, 2, country="FR")
    newbie = uuid.uuid4()
    draft = {
        "rules": [
            {"name": "fr", "countries": ["FR"], "pool": [str(newbie)]},
            {"name": "never", "countries": ["JP"]},
        ],
        "reps": [
            {"action": "add", "rep_id": str(newbie), "name": "Newbie", "territories": ["FR"]},
            {"action": "cap", "rep_id": str(ann), "max_open_leads": 4},
        ],
    }
    report = await simulate(a, _window(a, **draft))
    got = {r["name"]: (r["actual"], r["simulated"]) for r in report["per_rep"]}
    assert got == {"Ann": (8, 4), "Newbie": (0, 2)}
    assert report["newly_queued"] == 2  # Ann full, nobody else for DE
    assert report["cap_hits"] == 2
    assert report["rules_never_matched"] == ["never"]


async def test_teams_past_the_retention_go_whole_and_their_leads_count_as_not_recorded(
    a: Assigner,
) -> None:
    ann = await add_rep(a, "Ann")
    clock(a).now -= timedelta(days=3)
    old = await _leads(a, 3)
    clock(a).now += timedelta(days=3)
    await admin.update_rep(a, ann, {"weight": 2})  # a new team from here
    new = await _leads(a, 2)

    teams = await retention.purge_replay_record(a.rt, retention_days=1)

    async with a.rt.sessions() as s:
        kept = set(await s.scalars(select(DecisionRow.lead_id)))
    assert teams == 1
    assert kept == set(new)
    report = await simulate(a, _window(a, **{"from": clock(a).now - timedelta(days=5)}))
    [miss] = report["misses"]
    assert (miss["reason"], miss["count"]) == ("not_recorded", 3)
    assert miss["explanation"] == MISS_REASONS["not_recorded"]
    assert set(miss["example_lead_ids"]) == {str(i) for i in old}
    assert report["reproduced"] == 0.4


async def test_past_its_retention_the_record_goes_with_its_snapshots_and_what_stays_replays(
    a: Assigner,
) -> None:
    ann = await add_rep(a, "Ann")
    await add_rep(a, "Bob", weight=2)
    clock(a).now -= timedelta(days=30)
    await _leads(a, 4)
    clock(a).now += timedelta(days=30)
    await admin.update_rep(a, ann, {"weight": 3})  # a new team, with a new snapshot
    new = await _leads(a, 9)
    await admin.update_rep(a, ann, {"weight": 5})  # and another one
    new += await _leads(a, 5)
    async with a.rt.sessions() as s:
        assert len(set(await s.scalars(select(SnapshotRow.id)))) == 3
    old_run, new_run = uuid.uuid4(), uuid.uuid4()
    async with a.rt.transaction() as uow:
        for sid, days in ((old_run, 100), (new_run, 10)):
            at = clock(a).now - timedelta(days=days)
            uow.session.add(
                SimulationRow(
                    id=sid,
                    status="done",
                    request={},
                    report={},
                    requested_by="analyst:t",
                    created_at=at,
                    heartbeat_at=at,
                )
            )

    assert await retention.purge_replay_record(a.rt, retention_days=20) == 1
    assert await retention.purge_simulations(a.rt, retention_days=90) == 1

    async with a.rt.sessions() as s:
        kept = list(await s.scalars(select(DecisionRow.lead_id)))
        snapshots = set(await s.scalars(select(SnapshotRow.id)))
        named = set(await s.scalars(select(CheckpointRow.snapshot_id)))
        runs = list(await s.scalars(select(SimulationRow.id)))
    assert sorted(map(str, kept)) == sorted(map(str, new))
    assert snapshots == named  # the purged team's snapshot went too
    assert len(named) == 2
    assert runs == [new_run]
    report = await simulate(a, _window(a))
    assert (report["decisions"], report["reproduced"], report["misses"]) == (14, 1.0, [])


async def test_a_window_of_more_decisions_than_the_limit_is_refused_naming_from_and_to(
    a: Assigner, monkeypatch: pytest.MonkeyPatch
) -> None:
    await add_rep(a, "Ann")
    await _leads(a, 4)
    monkeypatch.setattr(a.settings, "simulation_max_decisions", 3)

    with pytest.raises(simulation_runs.SimulationInvalid) as refused:
        await simulation_runs.start(a, _window(a), requested_by="admin:test")

    msg = (
        "the window holds 4 recorded routing decisions, more than "
        "LEADFLOW_SIMULATION_MAX_DECISIONS (3): narrow from/to"
    )
    assert refused.value.errors == [("from", msg), ("to", msg)]
    async with a.rt.sessions() as s:  # refused before anything is stored or run
        assert list(await s.scalars(select(SimulationRow.id))) == []
    monkeypatch.setattr(a.settings, "simulation_max_decisions", 4)  # as many: it runs
    simulation_id = await simulation_runs.start(a, _window(a), requested_by="admin:test")
    body = await simulation_settled(a, simulation_id)
    assert (body["status"], body["leads"]) == ("done", 4)


def test_the_decision_limit_defaults_to_500000_and_refuses_nonsense(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    env, name = "LEADFLOW_SIMULATION_MAX_DECISIONS", "simulation_max_decisions"
    check_setting(monkeypatch, env, name, 500_000, good=7, bad=("0", "-1", "lots"))


async def _run(a: Assigner, request: RoutingSimulationRequest) -> dict[str, Any]:
    """A simulation as the API starts it, to its stored report."""
    simulation_id = await simulation_runs.start(a, request, requested_by="admin:test")
    body = await simulation_settled(a, simulation_id)
    assert body["status"] == "done", body
    return body


async def _tables(a: Assigner) -> dict[str, list[tuple[str, ...]]]:
    """Every table but the simulations' own, row by row."""
    async with a.rt.engine.connect() as conn:
        names = await conn.run_sync(lambda c: inspect(c).get_table_names())
        out = {}
        for name in sorted(set(names) - {"routing_simulations"}):
            rows = (await conn.execute(text(f'SELECT * FROM "{name}"'))).all()
            out[name] = sorted(tuple(map(repr, r)) for r in rows)
    return out


def _split(report: dict[str, Any], *reps: uuid.UUID) -> list[tuple[int, int]]:
    got = {r["rep_id"]: (r["actual"], r["simulated"]) for r in report["per_rep"]}
    return [got.get(str(rep), (0, 0)) for rep in reps]


async def test_a_draft_reweighting_a_rep_gives_it_its_weights_share(a: Assigner) -> None:
    ann = await add_rep(a, "Ann", weight=1)
    bob = await add_rep(a, "Bob", weight=1)
    await _leads(a, 20)

    tripled = await simulate(
        a, _window(a, reps=[{"action": "reweight", "rep_id": str(bob), "weight": 3}])
    )
    zero = await simulate(
        a, _window(a, reps=[{"action": "reweight", "rep_id": str(bob), "weight": 0}])
    )

    # Smooth weighted round robin over 20 leads: 1:3 is exactly 5 and 15; weight 0 never.
    assert _split(tripled, ann, bob) == [(10, 5), (10, 15)]
    assert _split(zero, ann, bob) == [(10, 20), (10, 0)]
    assert (tripled["reproduced"], zero["reproduced"]) == (1.0, 1.0)
    assert tripled["changed"] >= 5  # Ann's 5 leads Bob now takes (the order differs too)
    assert (zero["changed"], zero["newly_queued"]) == (10, 0)  # Bob's 10 go to Ann


async def test_a_draft_giving_a_rep_leave_keeps_its_leads_from_it_while_away(
    a: Assigner,
) -> None:
    ann = await add_rep(a, "Ann", weight=1)
    bob = await add_rep(a, "Bob", weight=1)
    t0 = clock(a).now
    await _leads(a, 20)  # one a second, from t0 to t0 + 19 s
    whole = {"start": (t0 - timedelta(hours=1)).isoformat(), "end": (t0 + timedelta(hours=1))}
    half = {"start": (t0 - timedelta(hours=1)).isoformat(), "end": t0 + timedelta(seconds=9.5)}

    away = await simulate(a, _window(a, reps=[{"action": "leave", "rep_id": str(bob)} | whole]))
    first_half = await simulate(
        a, _window(a, reps=[{"action": "leave", "rep_id": str(bob)} | half])
    )

    assert _split(away, ann, bob) == [(10, 20), (10, 0)]
    # Leads 0-9 (Bob away) all go to Ann, leaving her round-robin weight where it was; then
    # 1:1 alternates over leads 10-19: 5 each. Ann 15, Bob 5.
    assert _split(first_half, ann, bob) == [(10, 15), (10, 5)]
    assert (away["reproduced"], first_half["reproduced"]) == (1.0, 1.0)


@pytest.mark.parametrize("mode", ["shadow", "split"])
async def test_a_simulation_while_an_experiment_runs_changes_nothing_and_explains_its_arm(
    a: Assigner, mode: str
) -> None:
    ann = await add_rep(a, "Ann", weight=1)
    bob = await add_rep(a, "Bob", weight=1)
    await _leads(a, 4)
    variant = [{"name": "bob-only", "pool": [str(bob)]}]
    share = 0.5 if mode == "split" else None
    await experiment_admin.start(a, f"try-{mode}", mode, share, variant)
    await _leads(a, 16)
    async with a.rt.sessions() as s:
        stored = list(await s.scalars(select(DecisionRow)))
    in_variant = sorted(str(d.lead_id) for d in stored if "variant" in d.facts)
    before = await _tables(a)

    report = await _run(a, _window(a))
    drafted = await _run(a, _window(a, reps=[{"action": "deactivate", "rep_id": str(ann)}]))

    assert await _tables(a) == before  # no lead, assignment, counter or record changed
    assert report["decisions"] == 20
    if mode == "shadow":  # routes nothing differently: every decision given again
        assert in_variant == []
        assert (report["reproduced"], report["misses"]) == (1.0, [])
    else:  # the variant arm's decisions are misses, each explained
        assert 0 < len(in_variant) < 16
        assert report["reproduced"] == round((20 - len(in_variant)) / 20, 4)
        [miss] = report["misses"]
        assert (miss["reason"], miss["count"]) == ("experiment_variant", len(in_variant))
        assert set(miss["example_lead_ids"]) <= set(in_variant)
        assert miss["explanation"] == MISS_REASONS["experiment_variant"]
        # From its first variant decision the simulation routes by the active rules alone:
        # what the team would have done without the experiment, every lead still routed.
        assert report["newly_queued"] == 0
        assert sum(r["simulated"] for r in report["per_rep"]) == 20
    if mode == "shadow":
        assert report["changed"] == 0
    assert _split(drafted, ann, bob)[1][1] == 20  # Ann out: Bob gets all 20
