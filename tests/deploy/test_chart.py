"""The Helm chart: lint, strict schema validation, and env vars the services really read."""

from __future__ import annotations

import base64
import copy
import os
import subprocess
from types import ModuleType
from typing import Any

import pytest
import yaml

from feedback.app import build_app as feedback_app
from feedback.settings import FeedbackSettings
from lead_scoring.app import build_app as scoring_app
from lead_scoring.settings import ScoringSettings
from leadflow.events import TOPICS, dlq_topic
from leadflow.kafka import INTERNAL_TOPICS
from leadflow.settings import Settings
from marketing_intake.app import build_app as intake_app
from marketing_intake.settings import IntakeSettings
from sales_assignment.app import build_app as assignment_app
from sales_assignment.settings import AssignmentSettings
from support.chart import (
    ALL_FEATURES,
    CHART,
    EXISTING_SECRETS,
    KUBE_VERSION,
    ROOT,
    Render,
    helm_template,
)
from support.chart import REQUIRED as REQUIRED_VALUES

SETTINGS: dict[str, type[Settings]] = {
    "marketing-intake": IntakeSettings,
    "lead-scoring": ScoringSettings,
    "sales-assignment": AssignmentSettings,
    "feedback": FeedbackSettings,
}
# What prod refuses to start without (the secrets from the chart's Secret or existingSecret).
REQUIRED = (
    "LEADFLOW_ADMIN_TOKEN",
    "LEADFLOW_TOKEN_SECRET",
    "LEADFLOW_SECRETS_KEY",
    "LEADFLOW_DATABASE_URL",
    "LEADFLOW_KAFKA_BOOTSTRAP",
)


def env_names(settings_cls: type[Settings]) -> set[str]:
    """The environment variables a settings class reads."""
    return {f"LEADFLOW_{name.upper()}" for name in settings_cls.model_fields}


