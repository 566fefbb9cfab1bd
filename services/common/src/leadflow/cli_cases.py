"""`leadflow routing test CASES.yaml`: golden routing cases, read and checked before posting.

The file (YAML, read with `safe_load`) is a mapping with `cases:` (and an optional default
`at:`) or a bare list of cases. Each case: `name`, `lead` (country, company_size, industry,
score, email_domain, website_domain, company), optional `at`, and `expect` (rule, rep, pool,
queued). Its shape is checked here, each error naming the file's line, the case and the
field; values (a country code, a score over 100) are judged by sales-assignment, whose 422 is
mapped back to the same line and case. The kernel imports no service: the routing is done by
`POST /v1/routing/rules/test`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import yaml

LEAD_FIELDS = {
    "country": str,
    "company_size": int,
    "industry": str,
    "score": int,
    "email_domain": str,
    "website_domain": str,
    "company": str,
}
EXPECT_FIELDS = ("rule", "rep", "pool", "queued")
CASE_FIELDS = ("name", "lead", "at", "expect")
Path_ = tuple[str | int, ...]


class CasesInvalid(ValueError):
    """A cases or rules file that cannot be used; each line names the place and the fault."""

    def __init__(self, lines: list[str]) -> None:
        self.lines = lines
        super().__init__("\n".join(lines))


@dataclass(frozen=True)
class CasesFile:
    """The cases as the API takes them, and where each part of them is in the file."""

    path: Path
    cases: list[dict[str, Any]]
    root: yaml.Node | None
    listed: bool  # a bare list of cases (no `cases:` key)

    def line(self, where: Path_) -> int | None:
        """The 1-based line of `cases[i]…` in the file (the nearest node that exists)."""
        node, found = self.root, None
        steps = where[1:] if self.listed and where[:1] == ("cases",) else where
        for step in steps:
            if node is None:
                break
            found = node.start_mark.line + 1
            node = _child(node, step)
        return node.start_mark.line + 1 if node is not None else found

    def place(self, where: Path_) -> str:
        """`CASES.yaml:14: case 'dach' (cases[3]): lead.country` for an error message."""
        line = self.line(where)
        head = f"{self.path}:{line}" if line else str(self.path)
        if len(where) >= 2 and where[0] == "cases" and isinstance(where[1], int):
            i = where[1]
            case = self.cases[i] if i < len(self.cases) else None
            name = case.get("name") if isinstance(case, dict) else None
            label = f"case {name!r} (cases[{i}])" if isinstance(name, str) else f"cases[{i}]"
            rest = _dotted(where[2:])
            return f"{head}: {label}" + (f": {rest}" if rest else "")
        return f"{head}: {_dotted(where)}"


def _dotted(where: Sequence[str | int]) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in where).lstrip(".")


def _child(node: yaml.Node, step: str | int) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode) and isinstance(step, str):
        return next((v for k, v in node.value if getattr(k, "value", None) == step), None)
    if isinstance(node, yaml.SequenceNode) and isinstance(step, int) and step < len(node.value):
        child: yaml.Node = node.value[step]
        return child
    return None


def read_cases(path: Path) -> CasesFile:
    """The cases of a YAML file, checked for shape (CasesInvalid naming line, case and field)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CasesInvalid([f"{path}: cannot read: {exc}"]) from exc
    try:
        doc = yaml.safe_load(text)
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark is not None else str(path)
        problem = getattr(exc, "problem", None) or str(exc)
        raise CasesInvalid([f"{where}: not valid YAML: {problem}"]) from exc
    listed = isinstance(doc, list)
    if listed:
        doc = {"cases": doc}
    if not isinstance(doc, dict) or not isinstance(doc.get("cases"), list):
        raise CasesInvalid([f"{path}: expected `cases:` with a list of cases (or a list)"])
    found = CasesFile(path, doc["cases"], root, listed)
    unknown = [k for k in doc if k not in ("cases", "at")]
    errors = [f"{found.place((k,))}: unknown key (use cases, at)" for k in unknown]
    default_at = doc.get("at")
    if default_at is not None and not isinstance(default_at, (str, datetime, date)):
        errors.append(f"{found.place(('at',))}: must be a date-time such as 2027-01-04T10:00Z")
    if not found.cases:
        errors.append(f"{found.place(('cases',))}: no cases")
    names: dict[str, int] = {}
    for i, case in enumerate(found.cases):
        errors += [f"{found.place(w)}: {m}" for w, m in _case_errors(case, ("cases", i))]
        name = case.get("name") if isinstance(case, dict) else None
        if isinstance(name, str) and name in names:
            errors.append(f"{found.place(('cases', i, 'name'))}: same name as cases[{names[name]}]")
        elif isinstance(name, str):
            names[name] = i
    if errors:
        raise CasesInvalid(errors)
    for case in found.cases:
        if "at" not in case and default_at is not None:
            case["at"] = default_at
        if isinstance(case.get("at"), (datetime, date)):  # YAML reads timestamps itself
            case["at"] = case["at"].isoformat()
    return found


