"""`leadflow routing simulate`: replay a window's leads through draft rules or roster changes.

Posts `POST /v1/routing/simulations` (sales-assignment), polls `GET
/v1/routing/simulations/{id}` until the report is done or failed, and prints it: the headline
figures, actual vs simulated leads per rep, the misses of the replay, the first moved leads.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from leadflow.cli_cases import CasesInvalid, read_list
from leadflow.cli_http import client, request_json

PATH = "/v1/routing/simulations"
MOVED_SHOWN = 20  # moved leads printed; the API keeps up to 500, --json prints them all


@dataclass(frozen=True)
class Simulation:
    """What to ask for and how long to wait."""

    start: str
    end: str
    rules: Path | None = None
    reps: Path | None = None
    wait: float = 300.0
    poll: float = 1.0
    fail_if_changed_over: int | None = None


def request_body(sim: Simulation) -> dict[str, Any]:
    """The POST body (CasesInvalid when a file cannot be used)."""
    body: dict[str, Any] = {"from": sim.start, "to": sim.end}
    if sim.rules is not None:
        body["rules"] = read_list(sim.rules, "rules")
    if sim.reps is not None:
        body["reps"] = read_list(sim.reps, "reps")
    return body


def _share(part: int, whole: int) -> str:
    return f"{part / whole:.1%}" if whole else "–"


def headline(doc: dict[str, Any]) -> str:
    """The report's figures in a few lines."""
    leads, changed = doc.get("leads") or 0, doc.get("changed") or 0
    lines = [
        f"Simulation {doc.get('simulation_id')}: {leads} lead(s), {changed} would change rep "
        f"({_share(changed, leads)}), {doc.get('newly_queued', 0)} newly queued, "
        f"{doc.get('cap_hits', 0)} cap hit(s)"
    ]
    reproduced = doc.get("reproduced")
    if isinstance(reproduced, (int, float)) and not isinstance(reproduced, bool):
        lines.append(
            f"Replayed as they were made, {reproduced:.2%} of the decisions come out the same"
        )
    elif reproduced is not None:
        lines.append(f"Reproduced: {reproduced}")
    never = doc.get("rules_never_matched") or []
    if never:
        lines.append("Rules never matched: " + ", ".join(map(str, never)))
    return "\n".join(lines)


def per_rep_table(doc: dict[str, Any]) -> Table:
    """Actual vs simulated leads per rep, the difference, and (when the report has its
    fairness) the leads the rep's weight let it expect in the simulation."""
    fairness = doc.get("fairness")
    expected = (
        {f.get("rep_id"): f.get("expected") for f in fairness if isinstance(f, dict)}
        if isinstance(fairness, list)
        else None
    )
    t = Table(title="Per rep: actual vs simulated")
    t.add_column("rep")
    for col in ("actual", "simulated", "Δ", *(("expected (simulated)",) if expected else ())):
        t.add_column(col, justify="right")
    for rep in doc.get("per_rep") or []:
        actual, simulated = rep.get("actual", 0), rep.get("simulated", 0)
        name = rep.get("name") or rep.get("rep_id")
        cells = [escape(str(name)), str(actual), str(simulated), f"{simulated - actual:+d}"]
        if expected:
            share = expected.get(rep.get("rep_id"))
            cells.append("–" if share is None else f"{share:.2f}")
        t.add_row(*cells)
    return t


def misses_table(doc: dict[str, Any]) -> Table:
    """Why some recorded decisions could not be replayed as they were made."""
    t = Table(title="Misses (decisions the replay could not reproduce)")
    t.add_column("reason")
    t.add_column("count", justify="right")
    t.add_column("example leads")
    for miss in doc.get("misses") or []:
        examples = ", ".join(map(str, (miss.get("example_lead_ids") or [])[:3]))
        reason = miss.get("explanation") or miss.get("reason")
        t.add_row(escape(str(reason)), str(miss.get("count")), examples)
    return t


def moved_table(doc: dict[str, Any]) -> Table:
    """The first moved leads: from which rep to which, by which rule."""
    names = {r.get("rep_id"): r.get("name") for r in doc.get("per_rep") or []}
    moved = doc.get("moved") or []
    total = doc.get("moved_total", len(moved))
    t = Table(title=f"Moved leads (first {min(MOVED_SHOWN, len(moved))} of {total})")
    for col in ("lead", "actual rep", "simulated rep", "simulated rule"):
        t.add_column(col)

    def who(rep_id: object) -> str:
        return "queued" if rep_id is None else escape(str(names.get(rep_id) or rep_id))

    for m in moved[:MOVED_SHOWN]:
        t.add_row(
            str(m.get("lead_id")),
            who(m.get("actual_rep_id")),
            who(m.get("simulated_rep_id")),
            escape(str(m.get("simulated_rule"))),
        )
    return t


def print_report(doc: dict[str, Any], out: Console) -> None:
    out.print(escape(headline(doc)))
    out.print(per_rep_table(doc))
    if doc.get("misses"):
        out.print(misses_table(doc))
    if doc.get("moved"):
        out.print(moved_table(doc))


class Refused(Exception):
    """The service answered with an error, or not at all: the exit code is 2."""


def run(
    http: httpx.Client,
    sim: Simulation,
    err: Console,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any]:
    """Start the simulation (waiting a turn while the service runs as many as it may) and
    poll it until done or failed; its report (Refused if the service refuses, cannot be
    reached or has no report after `sim.wait` seconds)."""
    try:
        body = request_body(sim)
    except CasesInvalid as exc:
        for line in exc.lines:
            err.print(escape(line))
        raise Refused from exc
    deadline = time.monotonic() + sim.wait
    doc = request_json(http, "POST", PATH, body=body, expected=(200, 201, 202), wait=sim.wait,
                       poll=sim.poll, err=err, sleep=sleep)  # fmt: skip
    if isinstance(doc, int):
        raise Refused
    sid = doc.get("simulation_id")
    while doc.get("status") not in ("done", "failed"):
        if time.monotonic() >= deadline:
            err.print(f"[red]simulation {sid} still running after {sim.wait:g} s[/]")
            raise Refused
        sleep(sim.poll)
        found = request_json(http, "GET", f"{PATH}/{sid}", err=err)
        if isinstance(found, int):
            raise Refused
        doc = found
    return doc


def simulate(
    url: str,
    token: str,
    sim: Simulation,
    *,
    timeout: float,
    as_json: bool,
    out: Console,
    err: Console,
) -> int:
    """Run a simulation and print its report; the exit code (0 done, 1 failed or more leads
    changed than allowed, 2 a bad file, a refusal, no answer or no report in time)."""
    with client(url, token, timeout) as http:
        try:
            doc = run(http, sim, err)
        except Refused:
            return 2
    if as_json:
        out.print_json(json.dumps(doc))
    elif doc.get("status") == "done":
        print_report(doc, out)
    if doc.get("status") == "failed":
        failed = f"simulation {doc.get('simulation_id')} failed: {doc.get('error')}"
        err.print(f"[red]{escape(failed)}[/]")
        return 1
    limit, changed = sim.fail_if_changed_over, doc.get("changed") or 0
    if limit is not None and changed > limit:
        err.print(f"[red]{changed} lead(s) would change rep: more than {limit}[/]")
        return 1
    return 0
