"""What platform teams expect of the chart (issue 20): public routes only on the Ingress,
alerts and a dashboard on metrics that exist, `helm test`, extra env and volumes."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from typing import Any

from prometheus_client import REGISTRY

import feedback.app
import lead_scoring.app
import marketing_intake.app
import sales_assignment.app
from support.chart import ALL_FEATURES, ROOT, Render, env_of, helm_template, of_kind, pod_spec

# The apps are imported for their metrics: each registers its own on import.
APPS = (feedback.app, lead_scoring.app, marketing_intake.app, sales_assignment.app)
# Metrics the alerts may use that the services do not export: Prometheus' own and
# kube-state-metrics' (installed with kube-prometheus-stack).
EXTERNAL = {"up", "kube_deployment_status_replicas_unavailable"}
EXTERNAL_DASHBOARD = EXTERNAL | {"kube_deployment_status_replicas_available"}


def deployments(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The services' Deployments: one per service (a loop over none would check nothing)."""
    found = of_kind(docs, "Deployment")
    assert len(found) == len(APPS), [d["metadata"]["name"] for d in found]
    return found


def exported_metrics() -> set[str]:
    """Every sample name the services' processes can expose."""
    names: set[str] = set()
    for metric in REGISTRY.collect():
        names.add(metric.name)
        if metric.type == "counter":
            names.add(f"{metric.name}_total")
        if metric.type == "histogram":
            names.update(f"{metric.name}_{s}" for s in ("bucket", "sum", "count"))
    return names


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression reads (selectors, not functions or labels)."""
    without_strings = re.sub(r'"[^"]*"', '""', expr)
    without_labels = re.sub(r"\{[^}]*\}", "{}", without_strings)
    without_ranges = re.sub(r"\[[^\]]*\]", "", without_labels)
    words = set(re.findall(r"\b([a-z_][a-z0-9_]*)\s*\{", without_ranges))
    return {w for w in words if w not in {"by", "without"}}


def test_the_ingress_routes_only_the_public_routes_with_tls(render: Render) -> None:
    docs = render("--values", str(ALL_FEATURES))
    ingresses = {d["metadata"]["name"]: d["spec"] for d in of_kind(docs, "Ingress")}
    assert set(ingresses) == {"leadflow-marketing-intake", "leadflow-feedback"}
    for name, spec in ingresses.items():
        (rule,) = spec["rules"]
        assert spec["tls"][0]["hosts"] == [rule["host"]]
        for path in rule["http"]["paths"]:
            assert path["backend"]["service"]["name"] == name
            assert not path["path"].startswith(("/metrics", "/docs", "/openapi"))
            if path["path"] == "/":
                assert path["pathType"] == "Exact"  # the dashboard page, not everything


def test_intake_names_its_public_address_from_the_ingress(render: Render) -> None:
    docs = render("--values", str(ALL_FEATURES))
    found = deployments(docs)
    assert "leadflow-marketing-intake" in {d["metadata"]["name"] for d in found}
    for doc in found:
        env = env_of(pod_spec(doc)["containers"][0])
        if doc["metadata"]["name"] == "leadflow-marketing-intake":
            assert env["LEADFLOW_PUBLIC_URL"] == "https://forms.example.com"
        else:
            assert "LEADFLOW_PUBLIC_URL" not in env  # only intake reads it


def test_an_ingress_without_trusted_proxies_is_refused(helm: str) -> None:
    result = helm_template(
        helm,
        *("--set", "ingress.enabled=true", "--set", "ingress.services.feedback.host=x.example"),
    )
    assert result.returncode != 0
    assert "trusted_proxies" in result.stderr


def test_a_public_metrics_path_is_refused(helm: str) -> None:
    result = helm_template(
        helm,
        *("--set", "ingress.enabled=true", "--set", "ingress.services.feedback.host=x.example"),
        *("--set", "settings.trusted_proxies=10.0.0.0/8"),
        *("--set", "ingress.services.feedback.paths[0].path=/metrics"),
        *("--set", "ingress.services.feedback.paths[0].pathType=Prefix"),
    )
    assert result.returncode != 0
    assert "/metrics must not be public" in result.stderr


def test_alerts_and_dashboard_use_only_metrics_that_exist(render: Render) -> None:
    assert APPS
    exported = exported_metrics()
    docs = render("--values", str(ALL_FEATURES))
    (rule,) = of_kind(docs, "PrometheusRule")
    alerts = {r["alert"]: r["expr"] for g in rule["spec"]["groups"] for r in g["rules"]}
    assert {
        "LeadflowConsumerLagGrowing",
        "LeadflowEventsDeadLettered",
        "LeadflowDlqNotEmpty",
        "LeadflowOutboxBacklog",
        "LeadflowLeadsQueuedTooLong",
        "LeadflowNotReady",
    } <= set(alerts)
    for alert, expr in alerts.items():
        used = metric_names(expr)
        assert used, alert
        assert used <= exported | EXTERNAL, (alert, sorted(used - exported - EXTERNAL))
    (config_map,) = [c for c in of_kind(docs, "ConfigMap") if "leadflow.json" in c["data"]]
    assert config_map["metadata"]["labels"]["grafana_dashboard"] == "1"
    dashboard = json.loads(config_map["data"]["leadflow.json"])
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    assert len(exprs) >= 10
    for expr in exprs:
        used = metric_names(expr)
        assert used, expr
        assert used <= exported | EXTERNAL_DASHBOARD, (expr, used - exported)


def test_leads_queued_too_long_alerts_on_the_oldest_queued_lead_past_its_threshold(
    render: Render, helm: str
) -> None:
    def expr(*args: str) -> str:
        (rule,) = of_kind(render("--values", str(ALL_FEATURES), *args), "PrometheusRule")
        [found] = [
            r
            for g in rule["spec"]["groups"]
            for r in g["rules"]
            if r["alert"] == "LeadflowLeadsQueuedTooLong"
        ]
        return str(found["expr"])

    assert expr().startswith("max by (service) (leadflow_assignment_queue_oldest_seconds{")
    assert expr().endswith(") > 900")
    assert expr("--set", "metrics.prometheusRule.queuedLeadOldestSeconds=3600").endswith("> 3600")
    refused = helm_template(helm, "--set", "metrics.prometheusRule.queuedLeadOldestSeconds=-1")
    assert refused.returncode != 0
    assert "queuedLeadOldestSeconds" in refused.stderr


def test_helm_test_checks_every_services_readiness(render: Render) -> None:
    docs = render("--values", str(ALL_FEATURES))
    (pod,) = [d for d in of_kind(docs, "Pod") if d["metadata"]["annotations"]["helm.sh/hook"]]
    assert pod["metadata"]["annotations"]["helm.sh/hook"] == "test"
    urls = [a for a in pod["spec"]["containers"][0]["args"] if a.startswith("http://")]
    services = {
        d["metadata"]["name"]: d["spec"]["ports"][0]["port"] for d in of_kind(docs, "Service")
    }
    assert sorted(urls) == sorted(f"http://{n}:{p}/readyz" for n, p in services.items())
    # The NetworkPolicies restrict who may connect: the test pod is one of them.
    policies = of_kind(docs, "NetworkPolicy")
    assert policies
    restricted = 0
    for policy in policies:
        peers = [p for rule in policy["spec"].get("ingress", []) for p in rule.get("from", [])]
        if peers:
            restricted += 1
            labels = pod["metadata"]["labels"]
            assert any(
                p.get("podSelector", {}).get("matchLabels", {}).items() <= labels.items()
                for p in peers
                if "podSelector" in p and "namespaceSelector" not in p
            )
    assert restricted  # at least one policy names its peers, and lets the test pod in


def test_extra_env_volumes_and_scheduling_reach_the_pods(render: Render) -> None:
    docs = render("--values", str(ALL_FEATURES))
    for doc in deployments(docs):
        pod = pod_spec(doc)
        (container,) = pod["containers"]
        service = doc["metadata"]["labels"]["app.kubernetes.io/component"]
        names = [e["name"] for e in container["env"]]
        assert "OTEL_EXPORTER_OTLP_ENDPOINT" in names
        assert len(names) == len(set(names)), service
        assert container["envFrom"][0]["configMapRef"]["name"] == "leadflow-extra-settings"
        assert "company-ca" in {v["name"] for v in pod["volumes"]}
        assert "/etc/company-ca" in {m["mountPath"] for m in container["volumeMounts"]}
        assert pod["priorityClassName"] == "leadflow-high"
        keys = {c["topologyKey"] for c in pod["topologySpreadConstraints"]}
        assert "kubernetes.io/hostname" in keys, service
        if service == "marketing-intake":
            assert pod["tolerations"][0]["key"] == "edge"
            assert doc["spec"]["template"]["metadata"]["annotations"]["example.com/exposed"]
            assert "@sha256:" in container["image"]
        else:
            assert "topology.kubernetes.io/zone" in keys


def test_the_chart_readme_is_generated_from_the_current_values() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "deploy" / "helm" / "readme.py"), "--check"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout
    readme = (ROOT / "deploy" / "helm" / "leadflow" / "README.md").read_text()
    for value in ("kafka.strimzi.users.secretsCopiedToReleaseNamespace", "secrets.secretsKey"):
        assert f"`{value}`" in readme
