"""Routing replay benchmark: 100,000 recorded decisions over 50 reps, replayed.

`uv run python bench/routing_replay_bench.py [--leads 100000] [--json out.json]`

The history is made by the real routing path: sales-assignment's `Assigner` handlers in
process on SQLite (`on_qualified_many` in batches of 100, as the consumer calls it), with
outcomes freeing capped reps (the queue drains), weights changed, rules changed mid-way and
a few declines. Then the simulation replays the whole window (`simulation.simulate`, what
`POST /v1/routing/simulations` runs): with no draft (the reproduction share of the active
rules, target >= 0.99, every miss explained) and with a rep deactivated. Prints decisions/s
(target >= 5,000/s), the replay's peak memory (RSS high-water growth) and the record's size;
exits 1 when a target fails.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import random
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.synthetic import generate, qualified
from leadflow.events import Envelope, LeadOutcome
from leadflow.migrations import upgrade
from leadflow.service import Runtime
from sales_assignment import admin, declining, policy_admin
from sales_assignment.app import MIGRATIONS
from sales_assignment.assigning import Assigner
from sales_assignment.models import AssignmentRow
from sales_assignment.schemas import RepIn
from sales_assignment.schemas_lab import RoutingSimulationRequest
from sales_assignment.settings import AssignmentSettings
from sales_assignment.simulation import simulate

RATE_TARGET = 5_000.0
REPRODUCED_TARGET = 0.99
START = datetime(2026, 11, 2, tzinfo=UTC)
BATCH = 100
REGIONS = [["DE", "AT", "CH"], ["FR", "BE", "LU"], ["GB", "IE"], ["US", "CA"], ["ES", "IT", "PT"]]


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


def rep_docs(rng: random.Random) -> list[dict[str, Any]]:
    """50 reps: weights 1-5, regions, a few segment specialists, five capped."""
    docs = []
    for i in range(50):
        doc: dict[str, Any] = {
            "name": f"Rep {i:02d}",
            "email": f"rep{i}@seller.example",
            "weight": rng.randint(1, 5),
            "territories": REGIONS[i % len(REGIONS)] if i < 40 else [],
        }
        if i % 7 == 0:
            doc["segments"] = ["enterprise", "mid_market"]
        if i % 10 == 3:
            doc["max_open_leads"] = 400
        docs.append(doc)
    return docs


async def record(a: Assigner, clock: Clock, leads: int, rng: random.Random) -> dict[str, Any]:
    """Route `leads` synthetic MQLs through the handlers; what else happened on the way."""
    docs = [RepIn.model_validate(doc).model_dump(mode="json") for doc in rep_docs(rng)]
    reps = [await admin.create_rep(a, doc) for doc in docs]
    ids = [str(r.rep_id) for r in reps]
    await policy_admin.put_rules(
        a,
        [
            {"name": "dach", "countries": ["DE", "AT", "CH"], "pool": "territory"},
            {"name": "big", "min_employees": 1000, "pool": ids[40:48]},
        ],
    )
    samples = generate(leads, seed=7)
    given: list[uuid.UUID] = []
    events: dict[str, float] = {
        "weight_changes": 0,
        "rules_changes": 1,
        "outcomes": 0,
        "declines": 0,
    }
    started = time.perf_counter()
    for b in range(0, leads, BATCH):
        envs = [qualified(s.lead, rng.randint(60, 100), clock.now) for s in samples[b : b + BATCH]]
        async with a.rt.transaction() as uow:
            await a.on_qualified_many(uow, envs)
        given += [e.data.lead_id for e in envs]
        clock.now += timedelta(minutes=20)
        n = b // BATCH
        if n % 10 == 9:  # deals close: capacity frees, the queue drains
            for lead_id in rng.sample(given[-2000:], 20):
                won = LeadOutcome(lead_id=lead_id, stage="won", occurred_at=clock.now)
                async with a.rt.transaction() as uow:
                    await a.on_outcome(uow, Envelope(data=won, source="/feedback"))
                events["outcomes"] += 1
        if n % 100 == 50:
            await admin.update_rep(a, rng.choice(reps).rep_id, {"weight": rng.randint(1, 5)})
            events["weight_changes"] += 1
        if n == leads // BATCH // 2:
            await policy_admin.put_rules(
                a,
                [
                    {"name": "dach", "countries": ["DE", "AT", "CH"], "pool": "territory"},
                    {"name": "france", "countries": ["FR"], "pool": ids[5:15]},
                    {"name": "big", "min_employees": 2000, "pool": ids[40:48]},
                ],
            )
            events["rules_changes"] += 1
        if n % 50 == 25:
            async with a.rt.sessions() as s:
                row = await s.get(AssignmentRow, given[-1])
            if row is not None and row.status == "assigned":
                await declining.decline(a, row.lead_id, note=None)
                events["declines"] += 1
        if n % 100 == 0:
            print(f"  recorded {b + BATCH:,} leads ({time.perf_counter() - started:.0f} s)")
    events["seconds"] = round(time.perf_counter() - started, 1)
    return events


def rss_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


async def replay(a: Assigner, doc: dict[str, Any]) -> tuple[dict[str, Any], float, float]:
    """One simulation: its report, seconds, and the growth of peak RSS (MiB) while it ran."""
    gc.collect()
    base = rss_kib("VmRSS")
    with contextlib.suppress(OSError):
        await asyncio.to_thread(Path("/proc/self/clear_refs").write_text, "5")  # VmHWM reset
    started, cpu = time.perf_counter(), time.process_time()
    report = await simulate(a, RoutingSimulationRequest.model_validate(doc))
    seconds = time.perf_counter() - started
    report["cpu_seconds"] = time.process_time() - cpu
    return report, seconds, (rss_kib("VmHWM") - base) / 1024


async def record_size(a: Assigner) -> int:
    """Bytes of the replay record's column data (the three tables)."""
    parts = {
        "routing_decisions": "lead_id, checkpoint_id, decided_at, kind, facts, owner_id, "
        "prev_id, exclude, barred, rep_id, rule, generation, step, id",
        "routing_checkpoints": "id, snapshot_id, counts, rr, created_at",
        "routing_snapshots": "id, rules, reps, created_at, rules_version",
    }
    total = 0
    async with a.rt.sessions() as s:
        for table, cols in parts.items():
            sums = " + ".join(f"coalesce(length(CAST({c} AS BLOB)), 0)" for c in cols.split(", "))
            total += int(await s.scalar(text(f"SELECT sum({sums}) FROM {table}")) or 0)  # noqa: S608
    return total


