"""The chart's PgBouncer values: LEADFLOW_DATABASE_POOLER per chart or per service, and
LEADFLOW_RELAY_DATABASE_URL from a Secret key like the database URL, never in plain text."""

from __future__ import annotations

import base64
from typing import Any

from support.chart import EXISTING_SECRETS, Render, env_of, helm_template, named, pod_spec

SERVICES = ("marketing-intake", "lead-scoring", "sales-assignment", "feedback")
POOLED = ("marketing-intake", "sales-assignment", "feedback")  # lead-scoring opts out
PASSWORD = "relay-pw-never-in-env"


def relay_url(svc: str) -> str:
    db = svc.replace("-", "_")
    return f"postgresql+asyncpg://{db}:{PASSWORD}@postgresql:5432/{db}?ssl=verify-full"


def pooled_args() -> tuple[str, ...]:
    args = ["--set", "databasePooler=pgbouncer-transaction"]
    args += ["--set", "services.lead-scoring.databasePooler=none"]
    for svc in POOLED:
        args += ["--set-string", f"relayDatabaseUrls.{svc}={relay_url(svc)}"]
    return tuple(args)


def container_env(docs: list[dict[str, Any]], svc: str) -> dict[str, Any]:
    [container] = pod_spec(named(docs, "Deployment", f"leadflow-{svc}"))["containers"]
    return env_of(container)


def test_the_pooler_and_the_relay_url_come_from_values_and_the_secret(render: Render) -> None:
    docs = render(*pooled_args())
    secret = named(docs, "Secret", "leadflow")
    for svc in SERVICES:
        env = container_env(docs, svc)
        if svc not in POOLED:
            assert "LEADFLOW_DATABASE_POOLER" not in env
            assert "LEADFLOW_RELAY_DATABASE_URL" not in env
            continue
        assert env["LEADFLOW_DATABASE_POOLER"] == "pgbouncer-transaction"
        ref = env["LEADFLOW_RELAY_DATABASE_URL"]["secretKeyRef"]
        assert ref == {"name": "leadflow", "key": f"relay-database-url-{svc}"}
        assert base64.b64decode(secret["data"][ref["key"]]).decode() == relay_url(svc)
    # The password is in the Secret only, never in a pod's env or the migration Secret.
    for doc in docs:
        if doc["kind"] != "Secret":
            assert PASSWORD not in str(doc), doc["metadata"]["name"]
    assert not any(
        k.startswith("relay-") for k in named(docs, "Secret", "leadflow-migrations")["data"]
    )


def test_no_pooler_by_default(render: Render) -> None:
    docs = render()
    for svc in SERVICES:
        env = container_env(docs, svc)
        assert "LEADFLOW_DATABASE_POOLER" not in env
        assert "LEADFLOW_RELAY_DATABASE_URL" not in env


def test_a_service_behind_the_pooler_needs_its_relay_url(helm: str) -> None:
    result = helm_template(helm, "--set", "databasePooler=pgbouncer-transaction")
    assert result.returncode != 0
    for svc in SERVICES:
        assert f"relayDatabaseUrls.{svc}" in result.stderr
    no_password = helm_template(
        helm,
        *pooled_args(),
        "--set-string",
        "relayDatabaseUrls.feedback=postgresql+asyncpg://fb@pg/fb?ssl=require",
    )
    assert no_password.returncode != 0
    assert "relayDatabaseUrls.feedback has no password" in no_password.stderr


def test_with_an_existing_secret_the_relay_url_is_read_from_its_key(render: Render) -> None:
    docs = render(
        "--values", str(EXISTING_SECRETS), "--set", "databasePooler=pgbouncer-transaction"
    )
    for svc in SERVICES:
        ref = container_env(docs, svc)["LEADFLOW_RELAY_DATABASE_URL"]["secretKeyRef"]
        assert ref == {"name": "leadflow-credentials", "key": f"relay-database-url-{svc}"}


def test_the_pooler_settings_are_refused_under_settings(helm: str) -> None:
    for key in ("database_pooler", "relay_database_url"):
        result = helm_template(helm, "--set", f"settings.{key}=x")
        assert result.returncode != 0
        assert f"settings.{key} is set by the chart itself" in result.stderr
