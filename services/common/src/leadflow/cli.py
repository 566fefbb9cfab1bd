"""`leadflow`: the operator's command line (status, dead-letter queues, demo, rep import).

    leadflow status                       health, readiness, consumer lag, DLQ sizes
    leadflow dlq list [--topic T]         what is dead-lettered and why (no personal data)
    leadflow dlq replay --all | --ce-id X put dead-lettered events back on their topic
    leadflow demo --leads 200 --rate 20   synthetic leads and outcomes against a running stack
    leadflow reps import reps.csv         add salespeople from a CSV file
    leadflow routing fairness --from D --to D   expected vs actual leads per rep
    leadflow routing test CASES.yaml      golden routing cases (exit 1 on a miss)
    leadflow routing simulate --from D --to D   replay a window through draft rules
    leadflow agreement status [--month M] the marketing–sales agreement: each promise
    leadflow scoring simulate --from D --to D   a draft scoring rule set or threshold on past leads

Connection settings come from options or `LEADFLOW_*` environment variables (see
docs/operations.md); defaults fit `make run` on this machine.
"""

import asyncio
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import httpx
import typer
from rich.markup import escape
from rich.table import Table

from leadflow import cli_agreement, cli_kafka, cli_routing, cli_scoring
from leadflow.cli_demo import DemoPlan, run_demo
from leadflow.cli_http import (
    DEFAULT_URLS,
    AssignmentUrl,
    FeedbackUrl,
    IntakeUrl,
    ScoringUrl,
    Token,
    console,
    err,
)
from leadflow.cli_kafka import DlqMessage
from leadflow.services import NAMES

app = typer.Typer(
    name="leadflow",
    help="Operate a leadflow installation: health, lag, dead letters, demo data, reps.",
    no_args_is_help=True,
    add_completion=False,
)
dlq_app = typer.Typer(help="Inspect and replay dead-lettered events.", no_args_is_help=True)
reps_app = typer.Typer(help="Salespeople in sales-assignment.", no_args_is_help=True)
app.add_typer(dlq_app, name="dlq")
app.add_typer(reps_app, name="reps")
app.add_typer(cli_routing.routing_app, name="routing")
agreement_app = typer.Typer(help="The marketing–sales agreement in feedback.", no_args_is_help=True)
app.add_typer(agreement_app, name="agreement")
app.add_typer(cli_scoring.scoring_app, name="scoring")

Bootstrap = Annotated[
    str,
    typer.Option("--bootstrap", envvar="LEADFLOW_KAFKA_BOOTSTRAP", help="Kafka bootstrap servers"),
]
DEFAULT_BOOTSTRAP = "localhost:9092"


def main() -> None:
    """Entry point of the `leadflow` script."""
    app()


# ---------------------------------------------------------------- status


@dataclass(frozen=True)
class Health:
    service: str
    url: str
    healthz: str
    readyz: str
    ok: bool


def probe_result(status_code: int, doc: object) -> tuple[bool, str]:
    """What a /healthz or /readyz answer means: up or not, and the word for the table."""
    doc = doc if isinstance(doc, dict) else {}
    checks = doc.get("checks")
    bad = (
        ", ".join(f"{k}: {v}" for k, v in checks.items() if v != "ok")
        if isinstance(checks, dict)
        else ""
    )
    if status_code == 200:
        # Ready without a dependency it can do without (intake, feedback: Kafka).
        return True, f"degraded ({bad})" if doc.get("degraded") and bad else "ok"
    if bad:
        return False, f"{status_code} {bad}"
    detail = doc.get("detail")
    return False, f"{status_code} {detail or ''}".strip()


async def _probe(http: httpx.AsyncClient, service: str, url: str) -> Health:
    async def get(path: str) -> tuple[bool, str]:
        try:
            r = await http.get(f"{url.rstrip('/')}{path}")
        except httpx.HTTPError as exc:
            return False, f"unreachable ({type(exc).__name__})"
        try:
            doc = r.json()
        except ValueError:
            doc = {}
        return probe_result(r.status_code, doc)

    (h_ok, h), (r_ok, rd) = await asyncio.gather(get("/healthz"), get("/readyz"))
    return Health(service, url, h, rd, h_ok and r_ok)


