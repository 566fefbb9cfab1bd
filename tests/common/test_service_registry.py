"""The one registry of the services (leadflow.services) agrees with everything that lists them."""

from __future__ import annotations

import importlib
import importlib.util
import re
import runpy
import subprocess
import sys
from typing import Any

import pytest
import yaml

from leadflow.cli import DEFAULT_URLS
from leadflow.services import SERVICES, Service
from leadflow.settings import Settings
from support.infra import ROOT
from support.stack import SERVICES as STACK_SERVICES


def settings_class(service: Service) -> type[Settings]:
    module = importlib.import_module(f"{service.package}.settings")
    found = [
        v
        for v in vars(module).values()
        if isinstance(v, type) and issubclass(v, Settings) and v.service_name == service.name
    ]
    assert len(found) == 1, found
    return found[0]


def test_the_registry_is_the_contracts_table_of_processes_and_ports() -> None:
    text = (ROOT / "docs" / "CONTRACT.md").read_text()
    rows = re.findall(r"^\| ([a-z-]+) +\| services/([a-z-]+) +\| (\d+) +\|", text, re.MULTILINE)
    assert [(s.name, s.name, str(s.port)) for s in SERVICES] == rows


@pytest.mark.parametrize("service", SERVICES, ids=lambda s: s.name)
def test_each_service_runs_as_its_package_and_listens_on_its_registered_port(
    service: Service,
) -> None:
    assert (ROOT / "services" / service.name / "src" / service.package / "__main__.py").is_file()
    assert importlib.util.find_spec(f"{service.package}.__main__") is not None
    assert settings_class(service).default_port == service.port


def test_run_script_reads_the_registry_in_start_order() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "leadflow.services"], capture_output=True, text=True, check=True
    ).stdout
    assert out.splitlines() == [f"{s.name} {s.package} {s.port}" for s in SERVICES]
    assert "-m leadflow.services" in (ROOT / "scripts" / "run.sh").read_text()


def test_the_test_stack_starts_the_registered_services() -> None:
    assert {s.name: s.package for s in SERVICES} == STACK_SERVICES


def test_compose_and_the_chart_use_the_registered_ports() -> None:
    compose: dict[str, Any] = yaml.safe_load((ROOT / "deploy" / "compose.yaml").read_text())
    values: dict[str, Any] = yaml.safe_load(
        (ROOT / "deploy" / "helm" / "leadflow" / "values.yaml").read_text()
    )
    for s in SERVICES:
        spec = compose["services"][s.name]
        assert spec["environment"]["LEADFLOW_HTTP_PORT"] == str(s.port)
        assert spec["build"]["args"]["SERVICE"] == s.name
        assert values["services"][s.name]["port"] == s.port
    assert set(values["services"]) == {s.name for s in SERVICES}


def test_the_image_exposes_and_installs_every_registered_service() -> None:
    dockerfile = (ROOT / "deploy" / "docker" / "Dockerfile").read_text()
    assert f"EXPOSE {' '.join(str(s.port) for s in SERVICES)}\n" in dockerfile
    for s in SERVICES:
        pyproject = f"services/{s.name}/pyproject.toml"
        assert f"COPY {pyproject} {pyproject}" in dockerfile


def test_the_image_entrypoint_serves_the_registered_package(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    service = runpy.run_path(str(ROOT / "deploy" / "docker" / "entrypoint.py"))["_service"]
    for s in SERVICES:
        monkeypatch.setenv("SERVICE", s.name)
        assert service() == s
    monkeypatch.setenv("SERVICE", "lead_scoring")
    with pytest.raises(SystemExit, match="SERVICE must be one of marketing-intake, lead-scoring"):
        service()


def test_the_cli_defaults_to_the_registered_urls() -> None:
    assert {s.name: f"http://127.0.0.1:{s.port}" for s in SERVICES} == DEFAULT_URLS
    assert [s.url_env for s in SERVICES] == [
        "LEADFLOW_INTAKE_URL",
        "LEADFLOW_SCORING_URL",
        "LEADFLOW_ASSIGNMENT_URL",
        "LEADFLOW_FEEDBACK_URL",
    ]


def test_a_settings_class_outside_the_registry_keeps_the_base_port() -> None:
    class Other(Settings):
        service_name = "not-registered"

    assert Other.default_port == 8000
