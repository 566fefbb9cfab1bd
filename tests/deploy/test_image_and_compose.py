"""The image defaults to prod with OCI labels; compose binds 127.0.0.1, commits no token
(generated on the first start) and keeps Kafka's data on a volume (issues 19 and 20)."""

from __future__ import annotations

import importlib.util
import os
import re
import stat
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

from support.chart import ROOT

DOCKERFILE = ROOT / "deploy" / "docker" / "Dockerfile"
COMPOSE = ROOT / "deploy" / "compose.yaml"


def runtime_stage() -> str:
    text = DOCKERFILE.read_text()
    return text[text.index("AS runtime") :]


def compose() -> dict[str, Any]:
    return dict(yaml.safe_load(COMPOSE.read_text()))


def entrypoint() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "entrypoint", ROOT / "deploy" / "docker" / "entrypoint.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_image_defaults_to_prod() -> None:
    env = re.search(r"^ENV (.*?)(?=^\S)", runtime_stage(), re.S | re.M)
    assert env is not None
    assert re.search(r"\bLEADFLOW_ENV=prod\b", env.group(1))


def test_the_image_carries_oci_source_revision_and_version_labels() -> None:
    stage = runtime_stage()
    for label, arg in (("source", "SOURCE"), ("revision", "REVISION"), ("version", "VERSION")):
        assert f'org.opencontainers.image.{label}="${{{arg}}}"' in stage, label
        assert re.search(rf"^ARG {arg}=", stage, re.M), arg


def test_compose_publishes_ports_on_loopback_only() -> None:
    published = [
        (name, port)
        for name, spec in compose()["services"].items()
        for port in spec.get("ports", [])
    ]
    assert len(published) == 6  # kafka, postgres, the four services
    for name, port in published:
        assert str(port).startswith("127.0.0.1:"), (name, port)


def test_compose_commits_no_token_and_generates_one_first() -> None:
    text = COMPOSE.read_text()
    assert "dev-compose-admin-token" not in text
    services = compose()["services"]
    assert services["secrets"]["command"][0] == "init-secrets"
    for name in ("marketing-intake", "lead-scoring", "sales-assignment", "feedback"):
        spec = services[name]
        token = spec["environment"]["LEADFLOW_ADMIN_TOKEN"]
        assert token == "${LEADFLOW_ADMIN_TOKEN:-}", name  # yours, or the generated one
        assert spec["depends_on"]["secrets"]["condition"] == "service_completed_successfully"
        assert spec["environment"]["SECRETS_FILE"].startswith("/app/secrets/")
        assert "secrets:/app/secrets:ro" in spec["volumes"]
    for name in ("marketing-intake", "lead-scoring", "sales-assignment", "feedback"):
        migrate = services[f"migrate-{name}"]  # it seals stored webhook secrets: same key
        assert migrate["environment"]["SECRETS_FILE"] == "/app/secrets/secrets.env"
        assert "secrets:/app/secrets:ro" in migrate["volumes"]


def test_compose_keeps_kafka_data_on_a_volume() -> None:
    spec = compose()
    kafka = spec["services"]["kafka"]
    log_dirs = kafka["environment"]["KAFKA_LOG_DIRS"]
    mounts = dict(m.split(":", 1) for m in kafka["volumes"])
    assert mounts.get("kafka-data") == log_dirs
    assert "kafka-data" in spec["volumes"]


def test_init_secrets_writes_once_and_the_environment_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    module = entrypoint()
    path = tmp_path / "secrets.env"
    module.init_secrets([str(path)])
    first = path.read_text()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    values = dict(line.split("=", 1) for line in first.splitlines())
    assert len(values["LEADFLOW_ADMIN_TOKEN"]) >= 32
    assert values["LEADFLOW_TOKEN_SECRET"] != values["LEADFLOW_ADMIN_TOKEN"]
    assert len(values["LEADFLOW_SECRETS_KEY"]) >= 32
    module.init_secrets([str(path)])
    assert path.read_text() == first  # a later start keeps them
    monkeypatch.setenv("SECRETS_FILE", str(path))
    monkeypatch.setenv("LEADFLOW_ADMIN_TOKEN", "mine-" + "x" * 40)
    monkeypatch.setenv("LEADFLOW_TOKEN_SECRET", "")
    module.load_secrets_file()
    assert os.environ["LEADFLOW_ADMIN_TOKEN"] == "mine-" + "x" * 40
    assert os.environ["LEADFLOW_TOKEN_SECRET"] == values["LEADFLOW_TOKEN_SECRET"]


_DIGEST = re.compile(r"@sha256:[0-9a-f]{64}$")


def test_every_base_image_is_pinned_by_digest() -> None:
    text = DOCKERFILE.read_text()
    args = dict(re.findall(r"^ARG (\w+)=(\S+)$", text, re.M))
    stages: set[str] = set()
    bases = []
    for ref, stage in re.findall(r"^FROM (?:--platform=\S+ )?(\S+)(?: AS (\w+))?$", text, re.M):
        named = re.fullmatch(r"\$\{(\w+)\}", ref)
        image = args.get(named.group(1), "") if named else ref
        if image not in stages:  # a stage built above is not pulled
            bases.append(image)
        if stage:
            stages.add(stage)
    assert bases, "no FROM found"
    assert [b for b in bases if not _DIGEST.search(b)] == []
    # Every image named in an ARG is a base too, pinned the same way (pin-bases.sh's lines).
    images = {k: v for k, v in args.items() if k.endswith("_IMAGE")}
    assert [v for v in images.values() if not _DIGEST.search(v)] == []


def test_the_build_installs_uv_only_with_pinned_hashes() -> None:
    requirements = (DOCKERFILE.parent / "uv-requirements.txt").read_text()
    entries = re.findall(
        r"^(\S+==\S+)((?:\s*\\\n\s*--hash=sha256:[0-9a-f]{64})+)", requirements, re.M
    )
    assert [name for name, _ in entries] == ["uv==0.13.9"]
    assert len(re.findall(r"--hash=sha256:", entries[0][1])) == 2  # x86_64 and aarch64
    assert "--require-hashes" in DOCKERFILE.read_text()
    ignore = (ROOT / ".dockerignore").read_text().splitlines()
    assert "!deploy/docker/uv-requirements.txt" in ignore  # in the build context