def of_kind(docs: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [d for d in docs if d["kind"] == kind]


def component(doc: dict[str, Any]) -> str:
    return str(doc["metadata"]["labels"]["app.kubernetes.io/component"])


def containers(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return list(doc["spec"]["template"]["spec"]["containers"])


# A password held in a Secret the chart does not render (kafka.sasl.existingSecret).
EXTERNAL_SECRET_VALUE = "e7c1a9f04b2d8e6c3a5f1b9d7e2c4a80"


def existing_secrets(values: object) -> set[str]:
    """The Secrets a values tree declares external: every `existingSecret` in it."""
    if isinstance(values, dict):
        found = {str(v) for k, v in values.items() if k == "existingSecret" and v}
        return found.union(*(existing_secrets(v) for v in values.values()))
    if isinstance(values, list):
        return set().union(*(existing_secrets(v) for v in values))
    return set()


# The Secrets the values of these tests (the `rendered` fixture's) say the operator manages.
EXTERNAL_SECRETS = existing_secrets(
    [yaml.safe_load(f.read_text()) for f in (REQUIRED_VALUES, ALL_FEATURES, EXISTING_SECRETS)]
)


def resolve_env(container: dict[str, Any], secrets: dict[str, dict[str, str]]) -> dict[str, str]:
    """A container's environment with secretKeyRefs read from the rendered Secrets; a Secret
    the values declare external stands in with a placeholder, any other is a KeyError."""
    env: dict[str, str] = {}
    for item in container.get("env", []):
        if "value" in item:
            env[item["name"]] = item["value"]
        else:
            ref = item["valueFrom"]["secretKeyRef"]
            if ref["name"] in EXTERNAL_SECRETS and ref["name"] not in secrets:
                env[item["name"]] = EXTERNAL_SECRET_VALUE
            else:
                env[item["name"]] = secrets[ref["name"]][ref["key"]]
    return env


def secrets_of(docs: list[dict[str, Any]]) -> dict[str, dict[str, str]]:
    return {
        s["metadata"]["name"]: {k: base64.b64decode(v).decode() for k, v in s["data"].items()}
        for s in of_kind(docs, "Secret")
    }


# ---------------------------------------------------------------- lint and schemas


@pytest.mark.parametrize(
    "values", [REQUIRED_VALUES, ALL_FEATURES, EXISTING_SECRETS], ids=["default", "all", "existing"]
)
def test_helm_lint_is_clean(helm: str, values: object) -> None:
    result = subprocess.run(
        [
            helm,
            "lint",
            "--strict",
            str(CHART),
            "--kube-version",
            KUBE_VERSION,
            "--values",
            str(values),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_manifest_is_valid_against_kubernetes_and_crd_schemas(
    rendered: list[dict[str, Any]], validate: ModuleType
) -> None:
    assert validate.validate_documents(rendered) == []


def test_the_validator_rejects_unknown_fields(render: Render, validate: ModuleType) -> None:
    docs = render("--values", str(ALL_FEATURES))
    deployment = copy.deepcopy(of_kind(docs, "Deployment")[0])
    deployment["spec"]["template"]["spec"]["containers"][0]["livenessProbes"] = {}
    topic = copy.deepcopy(of_kind(docs, "KafkaTopic")[0])
    topic["spec"]["retention"] = "7d"
    user = copy.deepcopy(of_kind(docs, "KafkaUser")[0])
    user["spec"]["authorization"]["acls"][0]["operation"] = "Read"  # v1 wants `operations`
    errors = validate.validate_documents([deployment, topic, user])
    assert any("livenessProbes" in e for e in errors), errors
    assert any("KafkaTopic" in e and "retention" in e for e in errors), errors
    assert any("KafkaUser" in e and "operation" in e for e in errors), errors


def test_hadolint_passes_on_the_dockerfile() -> None:
    hadolint = ROOT / ".venv" / "bin" / "hadolint"
    cmd = [str(hadolint)] if hadolint.exists() else ["hadolint"]
    result = subprocess.run(
        [*cmd, str(ROOT / "deploy" / "docker" / "Dockerfile")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


# ---------------------------------------------------------------- settings


def test_every_env_var_the_chart_sets_is_a_setting_of_that_service(
    rendered: list[dict[str, Any]],
) -> None:
    workloads = of_kind(rendered, "Deployment") + [
        j for j in of_kind(rendered, "Job") if component(j).endswith("-migrate")
    ]
    assert len(workloads) == 8
    for doc in workloads:
        service = component(doc).removesuffix("-migrate")
        readable = env_names(SETTINGS[service])
        for container in containers(doc):
            names = {item["name"] for item in container.get("env", [])}
            names = {n for n in names if n.startswith("LEADFLOW_")}  # extraEnv may add others
            assert names <= readable, (service, sorted(names - readable))
            if component(doc).endswith("-migrate"):  # they seal stored webhook secrets
                assert {"LEADFLOW_DATABASE_URL", "LEADFLOW_SECRETS_KEY"} <= names


def test_each_deployment_starts_with_the_settings_it_renders(
    rendered: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Build each service's settings from exactly the chart's environment (prod guards on)."""
    secrets = secrets_of(rendered)
    external = not secrets or all(name.endswith("-migrations") for name in secrets)
    for doc in of_kind(rendered, "Deployment"):
        service = component(doc)
        (container,) = containers(doc)
        names = {item["name"] for item in container["env"]}
        assert set(REQUIRED) <= names, (service, sorted(set(REQUIRED) - names))
        if external:  # secrets.existingSecret: the values live outside the chart
            continue
        env = resolve_env(container, secrets)
        for key in list(os.environ):
            if key.startswith("LEADFLOW_"):
                monkeypatch.delenv(key)
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        settings = SETTINGS[service]()
        assert settings.env == "prod"
        assert settings.database_url.startswith("postgresql+asyncpg://")
        assert settings.http_port == int(container["ports"][0]["containerPort"])
        assert settings.http_host == "0.0.0.0"
        assert settings.migrate_on_start is False  # the pre-install/pre-upgrade Job migrates


def test_existing_secret_is_used_and_no_secret_is_rendered(render: Render) -> None:
    docs = render("--values", str(ALL_FEATURES))
    assert of_kind(docs, "Secret") == []
    refs = {
        item["name"]: item["valueFrom"]["secretKeyRef"]["name"]
        for doc in of_kind(docs, "Deployment") + of_kind(docs, "Job")
        for container in containers(doc)
        for item in container.get("env", [])
        if "valueFrom" in item
    }
    refs.pop("LEADFLOW_KAFKA_SASL_PASSWORD")
    assert set(refs.values()) == {"leadflow-credentials"}
    # Each service logs in to Kafka as its own KafkaUser, whose Secret Strimzi writes.
    users = {doc["metadata"]["name"] for doc in of_kind(docs, "KafkaUser")}
    logins = set()
    for doc in of_kind(docs, "Deployment"):
        env = {e["name"]: e for c in containers(doc) for e in c.get("env", [])}
        user = env["LEADFLOW_KAFKA_SASL_USERNAME"]["value"]
        assert env["LEADFLOW_KAFKA_SASL_PASSWORD"]["valueFrom"]["secretKeyRef"]["name"] == user
        logins.add(user)
    assert logins == users


def test_compose_sets_only_settings_the_services_read() -> None:
    compose = yaml.safe_load((ROOT / "deploy" / "compose.yaml").read_text())
    seen = set()
    for name, spec in compose["services"].items():
        service = name.removeprefix("migrate-")
        if service not in SETTINGS:
            continue
        seen.add(service)
        env = spec.get("environment", {})
        names = {k for k in env if k.startswith("LEADFLOW_")}
        assert names <= env_names(SETTINGS[service]), (name, sorted(names - env_names(Settings)))
    assert seen == set(SETTINGS)


# ---------------------------------------------------------------- behaviour of the chart


def test_pods_run_non_root_read_only_without_privilege_escalation(
    rendered: list[dict[str, Any]],
) -> None:
    for doc in of_kind(rendered, "Deployment") + of_kind(rendered, "Job"):
        pod = doc["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["automountServiceAccountToken"] is False
        mounts = {v["name"] for v in pod["volumes"]}
        for container in pod["containers"]:
            sc = container["securityContext"]
            assert sc["readOnlyRootFilesystem"] is True
            assert sc["allowPrivilegeEscalation"] is False
            assert sc["capabilities"]["drop"] == ["ALL"]
            paths = {m["mountPath"] for m in container["volumeMounts"]}
            assert {"/tmp", "/app/var"} <= paths
            assert {m["name"] for m in container["volumeMounts"]} <= mounts


def test_probes_mean_stuck_and_ready_and_shutdown_outlasts_the_drain(
    rendered: list[dict[str, Any]],
) -> None:
    for doc in of_kind(rendered, "Deployment"):
        pod = doc["spec"]["template"]["spec"]
        (container,) = pod["containers"]
        assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
        assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
        pre_stop = int(container["lifecycle"]["preStop"]["exec"]["command"][-1])
        # uvicorn 20 s + consumer drain 20 s + outbox flush 5 s, after the preStop sleep.
        assert pod["terminationGracePeriodSeconds"] >= pre_stop + 45


def test_a_grace_period_shorter_than_the_drain_is_refused(helm: str) -> None:
    result = helm_template(helm, "--set", "shutdown.terminationGracePeriodSeconds=30")
    assert result.returncode != 0
    assert "terminationGracePeriodSeconds" in result.stderr


def test_prod_refuses_sqlite_and_a_development_token(helm: str) -> None:
    sqlite = helm_template(helm, "--set", "databaseUrls.feedback=sqlite+aiosqlite:///var/f.db")
    assert sqlite.returncode != 0
    assert "SQLite" in sqlite.stderr
    token = helm_template(helm, "--set", "secrets.adminToken=dev-token")
    assert token.returncode != 0
    assert "adminToken" in token.stderr


def test_keda_may_not_scale_past_the_partitions(helm: str) -> None:
    result = helm_template(
        helm,
        *("--set", "services.lead-scoring.keda.enabled=true"),
        *("--set", "services.lead-scoring.keda.maxReplicas=24"),
    )
    assert result.returncode != 0
    assert "partitions" in result.stderr


def test_keda_replaces_the_hpa_of_the_service_it_scales(render: Render) -> None:
    docs = render("--values", str(ALL_FEATURES))
    scaled = {component(d) for d in of_kind(docs, "ScaledObject")}
    hpas = {component(d) for d in of_kind(docs, "HorizontalPodAutoscaler")}
    assert scaled == {"lead-scoring", "sales-assignment"}
    assert not scaled & hpas
    for doc in of_kind(docs, "Deployment"):
        assert "replicas" not in doc["spec"]  # the autoscaler owns the count


def test_strimzi_topics_cover_every_topic_and_its_dlq(render: Render) -> None:
    docs = render("--values", str(ALL_FEATURES))
    topics = {d["metadata"]["name"]: d["spec"] for d in of_kind(docs, "KafkaTopic")}
    assert set(topics) == set(TOPICS) | {dlq_topic(t) for t in TOPICS} | set(INTERNAL_TOPICS)
    for name, spec in topics.items():
        assert spec["partitions"] >= 1
        if name in INTERNAL_TOPICS:  # kept for as long as needed, compacted by key
            assert spec["config"] == INTERNAL_TOPICS[name], name
        else:
            assert int(spec["config"]["retention.ms"]) > 0, name


def test_kafka_users_get_exactly_the_topics_each_service_uses(render: Render) -> None:
    """ACLs against what each app really subscribes to and the contract's produces column."""
    builders = {
        "marketing-intake": intake_app,
        "lead-scoring": scoring_app,
        "sales-assignment": assignment_app,
        "feedback": feedback_app,
    }
    produces = {
        "marketing-intake": {"leads.captured", "leads.erased"},
        "lead-scoring": {"leads.scored", "leads.qualified"},
        "sales-assignment": {"leads.assigned"},
        "feedback": {"leads.outcomes"},
    }
    docs = render("--values", str(ALL_FEATURES))
    users = {component(d): d["spec"]["authorization"]["acls"] for d in of_kind(docs, "KafkaUser")}
    assert set(users) == set(SETTINGS)
    for service, acls in users.items():
        settings = SETTINGS[service](admin_token="x" * 40, database_url="sqlite+aiosqlite://")
        app = builders[service](settings)  # type: ignore[operator]
        consumed = {t for c in app.state.runtime.consumers for t in c.topics}
        topic_ops: dict[str, set[str]] = {}
        for acl in acls:
            if acl["resource"]["type"] == "topic":
                topic_ops.setdefault(acl["resource"]["name"], set()).update(acl["operations"])
        reads = {t for t, ops in topic_ops.items() if "Read" in ops}
        writes = {t for t, ops in topic_ops.items() if "Write" in ops}
        internal = set(INTERNAL_TOPICS)  # token revocations: every service reads and writes
        assert reads == consumed | internal, service
        assert writes == produces[service] | {dlq_topic(t) for t in consumed} | internal, service
        groups = [a for a in acls if a["resource"]["type"] == "group"]
        if consumed:
            expected_group = settings.consumer_group
            if service == "sales-assignment":  # all-features renames its consumer group
                expected_group = "sales-assignment-blue"
            lab = [f"{expected_group}.lab"] if service != "marketing-intake" else []
            assert [g["resource"]["name"] for g in groups] == [expected_group, *lab]


def test_the_copy_of_the_crd_schemas_is_the_shared_one(
    validate: ModuleType, rendered: list[dict[str, Any]]
) -> None:
    """deploy/crds serves a checkout with no shared/ beside it; it must not drift."""
    vendored = validate.VENDORED_CRD_DIR
    copied = {p.relative_to(vendored): p.read_bytes() for p in vendored.rglob("*.json")}
    for doc in rendered:  # every custom resource the chart renders has its schema copied
        path = validate.crd_schema_path(doc, vendored)
        assert path is None or path.relative_to(vendored) in copied, path
    shared = validate.SHARED_CRD_DIR
    if shared.is_dir():
        originals = {p.relative_to(shared): p.read_bytes() for p in shared.rglob("*.json")}
        assert {k: copied[k] for k in originals if k in copied} == originals
        # The others are written here, and say so in deploy/crds/README.md.
        readme = (vendored / "README.md").read_text()
        for extra in set(copied) - set(originals):
            assert str(extra) in readme, extra
