"""`leadflow routing fairness` (the fairness ledger as a table or JSON) and `leadflow routing
test` (golden cases checked by sales-assignment; the file is read by `cli_cases`)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from leadflow.cli_cases import CasesFile, CasesInvalid, api_field, read_cases, read_rules


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


def get_json(
    url: str, path: str, token: str, params: dict[str, str], *, timeout: float, err: Console
) -> dict[str, Any] | int:
    """GET a service's JSON with a bearer token: the document, or the exit code after
    printing why not (1 refused, with each named field; 2 no answer or a server error)."""
    try:
        r = httpx.get(
            f"{url.rstrip('/')}{path}",
            params=params,
            headers={"Authorization": f"Bearer {token}"},
            timeout=timeout,
        )
    except httpx.HTTPError as exc:
        err.print(f"[red]{escape(url)}: {type(exc).__name__}: {escape(str(exc))}[/]")
        return 2
    try:
        doc = r.json()
    except ValueError:
        doc = {}
    if r.status_code != 200:
        for e in (doc.get("errors") if isinstance(doc, dict) else None) or []:
            err.print(f"{escape(str(e.get('field')))}: {escape(str(e.get('message')))}")
        detail = doc.get("detail") if isinstance(doc, dict) else None
        err.print(f"[red]HTTP {r.status_code}: {escape(str(detail or r.text[:500]))}[/]")
        return 1 if r.status_code < 500 else 2
    found: dict[str, Any] = doc
    return found


def show(
    url: str,
    path: str,
    token: str,
    params: dict[str, str],
    table: Callable[[dict[str, Any]], Table],
    *,
    timeout: float,
    as_json: bool,
    out: Console,
    err: Console,
) -> int:
    """GET `path` and print it as `table` (or the API's JSON); the exit code (0, 1 refused,
    2 no answer)."""
    doc = get_json(url, path, token, params, timeout=timeout, err=err)
    if isinstance(doc, int):
        return doc
    if as_json:
        out.print_json(json.dumps(doc))
    else:
        out.print(table(doc))
    return 0


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


def _post(url: str, token: str, body: dict[str, Any], timeout: float) -> httpx.Response:
    return httpx.post(
        f"{url.rstrip('/')}/v1/routing/rules/test",
        json=body,
        headers={"Authorization": f"Bearer {token}"},
        timeout=timeout,
    )


def _refused(
    r: httpx.Response, found: CasesFile, offset: int, rules: Path | None, err: Console
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
        draft = read_rules(rules) if rules is not None else None
    except CasesInvalid as exc:
        for line in exc.lines:
            err.print(escape(line))
        return 2
    results: list[dict[str, Any]] = []
    version = None
    for offset in range(0, len(found.cases), CHUNK):
        body: dict[str, Any] = {"cases": found.cases[offset : offset + CHUNK]}
        if draft is not None:
            body["rules"] = draft
        try:
            r = _post(url, token, body, timeout)
        except httpx.HTTPError as exc:
            err.print(f"[red]{escape(url)}: {type(exc).__name__}: {escape(str(exc))}[/]")
            return 2
        if r.status_code != 200:
            _refused(r, found, offset, rules, err)
            return 2
        doc = r.json()
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
                out.print(escape(f"FAIL {found.place(('cases', i))}: {difference}"))
        out.print(f"{len(results) - len(failed)} passed, {len(failed)} failed")
    return 1 if failed else 0