async def run(leads: int, db: Path, *, recorded: bool) -> dict[str, Any]:
    """Record (unless `recorded` in `db` already), then replay twice; the figures."""
    url = f"sqlite+aiosqlite:///{db}"
    await asyncio.to_thread(upgrade, MIGRATIONS, url)
    settings = AssignmentSettings(database_url=url, admin_token="bench-admin")
    clock = Clock()
    a = Assigner(Runtime.build(settings), settings, clock)
    rng = random.Random(11)
    history: dict[str, Any] = {"reused": str(db)}
    if not recorded:
        print(f"recording {leads:,} leads over 50 reps through the Assigner (SQLite) …")
        history = await record(a, clock, leads, rng)
    end = START + timedelta(days=366)
    window = {"from": START.isoformat(), "to": end.isoformat()}
    same, seconds, memory = await replay(a, window)
    victim = next(r["rep_id"] for r in same["per_rep"] if r["actual"])
    draft = window | {"reps": [{"action": "deactivate", "rep_id": victim}]}
    changed, draft_seconds, draft_memory = await replay(a, draft)
    size = await record_size(a)
    await a.rt.engine.dispose()
    decisions = same["decisions"]
    return {
        "leads": leads,
        "reps": 50,
        "history": history,
        "decisions": decisions,
        "record_bytes_per_decision": round(size / max(1, decisions)),
        "replay_seconds": round(seconds, 2),
        "decisions_per_second": round(decisions / seconds),
        "cpu_us_per_decision": round(same["cpu_seconds"] / max(1, decisions) * 1e6),
        "peak_memory_mib": round(memory, 1),
        "reproduced": same["reproduced"],
        "misses": same["misses"],
        "changed_without_draft": same["changed"],
        "draft_decisions_per_second": round(changed["decisions"] / draft_seconds),
        "draft_peak_memory_mib": round(draft_memory, 1),
        "draft_changed": changed["changed"],
        "draft_rep_simulated": next(
            r["simulated"] for r in changed["per_rep"] if r["rep_id"] == victim
        ),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--leads", type=int, default=100_000)
    parser.add_argument("--json", type=Path, help="write the figures to this file")
    parser.add_argument(
        "--keep", type=Path, help="the SQLite file of the history: kept, and reused if it exists"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = args.keep or Path(tmp) / "replay.db"
        figures = asyncio.run(run(args.leads, db, recorded=db.exists()))
    failures = []
    if figures["decisions_per_second"] < RATE_TARGET:
        failures.append(f"replay {figures['decisions_per_second']:,}/s < {RATE_TARGET:,.0f}/s")
    if (figures["reproduced"] or 0) < REPRODUCED_TARGET:
        failures.append(f"reproduced {figures['reproduced']} < {REPRODUCED_TARGET}")
    if figures["draft_rep_simulated"] != 0:
        failures.append("the deactivated rep still got leads in the simulation")
    print(
        f"replay: {figures['decisions']:,} decisions in {figures['replay_seconds']} s = "
        f"{figures['decisions_per_second']:,}/s (target >= {RATE_TARGET:,.0f}; "
        f"{figures['cpu_us_per_decision']} µs of CPU each), peak memory "
        f"+{figures['peak_memory_mib']} MiB; with a rep deactivated "
        f"{figures['draft_decisions_per_second']:,}/s, {figures['draft_changed']:,} leads change"
    )
    print(
        f"reproduced {figures['reproduced']} (target >= {REPRODUCED_TARGET}); misses: "
        f"{figures['misses'] or 'none'}; record {figures['record_bytes_per_decision']} bytes "
        f"per decision; history: {figures['history']}"
    )
    figures["targets_met"] = not failures
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2, default=str))
    for failure in failures:
        print("TARGET MISSED:", failure)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
