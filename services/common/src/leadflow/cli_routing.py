"""`leadflow routing`: `fairness` (the fairness ledger as a table or JSON), `test` (golden
cases checked by sales-assignment; the file is read by `cli_cases`) and `simulate` (run by
`cli_simulate`)."""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from leadflow import cli_http, cli_simulate
from leadflow.cli_cases import CasesFile, CasesInvalid, api_field, read_cases, read_list
from leadflow.cli_http import (
    DEFAULT_URLS,
    AssignmentUrl,
    Token,
    client,
    finish,
    request_json,
    show,
)

routing_app = typer.Typer(help="Routing in sales-assignment.", no_args_is_help=True)

DecisionsFrom = Annotated[
    str, typer.Option("--from", help="decisions made at or after (ISO date or date-time)")
]
DecisionsTo = Annotated[
    str, typer.Option("--to", help="decisions made before (ISO date or date-time)")
]


def fairness_table(doc: dict[str, Any]) -> Table:
    """One row per rep: eligible decisions, expected and actual leads, the gap, declines,
    skips."""
    t = Table(
        title=f"Fairness {doc['from']} → {doc['to']}: {doc['decisions']} decision(s)",
        caption=_caption(doc),
    )
    t.add_column("rep")
    for col in ("eligible", "expected", "actual", "actual − expected", "declined"):
        t.add_column(col, justify="right")
    t.add_column("skipped")
    for rep in doc["reps"]:
        name = escape(str(rep["name"] or rep["rep_id"]))
        if not rep["active_now"]:
            name += " [dim](inactive now)[/]"
        gap = rep["actual"] - rep["expected"]
        skipped = ", ".join(f"{k} {v}" for k, v in rep["skipped"].items())
        t.add_row(
            name,
            str(rep["eligible"]),
            f"{rep['expected']:.2f}",
            str(rep["actual"]),
            f"{gap:+.2f}",
            str(rep.get("declined", 0)),  # of actual; a server before the count sends none
            escape(skipped) or "–",
        )
    return t


def _caption(doc: dict[str, Any]) -> str:
    since = doc.get("ledger_since")
    if since is None:
        return "The ledger holds no decision yet."
    return f"The ledger holds decisions since {since}; older ones were recorded without weights."


def fairness(
    url: str,
    token: str,
    start: str,
    end: str,
    *,
    timeout: float,
    as_json: bool,
    out: Console,
    err: Console,
) -> int:
    """Ask `GET /v1/routing/fairness` and print it; the exit code (0, 1 refused, 2 no answer)."""
    params = {"from": start, "to": end}
    return show(url, "/v1/routing/fairness", token, params, fairness_table,
                timeout=timeout, as_json=as_json, out=out, err=err)  # fmt: skip


# ---------------------------------------------------------------- routing test

CHUNK = 500  # cases per request: well under the API's 1,000 and its body limit


def _expected(expect: dict[str, Any]) -> str:
    parts = []
    if "rule" in expect:
        parts.append(f"rule {expect['rule']}")
    if "rep" in expect:
        parts.append(f"rep {expect['rep']}")
    if "pool" in expect:
        parts.append(f"one of {', '.join(expect['pool'])}")
    if "queued" in expect:
        parts.append("queued" if expect["queued"] else "not queued")
    return "; ".join(parts)


def _got(result: dict[str, Any]) -> str:
    who = "queued" if result["queued"] else result.get("rep_name") or result["rep_id"]
    return f"rule {result['rule']} → {who}"


def cases_table(found: CasesFile, results: list[dict[str, Any]], title: str) -> Table:
    """One row per case: its name, what it expects, what routing did, PASS or FAIL."""
    t = Table(title=title)
    for col in ("case", "expected", "got", "result"):
        t.add_column(col)
    for case, result in zip(found.cases, results, strict=True):
        mark = "[green]PASS[/]" if result["passed"] else "[red]FAIL[/]"
        t.add_row(escape(case["name"]), escape(_expected(case["expect"])),
                  escape(_got(result)), mark)  # fmt: skip
    return t


def _refused(
    found: CasesFile, offset: int, rules: Path | None, r: httpx.Response, err: Console
) -> None:
    """Print why the service refused a chunk: each field at its line and case when it has one."""
    try:
        doc = r.json()
    except ValueError:
        doc = {}
    errors = (doc.get("errors") if isinstance(doc, dict) else None) or []
    for e in errors:
        field, message = str(e.get("field")), str(e.get("message"))
        where = api_field(field)
        if where[:1] == ("cases",) and len(where) > 1 and isinstance(where[1], int):
            place = found.place(("cases", where[1] + offset, *where[2:]))
        elif field.startswith("rules") and rules is not None:
            place = f"{rules}: {field}"
        else:
            place = f"{found.path}: {field}"
        err.print(escape(f"{place}: {message}"))
    if not errors:
        detail = doc.get("detail") if isinstance(doc, dict) else None
        err.print(f"[red]HTTP {r.status_code}: {escape(str(detail or r.text[:500]))}[/]")