async def _health(urls: dict[str, str], timeout: float) -> list[Health]:
    async with httpx.AsyncClient(timeout=timeout) as http:
        return list(await asyncio.gather(*(_probe(http, s, u) for s, u in urls.items())))


def _mark(ok: bool, text: str) -> str:
    return f"[green]{escape(text)}[/]" if ok else f"[red]{escape(text)}[/]"


@app.command()
def status(  # noqa: PLR0917 (typer passes options by name)
    bootstrap: Bootstrap = DEFAULT_BOOTSTRAP,
    intake_url: IntakeUrl = DEFAULT_URLS["marketing-intake"],
    scoring_url: ScoringUrl = DEFAULT_URLS["lead-scoring"],
    assignment_url: AssignmentUrl = DEFAULT_URLS["sales-assignment"],
    feedback_url: FeedbackUrl = DEFAULT_URLS["feedback"],
    group_prefix: Annotated[
        list[str] | None,
        typer.Option(
            "--group-prefix",
            help="consumer groups to show (repeatable; default: the four service names)",
        ),
    ] = None,
    timeout: Annotated[float, typer.Option(help="seconds per HTTP probe")] = 3.0,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON instead of tables")] = False,
) -> None:
    """Each service's health and readiness, consumer lag per group and topic, DLQ sizes.

    Exits 1 when a service is not healthy and ready or Kafka cannot be reached.
    """
    urls = dict(zip(NAMES, (intake_url, scoring_url, assignment_url, feedback_url), strict=True))
    health = asyncio.run(_health(urls, timeout))
    prefixes = tuple(group_prefix or NAMES)
    kafka_error = None
    lags: list[cli_kafka.GroupLag] = []
    sizes: list[cli_kafka.DlqSize] = []
    try:
        lags = asyncio.run(asyncio.wait_for(cli_kafka.consumer_lag(bootstrap, prefixes), 30))
        sizes = asyncio.run(asyncio.wait_for(cli_kafka.dlq_sizes(bootstrap), 30))
    except Exception as exc:  # any client error: report it, the health table still helps
        kafka_error = f"{type(exc).__name__}: {exc}"
    if as_json:
        doc = {
            "services": [h.__dict__ for h in health],
            "consumer_lag": [g.__dict__ for g in lags],
            "dlq": [d.__dict__ for d in sizes],
            "kafka_error": kafka_error,
        }
        console.print_json(json.dumps(doc))
    else:
        t = Table(title="Services")
        for col in ("service", "url", "healthz", "readyz"):
            t.add_column(col)
        for h in health:
            t.add_row(
                h.service,
                h.url,
                _mark(h.healthz == "ok", h.healthz),
                _mark(h.readyz == "ok" or h.readyz.startswith("degraded"), h.readyz),
            )
        console.print(t)
        if kafka_error:
            err.print(f"[red]Kafka at {escape(bootstrap)}: {escape(kafka_error)}[/]")
        else:
            _print_lag(lags)
            _print_sizes(sizes)
    if kafka_error or not all(h.ok for h in health):
        raise typer.Exit(1)


def _print_lag(lags: list[cli_kafka.GroupLag]) -> None:
    t = Table(title="Consumer lag (committed offsets vs end offsets)")
    for col, justify in (
        ("group", "left"),
        ("topic", "left"),
        ("partitions", "right"),
        ("committed", "right"),
        ("end", "right"),
        ("lag", "right"),
    ):
        t.add_column(col, justify=justify, overflow="fold")  # type: ignore[arg-type]
    for g in lags:
        parts = str(g.partitions)
        if g.uncommitted_partitions:
            parts += f" ({g.uncommitted_partitions} never committed)"
        lag = f"[yellow]{g.lag}[/]" if g.lag else "0"
        t.add_row(g.group, g.topic, parts, str(g.committed), str(g.end), lag)
    if not lags:
        t.caption = "no consumer groups named after a service"
    console.print(t)


