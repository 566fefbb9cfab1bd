"""The chart on a secured Kafka (issue 20, defects 1-3): where Strimzi writes the KafkaUser
Secrets, TLS, SCRAM and mTLS logins for the services, KEDA and the topics Job, one owner per
topic. Each test failed on the chart before these fixes."""

from __future__ import annotations

import base64
import os
from typing import Any

import pytest

from feedback.settings import FeedbackSettings
from lead_scoring.settings import ScoringSettings
from leadflow.events import TOPICS, dlq_topic
from leadflow.kafka import INTERNAL_TOPICS
from leadflow.settings import Settings
from leadflow.topic_config import wanted_configs
from marketing_intake.settings import IntakeSettings
from sales_assignment.settings import AssignmentSettings
from support.chart import (
    ALL_FEATURES,
    EXISTING_SECRETS,
    Render,
    env_of,
    helm_template,
    named,
    of_kind,
    pod_spec,
)

SETTINGS: dict[str, type[Settings]] = {
    "marketing-intake": IntakeSettings,
    "lead-scoring": ScoringSettings,
    "sales-assignment": AssignmentSettings,
    "feedback": FeedbackSettings,
}
# Strimzi users in the release's namespace, SCRAM over TLS.
SAME_NAMESPACE = (
    *("--set", "kafka.tls.enabled=true", "--set", "kafka.sasl.username="),
    *("--set", "kafka.strimzi.users.enabled=true"),
)