def _case_errors(case: object, where: Path_) -> list[tuple[Path_, str]]:
    """Each shape fault of one case: (where, what)."""
    if not isinstance(case, dict):
        return [(where, "must be a mapping with name, lead, expect")]
    errors: list[tuple[Path_, str]] = [
        ((*where, k), f"unknown key (use {', '.join(CASE_FIELDS)})")
        for k in case
        if k not in CASE_FIELDS
    ]
    if not isinstance(case.get("name"), str) or not case["name"].strip():
        errors.append(((*where, "name"), "must be a non-empty text"))
    lead = case.get("lead")
    if not isinstance(lead, dict):
        errors.append(((*where, "lead"), f"must be a mapping of {', '.join(LEAD_FIELDS)}"))
    else:
        errors += _lead_errors(lead, (*where, "lead"))
    at = case.get("at")
    if at is not None and not isinstance(at, (str, datetime, date)):
        errors.append(((*where, "at"), "must be a date-time such as 2027-01-04T10:00:00Z"))
    expect = case.get("expect")
    if not isinstance(expect, dict) or not expect:
        errors.append(((*where, "expect"), f"must be a mapping of {', '.join(EXPECT_FIELDS)}"))
    else:
        errors += _expect_errors(expect, (*where, "expect"))
    return errors


def _lead_errors(lead: dict[Any, Any], where: Path_) -> list[tuple[Path_, str]]:
    errors: list[tuple[Path_, str]] = []
    for key, value in lead.items():
        kind = LEAD_FIELDS.get(key)
        if kind is None:
            errors.append(((*where, key), f"unknown key (use {', '.join(LEAD_FIELDS)})"))
        elif isinstance(value, bool) and key == "country":  # YAML 1.1: NO is false
            errors.append(
                ((*where, key), "write the code in quotes: YAML reads NO, ON … as true/false")
            )
        elif value is not None and (isinstance(value, bool) or not isinstance(value, kind)):
            errors.append(((*where, key), f"must be {'a whole number' if kind is int else 'text'}"))
    return errors


def _expect_errors(expect: dict[Any, Any], where: Path_) -> list[tuple[Path_, str]]:
    errors: list[tuple[Path_, str]] = [
        ((*where, k), f"unknown key (use {', '.join(EXPECT_FIELDS)})")
        for k in expect
        if k not in EXPECT_FIELDS
    ]
    for key in ("rule", "rep"):
        if key in expect and not isinstance(expect[key], str):
            errors.append(((*where, key), "must be text (a name or rep id; quote numbers)"))
    pool = expect.get("pool")
    if "pool" in expect and (
        not isinstance(pool, list) or not pool or not all(isinstance(p, str) for p in pool)
    ):
        errors.append(((*where, "pool"), "must be a non-empty list of rep names or ids"))
    if "queued" in expect and not isinstance(expect["queued"], bool):
        errors.append(((*where, "queued"), "must be true or false"))
    return errors


def read_list(path: Path, key: str) -> list[Any]:
    """A JSON list from a file, bare or as `{key: [...]}` as the API gives it (so a saved
    answer can be edited and sent back): draft rules, roster changes. CasesInvalid names the
    file, and the line and column of bad JSON."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise CasesInvalid([f"{path}: cannot read: {exc}"]) from exc
    except json.JSONDecodeError as exc:
        raise CasesInvalid([f"{path}:{exc.lineno}:{exc.colno}: not valid JSON: {exc.msg}"]) from exc
    found = doc.get(key) if isinstance(doc, dict) else doc
    if not isinstance(found, list):
        raise CasesInvalid([f'{path}: expected a list of {key} or {{"{key}": [...]}}'])
    return found


def api_field(field: str) -> Path_:
    """`cases.3.lead.score` (the API's 422 field) as a path into the file."""
    return tuple(int(p) if p.isdigit() else p for p in field.split("."))