def _print_sizes(sizes: list[cli_kafka.DlqSize]) -> None:
    t = Table(title="Dead-letter topics")
    t.add_column("topic")
    t.add_column("messages", justify="right")
    t.add_column("not replayed", justify="right")
    for d in sizes:
        held = f"[red]{d.messages}[/]" if d.pending_replay else str(d.messages)
        t.add_row(d.topic, held, str(d.pending_replay))
    console.print(t)


# ---------------------------------------------------------------- dlq


def _when(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="seconds")


def _message_doc(m: DlqMessage, show_payload: bool) -> dict[str, object]:
    doc: dict[str, object] = {
        "dlq": f"{m.dlq_topic}/{m.partition}@{m.offset}",
        "original": (
            f"{m.original_topic}/{m.header('dlq_original_partition')}"
            f"@{m.header('dlq_original_offset')}"
        ),
        "group": m.group,
        "error_type": m.header("dlq_error_type"),
        "error_message": m.header("dlq_error_message"),
        "attempts": m.header("dlq_attempts"),
        "failed_at": m.header("dlq_failed_at") or _when(m.timestamp_ms),
        "ce_type": m.header("ce_type"),
        "ce_id": m.ce_id,
        "ce_source": m.header("ce_source"),
        "size": m.size,
        "truncated": m.truncated,
        "replayed": m.replayed,
        "replay_of_replay": m.header(cli_kafka.REPLAYED_HEADER) == "1",
    }
    if show_payload:
        doc["payload"] = (m.value or b"").decode("utf-8", "replace")
    return doc


@dlq_app.command("list")
def dlq_list(
    bootstrap: Bootstrap = DEFAULT_BOOTSTRAP,
    topic: Annotated[
        str | None, typer.Option("--topic", help="leads.x or leads.x.dlq (default: every DLQ)")
    ] = None,
    limit: Annotated[int | None, typer.Option("--limit", min=1, help="at most N messages")] = None,
    show_payload: Annotated[
        bool,
        typer.Option("--show-payload", help="also print the message values (personal data!)"),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="one JSON object per line")] = False,
) -> None:
    """Dead-lettered messages with where they came from and why they failed.

    Values hold personal data, so only their size is shown unless --show-payload.
    """
    messages = asyncio.run(cli_kafka.read_dlq(bootstrap, topic, limit=limit))
    if as_json:
        for m in messages:
            typer.echo(json.dumps(_message_doc(m, show_payload)))
        return
    t = Table(title=f"Dead-lettered messages ({len(messages)})", show_lines=True)
    for col in ("dlq", "original", "group", "error", "attempts", "failed at", "ce", "size"):
        t.add_column(col, overflow="fold")
    for m in messages:
        d = _message_doc(m, show_payload)
        ce = "\n".join(f"{k}={d[k]}" for k in ("ce_type", "ce_id") if d[k]) or "(no ce headers)"
        size = f"{m.size} B" + (" (truncated)" if m.truncated else "")
        status = " [green](replayed)[/]" if m.replayed else ""
        t.add_row(
            escape(str(d["dlq"])) + status,
            escape(str(d["original"])),
            escape(str(d["group"])),
            f"[bold]{escape(str(d['error_type']))}[/]: {escape(str(d['error_message']))}",
            escape(str(d["attempts"])),
            escape(str(d["failed_at"])),
            escape(ce),
            size,
        )
    console.print(t)
    if show_payload:
        for m in messages:
            console.rule(f"{m.dlq_topic}/{m.partition}@{m.offset}")
            console.print(escape((m.value or b"").decode("utf-8", "replace")), soft_wrap=True)


