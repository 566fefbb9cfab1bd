"""The CLI's calls to a service: the options naming the service and the token, JSON with a
bearer token, a turn waited for on 429, and a refusal printed field by field (the RFC 9457
problem's `errors`, then its detail)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Annotated, Any

import httpx
import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from typer.models import OptionInfo

from leadflow.services import BY_NAME, SERVICES

console = Console()
err = Console(stderr=True)

Token = Annotated[
    str,
    typer.Option("--token", envvar="LEADFLOW_ADMIN_TOKEN", help="admin bearer token"),
]


def _url_option(name: str) -> OptionInfo:
    """`--<word>-url`, read from `LEADFLOW_<WORD>_URL`, for one service of the registry."""
    service = BY_NAME[name]
    option: OptionInfo = typer.Option(f"--{service.cli}-url", envvar=service.url_env, help=name)
    return option


IntakeUrl = Annotated[str, _url_option("marketing-intake")]
ScoringUrl = Annotated[str, _url_option("lead-scoring")]
AssignmentUrl = Annotated[str, _url_option("sales-assignment")]
FeedbackUrl = Annotated[str, _url_option("feedback")]
DEFAULT_URLS = {s.name: s.local_url for s in SERVICES}


def client(url: str, token: str, timeout: float) -> httpx.Client:
    """An HTTP client for one service, sending `token` as its bearer token."""
    headers = {"Authorization": f"Bearer {token}"}
    return httpx.Client(base_url=url.rstrip("/"), headers=headers, timeout=timeout)


def print_problem(r: httpx.Response, err: Console) -> None:
    """Each field the service named, then its status and detail."""
    try:
        doc = r.json()
    except ValueError:
        doc = {}
    for e in (doc.get("errors") if isinstance(doc, dict) else None) or []:
        err.print(escape(f"{e.get('field')}: {e.get('message')}"))
    detail = doc.get("detail") if isinstance(doc, dict) else None
    err.print(f"[red]HTTP {r.status_code}: {escape(str(detail or r.text[:500]))}[/]")


def retry_after(r: httpx.Response, default: float) -> float:
    """The seconds a 429 asks to wait (`default` when it does not say in seconds)."""
    try:
        return max(0.0, float(r.headers.get("Retry-After", default)))
    except ValueError:  # an HTTP date: not worth parsing for a turn of a few seconds
        return default


def request_json(
    http: httpx.Client,
    method: str,
    path: str,
    *,
    err: Console,
    params: dict[str, str] | None = None,
    body: dict[str, Any] | None = None,
    expected: tuple[int, ...] = (200,),
    wait: float = 0.0,
    poll: float = 1.0,
    refused: Callable[[httpx.Response, Console], None] = print_problem,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any] | int:
    """Call the service and return its JSON document, or the exit code after printing why
    not: 1 when it refuses the request (a bad field, a wrong token), 2 when it cannot be
    reached, fails, or is still busy (429) after `wait` seconds of waiting turns (each as
    long as its Retry-After says, else `poll`)."""
    deadline = time.monotonic() + wait
    try:
        r = http.request(method, path, params=params, json=body)
        while r.status_code == 429 and time.monotonic() < deadline:  # others run: wait a turn
            sleep(min(retry_after(r, poll), max(0.0, deadline - time.monotonic())))
            r = http.request(method, path, params=params, json=body)
    except httpx.HTTPError as exc:
        err.print(f"[red]{escape(str(http.base_url))}: {type(exc).__name__}: {escape(str(exc))}[/]")
        return 2
    try:
        doc = r.json()
    except ValueError:
        doc = None
    if r.status_code in expected and isinstance(doc, dict):
        return doc
    refused(r, err)
    return 1 if r.status_code < 500 and r.status_code != 429 else 2


def finish(code: int) -> None:
    """End a command with its exit code (0: as usual)."""
    if code:
        raise typer.Exit(code)


def printed(
    doc: dict[str, Any] | int,
    table: Callable[[dict[str, Any]], Table],
    *,
    as_json: bool,
    out: Console,
) -> int:
    """Print an answer as `table` (or the API's JSON); the exit code (an int is one)."""
    if isinstance(doc, int):
        return doc
    if as_json:
        out.print_json(json.dumps(doc))
    else:
        out.print(table(doc))
    return 0


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
    with client(url, token, timeout) as http:
        doc = request_json(http, "GET", path, params=params, err=err)
    return printed(doc, table, as_json=as_json, out=out)
