"""Routing fairness benchmark: 10,000 leads over 5 reps of weights 1-5.

`uv run python bench/routing_fairness.py [--json out.json]`

- steady: everyone always available; each rep's share must be within 2 points of its
  weight share.
- churn: capacity limits freed by simulated outcomes, an out-of-office week, reps in
  Berlin / New York / Tokyo hours, one lead a minute for a week. Shares are compared with
  the availability-adjusted expectation (at each decision, weight / weights of the reps
  then eligible); capacity and availability are checked independently of the router.

Prints the routing cost per lead (wall and CPU time over the route calls only) and exits 1
when a target fails.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import random
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from sales_assignment.facts import LeadFacts, Rep
from sales_assignment.routing import Assignment, RoutingPolicy, route

LEADS = 10_000
TOLERANCE_PP = 2.0
START = datetime(2025, 3, 3, 0, 0, tzinfo=UTC)  # a Monday
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri")


def make_reps(churn: bool) -> list[Rep]:
    """Five reps of weights 1-5; with `churn`, capacities, hours and an out-of-office week."""
    reps = [
        Rep(rep_id=UUID(int=w), name=f"rep{w}", email=f"rep{w}@seller.io", weight=w)
        for w in range(1, 6)
    ]
    if not churn:
        return reps
    office = {d: ["08:00-20:00"] for d in WEEKDAYS}
    return [
        reps[0],  # weight 1, unlimited, always on: keeps the queue short at night
        dataclasses.replace(reps[1], max_open_leads=6),
        dataclasses.replace(
            reps[2],
            max_open_leads=10,
            timezone="Europe/Berlin",
            working_hours=office,
        ),
        dataclasses.replace(
            reps[3],
            timezone="America/New_York",
            working_hours=office,
            out_of_office=[(START + timedelta(days=2), START + timedelta(days=4))],
        ),
        dataclasses.replace(
            reps[4], max_open_leads=15, timezone="Asia/Tokyo", working_hours=office
        ),
    ]


def independently_unavailable(rep: Rep, now: datetime) -> str | None:
    """A second, simpler implementation of availability to check the router against."""
    if any(start <= now < end for start, end in rep.out_of_office):
        return "out of office"
    if rep.working_hours:
        local = now.astimezone(ZoneInfo(rep.timezone))
        day = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")[local.weekday()]
        if day not in rep.working_hours or not 8 <= local.hour < 20:
            return "outside hours"
    if rep.max_open_leads is not None and rep.open_leads >= rep.max_open_leads:
        return "at capacity"
    return None


def simulate(churn: bool, seed: int = 7) -> dict[str, Any]:
    """Route LEADS leads, one a minute, carrying the round-robin state between calls."""
    rng = random.Random(seed)
    reps = make_reps(churn)
    by_id = {r.rep_id: r for r in reps}
    policy = RoutingPolicy()
    closes: list[tuple[datetime, UUID]] = []  # when an open lead gets an outcome
    counts: Counter[UUID] = Counter()
    expected: dict[UUID, float] = dict.fromkeys(by_id, 0.0)
    violations: list[str] = []
    queued = 0
    elapsed = cpu = 0.0
    for i in range(LEADS):
        now = START + timedelta(minutes=i)
        if churn:  # outcomes (contacted, won, lost) free capacity
            for closed in [c for c in closes if c[0] <= now]:
                closes.remove(closed)
                rep = by_id[closed[1]]
                by_id[rep.rep_id] = dataclasses.replace(rep, open_leads=rep.open_leads - 1)
        lead = LeadFacts(lead_id=UUID(int=10**6 + i), email_domain="gmail.com", country="DE")
        current = list(by_id.values())
        t0, c0 = time.perf_counter(), time.thread_time()
        result = route(lead, current, policy, now=now)
        elapsed += time.perf_counter() - t0
        cpu += time.thread_time() - c0
        policy = dataclasses.replace(policy, rr_state=result.new_rr_state)
        if not isinstance(result, Assignment):
            queued += 1
            continue
        chosen = by_id[result.rep_id]
        why = independently_unavailable(chosen, now)
        if why:
            violations.append(f"lead {i} went to {chosen.name}, who is {why}")
        eligible = [by_id[UUID(c["rep_id"])] for c in result.reason["candidates"] if c["eligible"]]
        total = sum(r.weight for r in eligible)
        for r in eligible:
            expected[r.rep_id] += r.weight / total
        counts[chosen.rep_id] += 1
        by_id[chosen.rep_id] = dataclasses.replace(chosen, open_leads=chosen.open_leads + 1)
        if chosen.max_open_leads is not None and chosen.open_leads + 1 > chosen.max_open_leads:
            violations.append(f"lead {i} put {chosen.name} over capacity")
        closes.append((now + timedelta(minutes=rng.randint(5, 90)), chosen.rep_id))

    assigned = sum(counts.values())
    weight_total = sum(r.weight for r in reps)
    rows: list[dict[str, Any]] = []
    for rep in reps:
        share = 100 * counts[rep.rep_id] / assigned
        target = 100 * (expected[rep.rep_id] / assigned if churn else rep.weight / weight_total)
        rows.append(
            {
                "rep": rep.name,
                "weight": rep.weight,
                "leads": counts[rep.rep_id],
                "share_pct": round(share, 2),
                "weight_share_pct": round(100 * rep.weight / weight_total, 2),
                "target_share_pct": round(target, 2),
                "diff_pp": round(share - target, 2),
            }
        )
    return {
        "scenario": "churn" if churn else "steady",
        "leads": LEADS,
        "assigned": assigned,
        "queued": queued,
        "reps": rows,
        "max_diff_pp": max(abs(r["diff_pp"]) for r in rows),
        "violations": violations[:20],
        "violation_count": len(violations),
        "us_per_lead": round(1e6 * elapsed / LEADS, 2),
        # CPU time: what the machine-speed reference uses (wall time grows with the load).
        "cpu_us_per_lead": round(1e6 * cpu / LEADS, 2),
    }


def main() -> int:
    """Run both scenarios, print the table, write JSON if asked; 1 when a target fails."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, help="write the figures to this file")
    args = parser.parse_args()
    started = time.perf_counter()
    results = [simulate(churn=False), simulate(churn=True)]
    failures: list[str] = []
    for res in results:
        print(f"\n== {res['scenario']}: {res['assigned']} assigned, {res['queued']} queued")
        print(
            f"{'rep':<6}{'weight':>7}{'leads':>7}{'share%':>9}{'weight%':>9}{'target%':>9}{'diff':>7}"
        )
        for row in res["reps"]:
            print(
                f"{row['rep']:<6}{row['weight']:>7}{row['leads']:>7}{row['share_pct']:>9.2f}"
                f"{row['weight_share_pct']:>9.2f}{row['target_share_pct']:>9.2f}"
                f"{row['diff_pp']:>+7.2f}"
            )
        print(f"max |share - target| = {res['max_diff_pp']:.2f} pp (limit {TOLERANCE_PP})")
        print(f"capacity / availability violations: {res['violation_count']}")
        print(
            f"routing cost: {res['us_per_lead']:.1f} us per lead "
            f"({res['cpu_us_per_lead']:.1f} us of CPU)"
        )
        if res["max_diff_pp"] > TOLERANCE_PP:
            failures.append(f"{res['scenario']}: share off by {res['max_diff_pp']} pp")
        if res["violation_count"]:
            failures.append(f"{res['scenario']}: {res['violations'][0]}")
    wall = time.perf_counter() - started
    print(f"\nwall time {wall:.1f} s (limit 30 s)")
    if wall > 30:
        failures.append(f"took {wall:.1f} s")
    if args.json:
        report = {"results": results, "wall_s": round(wall, 2), "failures": failures}
        args.json.write_text(json.dumps(report, indent=2))
    for failure in failures:
        print(f"FAIL {failure}", file=sys.stderr)
    print("OK" if not failures else "FAILED")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
