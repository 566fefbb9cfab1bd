"""The chart in a real cluster (issue 20, defects 4-8): deterministic renders, required values,
network policies, the shutdown grace and hook timing. Each test failed on the chart before
these fixes."""

from __future__ import annotations

import inspect
import re
from typing import Any

from leadflow import runner, service
from support.chart import (
    ALL_FEATURES,
    CHART,
    EXISTING_SECRETS,
    Render,
    helm_template,
    named,
    of_kind,
    pod_spec,
)

SERVICES = 4  # a Deployment and a migration Job each


def deployments(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The services' Deployments (a loop over none would check nothing)."""
    found = of_kind(docs, "Deployment")
    assert len(found) == SERVICES, [d["metadata"]["name"] for d in found]
    return found


def jobs_with_the_topics_job(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The migration Jobs and the topics Job (rendered with kafka.topicsJob.enabled)."""
    found = of_kind(docs, "Job")
    names = [d["metadata"]["name"] for d in found]
    assert len(found) == SERVICES + 1, names
    assert "leadflow-topics" in names
    return found


# ---------------------------------------------------------------- 4. deterministic


def test_two_renders_of_the_same_values_are_byte_identical(helm: str) -> None:
    for args in ((), ("--values", str(ALL_FEATURES)), ("--values", str(EXISTING_SECRETS))):
        first, second = helm_template(helm, *args), helm_template(helm, *args)
        assert first.returncode == 0, first.stderr
        assert first.stdout == second.stdout, args
    # No token in the values: it was drawn at random (a new one per render, so per Argo CD
    # sync); now the render fails, the same way every time.
    args = ("--set", "secrets.adminToken=")
    first, second = helm_template(helm, *args), helm_template(helm, *args)
    assert (first.returncode, first.stdout) == (second.returncode, second.stdout)
    assert first.returncode != 0
    assert "secrets.adminToken" in first.stderr


def test_no_template_draws_at_random_or_reads_the_cluster() -> None:
    for path in (CHART / "templates").rglob("*.yaml"):
        text = re.sub(r"\{\{-?\s*/\*.*?\*/\s*-?\}\}", "", path.read_text(), flags=re.S)
        for call in ("randAlphaNum", "randAscii", "randBytes", "uuidv4", "lookup", "now"):
            assert not re.search(rf"\b{call}\b", text), (path.name, call)


# ---------------------------------------------------------------- 5. required values


def test_missing_required_values_fail_the_render_naming_each(helm: str) -> None:
    result = helm_template(helm, "--values", "/dev/null")
    assert result.returncode != 0
    for name in (
        "kafka.bootstrap",
        "secrets.adminToken",
        "secrets.tokenSecret",
        "secrets.secretsKey",
        *(f"databaseUrls.{s}" for s in TOPOLOGY_SERVICES),
    ):
        assert name in result.stderr, name


TOPOLOGY_SERVICES = ("marketing-intake", "lead-scoring", "sales-assignment", "feedback")


def test_prod_refuses_what_prod_services_refuse(helm: str) -> None:
    no_password = helm_template(
        helm, "--set", "databaseUrls.feedback=postgresql+asyncpg://feedback@pg/feedback?ssl=require"
    )
    assert no_password.returncode != 0
    assert "databaseUrls.feedback has no password" in no_password.stderr
    no_tls = helm_template(helm, "--set", "databaseUrls.feedback=postgresql+asyncpg://f:p@pg/f")
    assert no_tls.returncode != 0
    assert "without TLS" in no_tls.stderr
    plaintext = helm_template(
        helm, "--set", "kafka.tls.enabled=false", "--set", "kafka.sasl.username="
    )
    assert plaintext.returncode != 0
    assert "prod refuses PLAINTEXT" in plaintext.stderr
    mesh = helm_template(
        helm,
        *("--set", "kafka.tls.enabled=false", "--set", "kafka.sasl.username="),
        *("--set", "allowPlaintext=true"),
        *("--set", "databaseUrls.feedback=postgresql+asyncpg://f:p@pg/f"),
    )
    assert mesh.returncode == 0, mesh.stderr
    assert "LEADFLOW_ALLOW_PLAINTEXT" in mesh.stdout


def test_a_typo_in_the_values_fails_the_render(helm: str) -> None:
    result = helm_template(helm, "--set", "services.lead-scoring.keda.enable=true")
    assert result.returncode != 0
    assert "enable" in result.stderr


# ---------------------------------------------------------------- 6. NetworkPolicy


EGRESS_ON = ("--set", "networkPolicy.egress.enabled=true")
A_RULE = ("--set", "networkPolicy.egress.rules[0].to[0].ipBlock.cidr=10.0.0.0/8")


def test_egress_without_rules_for_kafka_and_postgresql_is_refused(helm: str) -> None:
    result = helm_template(helm, *EGRESS_ON)
    assert result.returncode != 0
    assert "networkPolicy.egress.rules" in result.stderr


def test_private_webhook_hosts_need_their_egress(helm: str) -> None:
    result = helm_template(
        helm,
        *EGRESS_ON,
        *A_RULE,
        *("--set", "services.sales-assignment.settings.webhook_allowed_hosts=crm.internal"),
    )
    assert result.returncode != 0
    assert "webhookTo" in result.stderr


def test_webhook_egress_allows_public_ipv6_as_well(render: Render) -> None:
    docs = render(*EGRESS_ON, *A_RULE)
    policy = named(docs, "NetworkPolicy", "leadflow-sales-assignment")
    blocks = [p["ipBlock"] for rule in policy["spec"]["egress"] for p in rule.get("to", [])]
    cidrs = {b["cidr"]: set(b.get("except", [])) for b in blocks}
    assert "::/0" in cidrs
    assert {"fc00::/7", "fe80::/10", "64:ff9b::/96", "2002::/16"} <= cidrs["::/0"]
    assert "10.0.0.0/8" in cidrs["0.0.0.0/0"]


def test_every_pod_the_chart_runs_is_selected_by_a_network_policy(render: Render) -> None:
    docs = render(*EGRESS_ON, *A_RULE, "--set", "kafka.topicsJob.enabled=true")
    policies = [d["spec"]["podSelector"] for d in of_kind(docs, "NetworkPolicy")]
    assert policies

    def selected(labels: dict[str, str]) -> bool:
        for selector in policies:
            match = selector.get("matchLabels", {}).items() <= labels.items()
            for expr in selector.get("matchExpressions", []):
                match = match and labels.get(expr["key"]) in expr["values"]
            if match:
                return True
        return False

    for doc in deployments(docs) + jobs_with_the_topics_job(docs):
        labels = doc["spec"]["template"]["metadata"]["labels"]
        assert selected(labels), doc["metadata"]["name"]


# ---------------------------------------------------------------- 7. grace period from the code


def worst_case_drain() -> float:
    """What the code may take after SIGTERM (runner.serve, service.Runtime.stop)."""
    uvicorn = int(re.findall(r"timeout_graceful_shutdown=(\d+)", inspect.getsource(runner))[0])
    stop = inspect.getsource(service.Runtime.stop)
    consumers = int(re.findall(r"consumer_tasks, timeout=(\d+)", stop)[0])
    flush = int(re.findall(r"asyncio\.timeout\((\d+)\):\s+await self\.relay", stop)[0])
    closing_steps = len(re.findall(r'\("\w+", self\.', stop))  # producer, database
    return uvicorn + consumers + flush + (1 + closing_steps) * service.STOP_SECONDS  # 1: tasks


def test_the_grace_period_outlasts_the_worst_case_drain_of_the_code(render: Render) -> None:
    assert worst_case_drain() >= 75
    for args in ((), ("--values", str(ALL_FEATURES))):
        for doc in deployments(render(*args)):
            pod = pod_spec(doc)
            (container,) = pod["containers"]
            pre_stop = int(container["lifecycle"]["preStop"]["exec"]["command"][-1])
            assert pod["terminationGracePeriodSeconds"] >= pre_stop + worst_case_drain()


# ---------------------------------------------------------------- 8. hooks within helm's timeout


def test_hook_jobs_end_before_helm_stops_waiting(helm: str, render: Render) -> None:
    docs = render("--set", "kafka.topicsJob.enabled=true")
    for job in jobs_with_the_topics_job(docs):
        assert job["spec"]["activeDeadlineSeconds"] < 300, job["metadata"]["name"]
    result = helm_template(helm, "--set", "migrations.activeDeadlineSeconds=600")
    assert result.returncode != 0
    assert "helm.timeoutSeconds" in result.stderr
