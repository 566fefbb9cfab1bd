"""The lab page's pure parts: its forms read into simulation requests (with what was wrong),
the summary a simulation shows in the list, and what of a report is kept."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from feedback.days import default_window, end_of, parse_day, start_of, window_error
from leadflow import lab

MAX_JSON_DEPTH = 20  # a draft nests a few levels; deeper is not a rule set
# A routing report's lists of reps: their names are not kept (employees' personal data).
REP_LISTS = ("per_rep", "moved", "fairness")


@dataclass
class Draft:
    """One form as read: the request it makes (when it is right), what was wrong, and the
    values to show again."""

    kind: lab.Kind
    values: dict[str, str]
    request: dict[str, Any] | None = None
    errors: list[str] = field(default_factory=list)


def blank(kind: lab.Kind, today: date) -> Draft:
    """An empty form: the last 30 days, the active rules."""
    first, last = default_window(today)
    values = {"from": first.isoformat(), "to": last.isoformat(), "rules": ""}
    values |= {"reps": ""} if kind == "routing" else {"threshold": ""}
    return Draft(kind, values)


def _depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max((_depth(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((_depth(v) for v in value), default=0)
    return 0


def _json(text: str, name: str, wanted: type, errors: list[str]) -> Any:
    """A JSON field's value, or None when it is empty or wrong (what was wrong added)."""
    if not text.strip():
        return None
    try:
        value = json.loads(text)
    except (ValueError, RecursionError) as exc:
        errors.append(f"{name}: not JSON ({str(exc)[:120]})")
        return None
    kind = "an array" if wanted is list else "an object"
    if not isinstance(value, wanted):
        errors.append(f"{name}: must be {kind}")
        return None
    if _depth(value) > MAX_JSON_DEPTH:
        errors.append(f"{name}: nested deeper than {MAX_JSON_DEPTH} levels")
        return None
    return value


def _window(values: Mapping[str, str], errors: list[str]) -> tuple[date | None, date | None]:
    first = parse_day(values.get("from"), "from", errors)
    last = parse_day(values.get("to"), "to", errors)
    for name, day in (("from", first), ("to", last)):
        if day is None and not values.get(name):
            errors.append(f"{name}: required (YYYY-MM-DD)")
    if first and last and (wrong := window_error(first, last)) is not None:
        errors.append(wrong)
    return first, last


def _instant(at: datetime) -> str:
    """A UTC instant as the request carries it (`2026-03-01T00:00:00Z`)."""
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


def read_form(kind: lab.Kind, form: Mapping[str, str]) -> Draft:
    """The simulation request a form asks for (`from`, `to` both included), or its errors.

    Routing: `rules` a JSON array (the draft rule set, as PUT /v1/routing/rules takes it),
    `reps` a JSON array of rep changes. Scoring: `rules` a JSON object (a draft rule set as
    PUT /v1/scoring/rules takes it), `threshold` a whole number from 0 to 100. Empty fields
    leave the live rules, roster and threshold as they are."""
    extra = "reps" if kind == "routing" else "threshold"
    values = {name: form.get(name, "") for name in ("from", "to", "rules", extra)}
    draft = Draft(kind, values)
    first, last = _window(values, draft.errors)
    # The services take a window [from, to) of times: the form's last day is included.
    request: dict[str, Any] = {
        "from": _instant(start_of(first)) if first else None,
        "to": _instant(end_of(last)) if last else None,
    }
    if kind == "routing":
        rules = _json(values["rules"], "rules", list, draft.errors)
        reps = _json(values["reps"], "reps", list, draft.errors)
        request |= {k: v for k, v in (("rules", rules), ("reps", reps)) if v is not None}
    else:
        rules = _json(values["rules"], "rules", dict, draft.errors)
        if rules is not None:
            request["rules"] = rules
        threshold = values["threshold"].strip()
        if threshold:
            if not threshold.isdigit() or int(threshold) > 100:
                draft.errors.append("threshold: a whole number from 0 to 100")
            else:
                request["threshold"] = int(threshold)
    if not draft.errors:
        draft.request = request
    return draft


