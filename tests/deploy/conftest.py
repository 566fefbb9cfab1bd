"""The Helm chart rendered with the project's own helm (deploy/tools.sh builds it once)."""

from __future__ import annotations

from types import ModuleType
from typing import Any

import pytest

from support.chart import (
    ALL_FEATURES,
    EXISTING_SECRETS,
    Render,
    helm_path,
    helm_template,
    load_validate,
)


@pytest.fixture(scope="session")
def validate() -> ModuleType:
    """deploy/validate.py, the validator `make deploy-check` runs."""
    return load_validate()


@pytest.fixture(scope="session")
def helm() -> str:
    """Path of the helm binary (built by `go install` on first use, then cached)."""
    return helm_path()


@pytest.fixture(scope="session")
def render(helm: str, validate: ModuleType) -> Render:
    """Render the chart with extra helm arguments; fail the test on a render error."""

    def _render(*args: str) -> list[dict[str, Any]]:
        result = helm_template(helm, *args)
        assert result.returncode == 0, result.stderr
        docs: list[dict[str, Any]] = validate.load_documents(result.stdout)
        return docs

    return _render


VALUES = {
    "default": (),
    "all-features": ("--values", str(ALL_FEATURES)),
    "existing-secrets": ("--values", str(EXISTING_SECRETS)),
}


@pytest.fixture(scope="session", params=list(VALUES))
def rendered(request: pytest.FixtureRequest, render: Render) -> list[dict[str, Any]]:
    """The chart rendered with default (+ required) values, every feature on, and the
    minimal install on existing secrets."""
    return render(*VALUES[request.param])