def test_cases(
    url: str,
    token: str,
    cases: Path,
    rules: Path | None,
    *,
    timeout: float,
    as_json: bool,
    out: Console,
    err: Console,
) -> int:
    """Check the file's cases with `POST /v1/routing/rules/test`; the exit code (0 every case
    passed, 1 a miss, 2 a bad file or no usable answer)."""
    try:
        found = read_cases(cases)
        draft = read_list(rules, "rules") if rules is not None else None
    except CasesInvalid as exc:
        for line in exc.lines:
            err.print(escape(line))
        return 2
    results: list[dict[str, Any]] = []
    version = None
    with client(url, token, timeout) as http:
        for offset in range(0, len(found.cases), CHUNK):
            body: dict[str, Any] = {"cases": found.cases[offset : offset + CHUNK]}
            if draft is not None:
                body["rules"] = draft
            doc = request_json(http, "POST", "/v1/routing/rules/test", body=body, err=err,
                               refused=partial(_refused, found, offset, rules))  # fmt: skip
            if isinstance(doc, int):
                return 2
            results += doc["cases"]
            version = doc.get("rules_version")
    failed = [i for i, result in enumerate(results) if not result["passed"]]
    if as_json:
        out.print_json(json.dumps({"rules_version": version, "cases": results}))
    else:
        against = f"draft {rules}" if rules is not None else f"active rules v{version}"
        out.print(cases_table(found, results, f"{cases} against {against}"))
        for i in failed:
            for difference in results[i]["differences"]:
                # One line each whatever the width (soft wrap): CI logs grep `FAIL file:line`.
                out.print(escape(f"FAIL {found.place(('cases', i))}: {difference}"), soft_wrap=True)
        out.print(f"{len(results) - len(failed)} passed, {len(failed)} failed")
    return 1 if failed else 0


# ---------------------------------------------------------------- commands


@routing_app.command("fairness")
def routing_fairness(  # noqa: PLR0917
    token: Token,
    from_: DecisionsFrom,
    to: DecisionsTo,
    assignment_url: AssignmentUrl = DEFAULT_URLS["sales-assignment"],
    timeout: Annotated[float, typer.Option(help="seconds")] = 30.0,
    as_json: Annotated[bool, typer.Option("--json", help="print the API's JSON")] = False,
) -> None:
    """The fairness ledger: per rep, decisions eligible in, expected and actual leads, skips.

    GET /v1/routing/fairness with an analyst or admin token (--token). Exits 1 when the
    service refuses (a bad window, a wrong token), 2 when it cannot be reached.
    """
    out, err = cli_http.console, cli_http.err
    finish(fairness(assignment_url, token, from_, to, timeout=timeout, as_json=as_json,
                    out=out, err=err))  # fmt: skip


@routing_app.command("test")
def routing_test(  # noqa: PLR0917
    cases: Annotated[Path, typer.Argument(help="CASES.yaml: golden cases (see docs)")],
    token: Token,
    rules: Annotated[
        Path | None,
        typer.Option("--rules", help="a draft rule set (JSON) to test instead of the active one"),
    ] = None,
    assignment_url: AssignmentUrl = DEFAULT_URLS["sales-assignment"],
    timeout: Annotated[float, typer.Option(help="seconds")] = 60.0,
    as_json: Annotated[bool, typer.Option("--json", help="print the API's results")] = False,
) -> None:
    """Check golden routing cases (lead facts → expected rule, rep or pool).

    POST /v1/routing/rules/test with an analyst or admin token (--token): each case is routed
    against today's team and the active rules (or --rules draft.json), on a fresh round
    robin, and nothing is changed. Exits 0 when every case passes, 1 on any miss, 2 on a bad
    file (each error names its line, case and field) or when the service refuses or cannot
    be reached.
    """
    out, err = cli_http.console, cli_http.err
    finish(test_cases(assignment_url, token, cases, rules, timeout=timeout, as_json=as_json,
                      out=out, err=err))  # fmt: skip


@routing_app.command("simulate")
def routing_simulate(  # noqa: PLR0917
    token: Token,
    from_: DecisionsFrom,
    to: DecisionsTo,
    rules: Annotated[
        Path | None,
        typer.Option("--rules", help="a draft rule set (JSON) to replay instead of the active"),
    ] = None,
    reps: Annotated[
        Path | None,
        typer.Option("--reps", help="roster changes (JSON: add, deactivate, reweight, leave, cap)"),
    ] = None,
    wait: Annotated[
        float, typer.Option("--wait", min=0, help="seconds to wait for the report")
    ] = 300.0,
    fail_if_changed_over: Annotated[
        int | None,
        typer.Option("--fail-if-changed-over", min=0, help="exit 1 when more leads change rep"),
    ] = None,
    poll: Annotated[
        float, typer.Option("--poll", min=0.05, help="seconds between two looks at the report")
    ] = 1.0,
    assignment_url: AssignmentUrl = DEFAULT_URLS["sales-assignment"],
    timeout: Annotated[float, typer.Option(help="seconds per HTTP request")] = 30.0,
    as_json: Annotated[bool, typer.Option("--json", help="print the API's report")] = False,
) -> None:
    """Replay a window's leads through draft rules and/or roster changes; print the report.

    POST /v1/routing/simulations with an analyst or admin token (--token), then polls GET
    /v1/routing/simulations/{id} until it is done. Nothing in a simulation changes a lead.
    Exits 0 when done, 1 when it failed or (--fail-if-changed-over N) more than N leads would
    change rep, 2 on a bad file, a refusal, no answer, or no report within --wait seconds.
    """
    sim = cli_simulate.Simulation(
        from_, to, rules, reps, wait=wait, poll=poll, fail_if_changed_over=fail_if_changed_over
    )
    out, err = cli_http.console, cli_http.err
    finish(cli_simulate.simulate(assignment_url, token, sim, timeout=timeout, as_json=as_json,
                                 out=out, err=err))  # fmt: skip