def _percent(value: Any) -> str:
    return f"{float(value) * 100:.1f} %" if isinstance(value, int | float) else "–"


def runner(kind: str) -> str:
    """The service that runs a kind of simulation."""
    return "sales-assignment" if kind == "routing" else "lead-scoring"


def overdue(status: str, requested_at: datetime, now: datetime) -> bool:
    """Whether a simulation still waiting will never be answered: past the hour a request may
    be taken up in and the longest a service may hold it (a service that crashed, a request
    dropped)."""
    return status in ("requested", "running") and now - requested_at > lab.ANSWER_DEADLINE


def shown_status(status: str, requested_at: datetime, now: datetime) -> str:
    """The status the page shows: an overdue one as `failed` (the row is left as it is, so
    a report that still comes is kept and shown)."""
    return "failed" if overdue(status, requested_at, now) else status


def no_answer(kind: str) -> str:
    hours = lab.ANSWER_DEADLINE.total_seconds() / 3600
    return f"failed: no answer from {runner(kind)} within {hours:g} hours of the request"


def summary(kind: str, status: str, report: Mapping[str, Any] | None) -> str:
    """One line for the list: the headline figures, why it failed, or what it waits for."""
    who = runner(kind)
    if status == "requested":
        return f"waiting for {who}"
    report = report or {}
    if status == "failed":
        return f"failed: {str(report.get('error') or 'no reason given')[:200]}"
    if status == "running":
        return f"running in {who}"
    if kind == "routing":
        return (
            f"{report.get('leads', '–')} leads, {report.get('changed', '–')} would change rep, "
            f"{report.get('newly_queued', '–')} newly queued; "
            f"active rules reproduce {_percent(report.get('reproduced'))}"
        )
    return (
        f"{report.get('leads', '–')} leads: MQLs {report.get('mqls_now', '–')} now, "
        f"{report.get('mqls_draft', '–')} with the draft; {_count(report, 'became_mql')} "
        f"would become MQLs, {_count(report, 'stopped_being_mql')} would stop being MQLs"
    )


def _count(report: Mapping[str, Any], name: str) -> Any:
    found = report.get(name)
    return found.get("count", "–") if isinstance(found, Mapping) else "–"


def error_lines(report: Mapping[str, Any] | None) -> list[str]:
    """A failed report's errors as lines (a 422's `errors`: where and what)."""
    found = (report or {}).get("errors")
    lines = []
    for item in found if isinstance(found, list) else []:
        if isinstance(item, Mapping):  # the API's 422: {"field", "message"}
            where, what = item.get("field"), item.get("message", "")
            lines.append(f"{where}: {what}" if where else str(what))
        else:
            lines.append(str(item))
    return lines[:50]


def without_rep_names(report: Mapping[str, Any]) -> dict[str, Any]:
    """A report as kept: the entries of its rep lists without names (the page names reps
    from what feedback knows of them when it shows the report)."""
    kept = dict(report)
    for key in REP_LISTS:
        entries = report.get(key)
        if isinstance(entries, list):
            kept[key] = [_unnamed(e) if isinstance(e, Mapping) else e for e in entries]
    return kept


def _unnamed(entry: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in entry.items() if k != "name" and not k.endswith("_name")}


def rep_ids(report: Mapping[str, Any]) -> set[str]:
    """The rep ids a routing report names (per rep, moved leads, fairness)."""
    found: set[str] = set()
    for key in REP_LISTS:
        entries = report.get(key)
        for e in entries if isinstance(entries, list) else []:
            if isinstance(e, Mapping):
                found |= {str(e[k]) for k in ("rep_id", "actual_rep_id", "simulated_rep_id")
                          if e.get(k)}  # fmt: skip
    return found


def added_names(request: Mapping[str, Any]) -> dict[str, str]:
    """The names a request gives the reps it adds with an id (the analyst's draft)."""
    reps = request.get("reps")
    return {str(r["rep_id"]): str(r["name"])
            for r in (reps if isinstance(reps, list) else [])
            if isinstance(r, Mapping) and r.get("action") == "add" and r.get("rep_id")
            and r.get("name")}  # fmt: skip