@dlq_app.command("replay")
def dlq_replay(  # noqa: PLR0917
    bootstrap: Bootstrap = DEFAULT_BOOTSTRAP,
    topic: Annotated[
        str | None, typer.Option("--topic", help="leads.x or leads.x.dlq (default: every DLQ)")
    ] = None,
    ce_id: Annotated[
        str | None, typer.Option("--ce-id", help="replay the message(s) with this ce_id")
    ] = None,
    replay_all: Annotated[
        bool, typer.Option("--all", help="replay every message not replayed yet")
    ] = False,
    group: Annotated[
        str | None,
        typer.Option("--group", help="only messages dead-lettered by this consumer group"),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="say what would be replayed, publish nothing")
    ] = False,
) -> None:
    """Republish dead-lettered messages (original key, bytes, headers) to their topics.

    Each DLQ message is replayed at most once: progress is kept by the consumer group
    `leadflow-dlq-replay`, committed in the same Kafka transaction as the republished
    messages. A consumer re-runs a replayed event only if it never committed its ce_id.
    """
    if (ce_id is None) == (not replay_all):
        err.print("[red]Pass exactly one of --ce-id X or --all.[/]")
        raise typer.Exit(2)
    report = asyncio.run(
        cli_kafka.replay(
            bootstrap,
            cli_kafka.selector(ce_id=ce_id, group=group),
            topic=topic,
            dry_run=dry_run,
        )
    )
    t = Table(title="Replay" + (" (dry run)" if dry_run else ""))
    for col in ("dlq", "to", "group", "ce_id", "action"):
        t.add_column(col, overflow="fold")
    for a in report.actions:
        m = a.message
        colour = "green" if a.action in ("replayed", "would replay") else "yellow"
        t.add_row(
            f"{m.dlq_topic}/{m.partition}@{m.offset}",
            m.original_topic,
            escape(m.group or ""),
            escape(m.ce_id or "(none)"),
            f"[{colour}]{escape(a.action)}[/]",
        )
    console.print(t)
    done = report.count("would replay" if dry_run else "replayed")
    console.print(
        f"{done} message(s) {'would be ' if dry_run else ''}replayed, "
        f"{report.count('already replayed')} already replayed, "
        f"{sum(1 for a in report.actions if a.action.startswith('skipped'))} skipped."
    )
    if not report.actions:
        console.print("Nothing matched.")


# ---------------------------------------------------------------- reps


def _row_errors(response: httpx.Response) -> list[str]:
    """`row 7: email: …` lines from the 422 problem (fields are `row 7.email`)."""
    try:
        doc = response.json()
    except ValueError:
        doc = {}
    errors = doc.get("errors") if isinstance(doc, dict) else None
    lines = []
    for e in errors or []:
        row, _, column = str(e.get("field", "")).partition(".")
        lines.append(f"{row}: {column}: {e.get('message')}" if column else f"{row}: {e}")
    if lines:
        return lines
    detail = doc.get("detail") if isinstance(doc, dict) else None
    return [f"HTTP {response.status_code}: {detail or response.text[:500]}"]


@reps_app.command("import")
def reps_import(
    file: Annotated[Path, typer.Argument(help="CSV file, UTF-8, header row first")],
    token: Token,
    assignment_url: AssignmentUrl = DEFAULT_URLS["sales-assignment"],
    timeout: Annotated[float, typer.Option(help="seconds")] = 30.0,
) -> None:
    """Add reps from a CSV file (all or nothing; POST /v1/reps/import).

    Prints each bad row and column and exits 1 when the file is refused; exits 2 when the
    file or the service cannot be reached.
    """
    try:
        body = file.read_bytes()
    except OSError as exc:
        err.print(f"[red]{escape(str(file))}: cannot read: {escape(str(exc))}[/]")
        raise typer.Exit(2) from exc
    try:
        r = httpx.post(
            f"{assignment_url.rstrip('/')}/v1/reps/import",
            content=body,
            headers={"Authorization": f"Bearer {token}", "Content-Type": "text/csv; charset=utf-8"},
            timeout=timeout,
        )
    except httpx.HTTPError as exc:
        err.print(f"[red]{escape(assignment_url)}: {type(exc).__name__}: {escape(str(exc))}[/]")
        raise typer.Exit(2) from exc
    if r.status_code == 201:
        doc = r.json()
        t = Table(title=f"{doc['created']} rep(s) imported")
        t.add_column("rep_id")
        t.add_column("name")
        t.add_column("email")
        for rep in doc.get("reps", []):
            t.add_row(str(rep.get("rep_id")), escape(str(rep.get("name"))), str(rep.get("email")))
        console.print(t)
        return
    lines = _row_errors(r)
    for line in lines:
        err.print(escape(line))
    if r.status_code == 422:
        err.print(f"[red]{len(lines)} error(s); nothing imported[/]")
        raise typer.Exit(1)
    raise typer.Exit(1 if r.status_code < 500 else 2)


