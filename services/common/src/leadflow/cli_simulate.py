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

from leadflow.cli_cases import CasesInvalid, read_rules

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


def read_reps(path: Path) -> list[Any]:
    """Roster changes: a JSON list of `{"rep_id"?, "action", …}` or `{"reps": [...]}`."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise CasesInvalid([f"{path}: cannot read: {exc}"]) from exc
    except json.JSONDecodeError as exc:
        raise CasesInvalid([f"{path}:{exc.lineno}:{exc.colno}: not valid JSON: {exc.msg}"]) from exc
    reps = doc.get("reps") if isinstance(doc, dict) else doc
    if not isinstance(reps, list):
        raise CasesInvalid([f'{path}: expected a list of rep changes or {{"reps": [...]}}'])
    return reps


def request_body(sim: Simulation) -> dict[str, Any]:
    """The POST body (CasesInvalid when a file cannot be used)."""
    body: dict[str, Any] = {"from": sim.start, "to": sim.end}
    if sim.rules is not None:
        body["rules"] = read_rules(sim.rules)
    if sim.reps is not None:
        body["reps"] = read_reps(sim.reps)
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


def _answer(r: httpx.Response, expected: tuple[int, ...], err: Console) -> dict[str, Any]:
    try:
        doc = r.json()
    except ValueError:
        doc = None
    if r.status_code in expected and isinstance(doc, dict):
        return doc
    errors = (doc.get("errors") if isinstance(doc, dict) else None) or []
    for e in errors:
        err.print(escape(f"{e.get('field')}: {e.get('message')}"))
    detail = doc.get("detail") if isinstance(doc, dict) else None
    err.print(f"[red]HTTP {r.status_code}: {escape(str(detail or r.text[:500]))}[/]")
    raise Refused


def _retry_after(r: httpx.Response, default: float) -> float:
    try:
        return max(0.0, float(r.headers.get("Retry-After", default)))
    except ValueError:  # an HTTP date: not worth parsing for a turn of a few seconds
        return default


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
    try:
        r = http.post("/v1/routing/simulations", json=body)
        while r.status_code == 429 and time.monotonic() < deadline:  # others run: wait a turn
            sleep(min(_retry_after(r, sim.poll), max(0.0, deadline - time.monotonic())))
            r = http.post("/v1/routing/simulations", json=body)
        doc = _answer(r, (200, 201, 202), err)
        sid = doc.get("simulation_id")
        while doc.get("status") not in ("done", "failed"):
            if time.monotonic() >= deadline:
                err.print(f"[red]simulation {sid} still running after {sim.wait:g} s[/]")
                raise Refused
            sleep(sim.poll)
            doc = _answer(http.get(f"/v1/routing/simulations/{sid}"), (200,), err)
    except httpx.HTTPError as exc:
        err.print(f"[red]{escape(str(http.base_url))}: {type(exc).__name__}: {escape(str(exc))}[/]")
        raise Refused from exc
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
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=url.rstrip("/"), headers=headers, timeout=timeout) as http:
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
