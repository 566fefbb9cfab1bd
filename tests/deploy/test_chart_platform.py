"""The chart in a real cluster (issue 20): Strimzi auth, determinism, required values, network
policies, shutdown and hook timing. Each test failed on the chart before these fixes."""

from __future__ import annotations

import inspect
import re
from typing import Any

from leadflow import runner, service
from leadflow.events import TOPICS, dlq_topic
from leadflow.kafka import INTERNAL_TOPICS
from leadflow.topic_config import wanted_configs
from support.chart import ALL_FEATURES, CHART, EXISTING_SECRETS, Render, helm_template


def of_kind(docs: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [d for d in docs if d["kind"] == kind]


def named(docs: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    (doc,) = [d for d in of_kind(docs, kind) if d["metadata"]["name"] == name]
    return doc


def env_of(container: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container.get("env", [])}


def pod_spec(doc: dict[str, Any]) -> dict[str, Any]:
    return dict(doc["spec"]["template"]["spec"])


SAME_NAMESPACE = (
    *("--set", "kafka.tls.enabled=true", "--set", "kafka.sasl.username="),
    *("--set", "kafka.strimzi.users.enabled=true"),
)


# ---------------------------------------------------------------- 1. KafkaUser Secrets


def test_kafka_user_secrets_in_another_namespace_are_refused_unless_copied(helm: str) -> None:
    result = helm_template(helm, *SAME_NAMESPACE, "--set", "kafka.strimzi.namespace=kafka")
    assert result.returncode != 0
    assert "secretsCopiedToReleaseNamespace" in result.stderr
    assert "kafka" in result.stderr


def test_same_namespace_kafka_users_are_read_where_strimzi_writes_them(render: Render) -> None:
    docs = render(*SAME_NAMESPACE)
    users = {d["metadata"]["name"]: d["metadata"]["namespace"] for d in of_kind(docs, "KafkaUser")}
    assert set(users.values()) == {"leadflow"}
    for doc in of_kind(docs, "Deployment"):
        (container,) = pod_spec(doc)["containers"]
        ref = env_of(container)["LEADFLOW_KAFKA_SASL_PASSWORD"]["secretKeyRef"]
        assert ref["name"] in users  # same name, same namespace as the pod


def test_copied_user_secrets_carry_the_template_for_the_copier(render: Render) -> None:
    docs = render("--values", str(ALL_FEATURES))
    for user in of_kind(docs, "KafkaUser"):
        annotations = user["spec"]["template"]["secret"]["metadata"]["annotations"]
        assert annotations["reflector.v1.k8s.emberstack.com/reflection-allowed"] == "true"


# ---------------------------------------------------------------- 2. TLS, mTLS, KEDA, topics Job


def test_sasl_ssl_mounts_the_ca_and_keda_logs_in_as_the_service(render: Render) -> None:
    docs = render("--values", str(ALL_FEATURES))
    for doc in of_kind(docs, "Deployment"):
        pod = pod_spec(doc)
        (container,) = pod["containers"]
        env = env_of(container)
        assert env["LEADFLOW_KAFKA_SECURITY_PROTOCOL"] == "SASL_SSL"
        cafile = env["LEADFLOW_KAFKA_SSL_CAFILE"]
        mount = next(m for m in container["volumeMounts"] if cafile.startswith(m["mountPath"]))
        volume = next(v for v in pod["volumes"] if v["name"] == mount["name"])
        assert volume["secret"]["secretName"] == "my-cluster-cluster-ca-cert"
    auths = {d["metadata"]["name"]: d["spec"] for d in of_kind(docs, "TriggerAuthentication")}
    for scaled in of_kind(docs, "ScaledObject"):
        for trigger in scaled["spec"]["triggers"]:
            assert trigger["metadata"]["sasl"] == "scram_sha512"
            assert trigger["metadata"]["tls"] == "enable"
            auth = auths[trigger["authenticationRef"]["name"]]
            params = {r["parameter"]: r for r in auth["secretTargetRef"]}
            assert params["password"]["name"] == scaled["metadata"]["name"]  # the KafkaUser
            assert params["ca"]["name"] == "my-cluster-cluster-ca-cert"
            assert auth["env"][0]["name"] == "LEADFLOW_KAFKA_SASL_USERNAME"


def test_mtls_users_mount_their_certificate(render: Render) -> None:
    docs = render(
        *SAME_NAMESPACE,
        *("--set", "kafka.strimzi.users.authentication=tls"),
        *("--set", "kafka.tls.caSecret=cluster-ca"),
    )
    for user in of_kind(docs, "KafkaUser"):
        assert user["spec"]["authentication"]["type"] == "tls"
    for doc in of_kind(docs, "Deployment"):
        pod = pod_spec(doc)
        (container,) = pod["containers"]
        env = env_of(container)
        assert env["LEADFLOW_KAFKA_SECURITY_PROTOCOL"] == "SSL"
        assert "LEADFLOW_KAFKA_SASL_PASSWORD" not in env
        assert env["LEADFLOW_KAFKA_SSL_CERTFILE"].endswith("/user.crt")
        user_volume = next(v for v in pod["volumes"] if v["name"] == "kafka-user")
        assert user_volume["secret"]["secretName"] == doc["metadata"]["name"]


def test_migration_jobs_wait_for_no_kafka_user_secret(render: Render) -> None:
    """At pre-install the KafkaUsers do not exist yet: a hook pod mounting one's Secret
    would never start, and the install would hang on it."""
    docs = render(
        *SAME_NAMESPACE,
        *("--set", "kafka.strimzi.users.authentication=tls"),
        *("--set", "kafka.tls.caSecret=cluster-ca"),
    )
    users = {d["metadata"]["name"] for d in of_kind(docs, "KafkaUser")}
    for job in of_kind(docs, "Job"):
        secrets = {v["secret"]["secretName"] for v in pod_spec(job)["volumes"] if "secret" in v}
        assert not secrets & users, job["metadata"]["name"]


def test_the_topics_job_logs_in_and_its_user_may_create_the_topics(render: Render) -> None:
    docs = render(*SAME_NAMESPACE, "--set", "kafka.topicsJob.enabled=true")
    job = named(docs, "Job", "leadflow-topics")
    (container,) = pod_spec(job)["containers"]
    env = env_of(container)
    assert env["LEADFLOW_KAFKA_SECURITY_PROTOCOL"] == "SASL_SSL"
    assert env["LEADFLOW_KAFKA_SASL_PASSWORD"]["secretKeyRef"]["name"] == "leadflow-topics"
    user = named(docs, "KafkaUser", "leadflow-topics")
    assert user["metadata"]["annotations"]["helm.sh/hook"] == "pre-install,pre-upgrade"
    creatable = {
        acl["resource"]["name"]
        for acl in user["spec"]["authorization"]["acls"]
        if "Create" in acl["operations"]
    }
    assert set(TOPICS) | {dlq_topic(t) for t in TOPICS} <= creatable
    # Without Strimzi users the Job logs in with kafka.sasl, as the services do.
    docs = render("--values", str(EXISTING_SECRETS))
    (container,) = pod_spec(named(docs, "Job", "leadflow-topics"))["containers"]
    assert env_of(container)["LEADFLOW_KAFKA_SASL_PASSWORD"]["secretKeyRef"]["name"] == (
        "leadflow-kafka"
    )


# ---------------------------------------------------------------- 3. one owner per topic


def test_dlq_topics_have_the_partitions_the_topics_job_gives_them(
    helm: str, render: Render
) -> None:
    job = named(render("--set", "kafka.topicsJob.enabled=true"), "Job", "leadflow-topics")
    (container,) = pod_spec(job)["containers"]
    partitions = int(next(a for a in container["args"] if a.startswith("--partitions="))[13:])
    docs = render("--set", "kafka.strimzi.topics.enabled=true")
    for topic in of_kind(docs, "KafkaTopic"):
        if topic["metadata"]["name"].endswith(".dlq"):
            assert topic["spec"]["partitions"] == partitions, topic["metadata"]["name"]
    both = helm_template(
        helm, "--set", "kafka.strimzi.topics.enabled=true", "--set", "kafka.topicsJob.enabled=true"
    )
    assert both.returncode != 0
    assert "enable one" in both.stderr


def test_kafka_topics_carry_the_erasure_configs_the_topics_tool_sets(render: Render) -> None:
    """The Topic Operator reverts what another tool set: the KafkaTopics must say it too."""
    for delay in (60, 120):
        docs = render(
            *("--set", "kafka.strimzi.topics.enabled=true"),
            *("--set", f"settings.erasure_delay_seconds={delay}"),
        )
        topics = {d["metadata"]["name"]: d["spec"] for d in of_kind(docs, "KafkaTopic")}
        for name, spec in topics.items():
            if name in INTERNAL_TOPICS:
                assert spec["partitions"] == 1
                assert spec["config"] == INTERNAL_TOPICS[name]
                continue
            wanted = wanted_configs(name, delay)
            assert {k: spec["config"][k] for k in wanted} == wanted, name


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

    def selected(labels: dict[str, str]) -> bool:
        for selector in policies:
            match = selector.get("matchLabels", {}).items() <= labels.items()
            for expr in selector.get("matchExpressions", []):
                match = match and labels.get(expr["key"]) in expr["values"]
            if match:
                return True
        return False

    for doc in of_kind(docs, "Deployment") + of_kind(docs, "Job"):
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
        for doc in of_kind(render(*args), "Deployment"):
            pod = pod_spec(doc)
            (container,) = pod["containers"]
            pre_stop = int(container["lifecycle"]["preStop"]["exec"]["command"][-1])
            assert pod["terminationGracePeriodSeconds"] >= pre_stop + worst_case_drain()


# ---------------------------------------------------------------- 8. hooks within helm's timeout


def test_hook_jobs_end_before_helm_stops_waiting(helm: str, render: Render) -> None:
    docs = render("--set", "kafka.topicsJob.enabled=true")
    for job in of_kind(docs, "Job"):
        assert job["spec"]["activeDeadlineSeconds"] < 300, job["metadata"]["name"]
    result = helm_template(helm, "--set", "migrations.activeDeadlineSeconds=600")
    assert result.returncode != 0
    assert "helm.timeoutSeconds" in result.stderr