def deployments(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The services' Deployments: one per service (a loop over none would check nothing)."""
    found = of_kind(docs, "Deployment")
    assert len(found) == len(SETTINGS), [d["metadata"]["name"] for d in found]
    return found


def kafka_users(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The services' KafkaUsers: one per service."""
    found = of_kind(docs, "KafkaUser")
    assert len(found) == len(SETTINGS), [d["metadata"]["name"] for d in found]
    return found


# ---------------------------------------------------------------- 1. KafkaUser Secrets


def test_kafka_user_secrets_in_another_namespace_are_refused_unless_copied(helm: str) -> None:
    result = helm_template(helm, *SAME_NAMESPACE, "--set", "kafka.strimzi.namespace=kafka")
    assert result.returncode != 0
    assert "secretsCopiedToReleaseNamespace" in result.stderr
    assert "kafka" in result.stderr


def test_same_namespace_kafka_users_are_read_where_strimzi_writes_them(render: Render) -> None:
    docs = render(*SAME_NAMESPACE)
    users = {d["metadata"]["name"]: d["metadata"]["namespace"] for d in of_kind(docs, "KafkaUser")}
    assert len(users) == len(SETTINGS)
    assert set(users.values()) == {"leadflow"}
    for doc in deployments(docs):
        (container,) = pod_spec(doc)["containers"]
        ref = env_of(container)["LEADFLOW_KAFKA_SASL_PASSWORD"]["secretKeyRef"]
        assert ref["name"] in users  # same name, same namespace as the pod


def test_copied_user_secrets_carry_the_template_for_the_copier(render: Render) -> None:
    docs = render("--values", str(ALL_FEATURES))
    for user in kafka_users(docs):
        annotations = user["spec"]["template"]["secret"]["metadata"]["annotations"]
        assert annotations["reflector.v1.k8s.emberstack.com/reflection-allowed"] == "true"


# ---------------------------------------------------------------- 2. TLS, mTLS, KEDA, topics Job


def test_sasl_ssl_mounts_the_ca_and_keda_logs_in_as_the_service(render: Render) -> None:
    docs = render("--values", str(ALL_FEATURES))
    for doc in deployments(docs):
        pod = pod_spec(doc)
        (container,) = pod["containers"]
        env = env_of(container)
        assert env["LEADFLOW_KAFKA_SECURITY_PROTOCOL"] == "SASL_SSL"
        cafile = env["LEADFLOW_KAFKA_SSL_CAFILE"]
        mount = next(m for m in container["volumeMounts"] if cafile.startswith(m["mountPath"]))
        volume = next(v for v in pod["volumes"] if v["name"] == mount["name"])
        assert volume["secret"]["secretName"] == "my-cluster-cluster-ca-cert"
    auths = {d["metadata"]["name"]: d["spec"] for d in of_kind(docs, "TriggerAuthentication")}
    scaled_objects = of_kind(docs, "ScaledObject")
    assert scaled_objects
    for scaled in scaled_objects:
        assert scaled["spec"]["triggers"], scaled["metadata"]["name"]
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
    for user in kafka_users(docs):
        assert user["spec"]["authentication"]["type"] == "tls"
    for doc in deployments(docs):
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
    users = {d["metadata"]["name"] for d in kafka_users(docs)}
    jobs = of_kind(docs, "Job")
    assert jobs
    for job in jobs:
        secrets = {v["secret"]["secretName"] for v in pod_spec(job)["volumes"] if "secret" in v}
        assert not secrets & users, job["metadata"]["name"]


MTLS_SECRET = (
    *("--set", "kafka.sasl.username=", "--set", "kafka.tls.clientSecret=kafka-client"),
    *("--set", "services.lead-scoring.keda.enabled=true"),
)


def test_mtls_without_strimzi_mounts_a_tls_secret_for_services_and_keda(render: Render) -> None:
    docs = render(*MTLS_SECRET)
    for doc in deployments(docs):
        pod = pod_spec(doc)
        (container,) = pod["containers"]
        assert env_of(container)["LEADFLOW_KAFKA_SECURITY_PROTOCOL"] == "SSL"
        volume = next(v for v in pod["volumes"] if v["name"] == "kafka-user")
        assert volume["secret"]["secretName"] == "kafka-client"
        assert {i["key"]: i["path"] for i in volume["secret"]["items"]} == {
            "tls.crt": "user.crt",
            "tls.key": "user.key",
        }
    (auth,) = of_kind(docs, "TriggerAuthentication")
    refs = {r["parameter"]: (r["name"], r["key"]) for r in auth["spec"]["secretTargetRef"]}
    assert refs == {"cert": ("kafka-client", "tls.crt"), "key": ("kafka-client", "tls.key")}


@pytest.mark.parametrize(
    "args",
    [
        MTLS_SECRET,
        SAME_NAMESPACE,
        (*SAME_NAMESPACE, "--set", "kafka.strimzi.users.authentication=tls"),
    ],
    ids=["mtls-secret", "strimzi-scram", "strimzi-mtls"],
)
def test_prod_services_start_with_each_kafka_login_the_chart_renders(
    render: Render, monkeypatch: pytest.MonkeyPatch, args: tuple[str, ...]
) -> None:
    docs = render(*args)
    secrets = {
        s["metadata"]["name"]: {k: base64.b64decode(v).decode() for k, v in s["data"].items()}
        for s in of_kind(docs, "Secret")
    }
    for doc in deployments(docs):
        (container,) = pod_spec(doc)["containers"]
        for key in [k for k in os.environ if k.startswith("LEADFLOW_")]:
            monkeypatch.delenv(key)
        for item in container["env"]:
            if "value" in item:
                monkeypatch.setenv(item["name"], item["value"])
            else:  # a KafkaUser's password is written by Strimzi, not the chart
                ref = item["valueFrom"]["secretKeyRef"]
                value = secrets.get(ref["name"], {}).get(
                    ref["key"], "3f9c1e7a5b2d8f4c6e0a9b1d7c3e5f28"
                )
                monkeypatch.setenv(item["name"], value)
        service = doc["metadata"]["labels"]["app.kubernetes.io/component"]
        settings = SETTINGS[service]()
        assert settings.env == "prod"
        assert settings.kafka_security_protocol in ("SSL", "SASL_SSL")


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
    dlqs = [t for t in of_kind(docs, "KafkaTopic") if t["metadata"]["name"].endswith(".dlq")]
    assert len(dlqs) == len(TOPICS)
    for topic in dlqs:
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
        assert set(topics) == {*TOPICS, *map(dlq_topic, TOPICS), *INTERNAL_TOPICS}
        for name, spec in topics.items():
            if name in INTERNAL_TOPICS:
                assert spec["partitions"] == 1
                assert spec["config"] == INTERNAL_TOPICS[name]
                continue
            wanted = wanted_configs(name, delay)
            assert {k: spec["config"][k] for k in wanted} == wanted, name
