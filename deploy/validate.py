"""Validate rendered Kubernetes manifests offline.

Core kinds go through `kubernetes-validate` in strict mode (unknown fields are errors) for
every Kubernetes version the chart supports; custom resources (Strimzi, KEDA, Prometheus
Operator) through `jsonschema` against the CRD schemas in ../shared/schemas/crds, or, in a
checkout without that folder beside it, the copy of them in deploy/crds (kept equal by a
test). Schemas the shared folder lacks (PrometheusRule, TriggerAuthentication) are written
in deploy/crds itself (deploy/crds/README.md).

    python deploy/validate.py rendered.yaml [more.yaml ...]
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import yaml

ROOT = Path(__file__).resolve().parents[1]
SHARED_CRD_DIR = ROOT.parent / "shared" / "schemas" / "crds"
VENDORED_CRD_DIR = ROOT / "deploy" / "crds"
CRD_DIR = SHARED_CRD_DIR if SHARED_CRD_DIR.is_dir() else VENDORED_CRD_DIR
# The oldest Kubernetes the chart supports (Chart.yaml kubeVersion) and the newest known.
KUBERNETES_VERSIONS = ("1.29.0", "1.37.0")


def load_documents(text: str) -> list[dict[str, Any]]:
    """The non-empty YAML documents of a `helm template` output."""
    return [doc for doc in yaml.safe_load_all(text) if doc]


def crd_schema_path(doc: dict[str, Any], crd_dir: Path = CRD_DIR) -> Path | None:
    """Where the CRD schema of a custom resource lives, or None for a core kind: in
    `crd_dir`, else in deploy/crds (the schemas written here)."""
    group, _, version = str(doc.get("apiVersion", "")).rpartition("/")
    if "." not in group or group.endswith(".k8s.io"):
        return None
    relative = Path(group) / f"{str(doc['kind']).lower()}_{version}.json"
    if not (crd_dir / relative).is_file() and (VENDORED_CRD_DIR / relative).is_file():
        return VENDORED_CRD_DIR / relative
    return crd_dir / relative


def describe(doc: dict[str, Any]) -> str:
    return f"{doc.get('kind')}/{doc.get('metadata', {}).get('name')}"


def validate_documents(
    docs: Iterable[dict[str, Any]],
    *,
    versions: Iterable[str] = KUBERNETES_VERSIONS,
    crd_dir: Path = CRD_DIR,
) -> list[str]:
    """Every problem found, as readable lines; empty when all documents are valid."""
    errors: list[str] = []
    versions = tuple(versions)
    schemas: dict[Path, Any] = {}
    for doc in docs:
        schema_path = crd_schema_path(doc, crd_dir)
        if schema_path is None:
            for version in versions:
                try:
                    kubernetes_validate.validate(doc, version, strict=True)
                except kubernetes_validate.ValidationError as exc:
                    errors.append(f"{describe(doc)} (Kubernetes {version}): {exc.message}")
                except kubernetes_validate.SchemaNotFoundError as exc:
                    errors.append(f"{describe(doc)}: {exc.message}")
            continue
        if not schema_path.is_file():
            errors.append(f"{describe(doc)}: no CRD schema at {schema_path}")
            continue
        if schema_path not in schemas:
            schemas[schema_path] = json.loads(schema_path.read_text())
        validator = jsonschema.Draft7Validator(schemas[schema_path])
        for err in sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path)):
            where = "/".join(str(p) for p in err.absolute_path) or "(root)"
            errors.append(f"{describe(doc)} ({schema_path.name}) at {where}: {err.message}")
    return errors


def main(paths: list[str]) -> int:
    total = 0
    failed = False
    for path in paths:
        docs = load_documents(Path(path).read_text())
        total += len(docs)
        errors = validate_documents(docs)
        for line in errors:
            print(f"{path}: {line}", file=sys.stderr)
        failed = failed or bool(errors)
    versions = ", ".join(KUBERNETES_VERSIONS)
    print(
        f"validate: {total} manifests in {len(paths)} file(s), Kubernetes {versions} strict + CRDs"
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