# ---------------------------------------------------------------- agreement


@agreement_app.command("status")
def agreement_status(
    token: Token,
    month: Annotated[
        str | None, typer.Option("--month", help="YYYY-MM (UTC); default: this month")
    ] = None,
    feedback_url: FeedbackUrl = DEFAULT_URLS["feedback"],
    timeout: Annotated[float, typer.Option(help="seconds")] = 30.0,
    as_json: Annotated[bool, typer.Option("--json", help="print the API's JSON")] = False,
) -> None:
    """Each promise of the agreement: target, actual so far, projection, on track or not.

    GET /v1/agreement/status with an analyst or admin token (--token), as the dashboard's
    first screen shows it. Exits 1 when the service refuses (a bad month, a wrong token, no
    agreement yet), 2 when it cannot be reached.
    """
    code = cli_agreement.status(
        feedback_url, token, month, timeout=timeout, as_json=as_json, out=console, err=err
    )
    if code:
        raise typer.Exit(code)


# ---------------------------------------------------------------- demo


@app.command()
def demo(  # noqa: PLR0917
    token: Token,
    leads: Annotated[int, typer.Option("--leads", min=1, help="how many leads")] = 100,
    rate: Annotated[float, typer.Option("--rate", min=0.1, help="leads per second")] = 10.0,
    reps: Annotated[int, typer.Option("--reps", min=0, help="reps to create")] = 4,
    webhook_url: Annotated[
        str | None,
        typer.Option("--webhook-url", help="register this URL for lead.assigned webhooks"),
    ] = None,
    outcomes: Annotated[
        float,
        typer.Option(
            "--outcomes", min=0.0, max=1.0, help="share of assigned leads given an outcome"
        ),
    ] = 0.5,
    wait: Annotated[float, typer.Option(help="seconds to wait for assignments")] = 60.0,
    seed: Annotated[int | None, typer.Option(help="random seed (default: random)")] = None,
    intake_url: IntakeUrl = DEFAULT_URLS["marketing-intake"],
    assignment_url: AssignmentUrl = DEFAULT_URLS["sales-assignment"],
    feedback_url: FeedbackUrl = DEFAULT_URLS["feedback"],
) -> None:
    """Realistic synthetic leads, then won/lost outcomes, against a running stack.

    Creates an API key and reps (and a webhook endpoint with --webhook-url), posts leads
    to intake at --rate, waits for their assignments, then reports outcomes to feedback.
    """
    plan = DemoPlan(
        token=token,
        leads=leads,
        rate=rate,
        reps=reps,
        webhook_url=webhook_url,
        outcome_share=outcomes,
        wait_seconds=wait,
        seed=seed,
        intake_url=intake_url,
        assignment_url=assignment_url,
        feedback_url=feedback_url,
    )
    try:
        summary = asyncio.run(run_demo(plan, console))
    except httpx.HTTPError as exc:
        err.print(f"[red]{type(exc).__name__}: {escape(str(exc))}[/]")
        raise typer.Exit(2) from exc
    except RuntimeError as exc:
        err.print(f"[red]{escape(str(exc))}[/]")
        raise typer.Exit(1) from exc
    t = Table(title="Demo")
    t.add_column("what")
    t.add_column("count", justify="right")
    for k, v in summary.items():
        t.add_row(k, str(v))
    console.print(t)


if __name__ == "__main__":
    main()
