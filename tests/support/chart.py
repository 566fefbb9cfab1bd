"""The Helm chart and its tools: paths, the project's helm binary, `helm template`."""

from __future__ import annotations

import importlib.util
import os
import subprocess
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

from support.infra import file_lock

ROOT = Path(__file__).resolve().parents[2]
# LEADFLOW_TEST_CHART: run the chart tests against another copy (say, the previous release's,
# to see a new test fail there).
CHART = Path(os.environ.get("LEADFLOW_TEST_CHART") or ROOT / "deploy" / "helm" / "leadflow")
ALL_FEATURES = CHART / "ci" / "all-features-values.yaml"
# The defaults plus only the values that have none (the chart refuses to render without them).
REQUIRED = CHART / "ci" / "required-values.yaml"
# Every secret from Secrets the operator manages, Kafka over TLS with SASL, the topics Job.
EXISTING_SECRETS = CHART / "ci" / "existing-secrets-values.yaml"
# The oldest Kubernetes the chart supports (Chart.yaml kubeVersion).
KUBE_VERSION = "1.29.0"
KUBE = ("--kube-version", KUBE_VERSION)

Render = Callable[..., list[dict[str, Any]]]


def load_validate() -> ModuleType:
    """deploy/validate.py, the validator `make deploy-check` runs."""
    spec = importlib.util.spec_from_file_location(
        "deploy_validate", ROOT / "deploy" / "validate.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def helm_path() -> str:
    """The helm binary of deploy/tools.sh (built by `go install` on first use, then cached;
    test workers side by side wait for the one that builds it)."""
    with file_lock("helm"):
        out = subprocess.run(
            [str(ROOT / "deploy" / "tools.sh"), "helm"],
            check=True,
            capture_output=True,
            text=True,
            timeout=1200,
        )
    return out.stdout.strip().splitlines()[-1]


def helm_template(helm: str, *args: str) -> subprocess.CompletedProcess[str]:
    """`helm template` with args; without a `--values` file, the required values come first
    (the values files in ci/ are complete on their own)."""
    base = () if "--values" in args else ("--values", str(REQUIRED))
    return subprocess.run(
        [helm, "template", "leadflow", str(CHART), "--namespace", "leadflow", *KUBE, *base, *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def of_kind(docs: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    """The rendered documents of one kind."""
    return [d for d in docs if d["kind"] == kind]


def named(docs: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    """The one document of this kind and name."""
    (doc,) = [d for d in of_kind(docs, kind) if d["metadata"]["name"] == name]
    return doc


def env_of(container: dict[str, Any]) -> dict[str, Any]:
    """A container's env: name -> value, or its valueFrom."""
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container.get("env", [])}


def pod_spec(doc: dict[str, Any]) -> dict[str, Any]:
    """The pod spec of a Deployment or Job."""
    return dict(doc["spec"]["template"]["spec"])
