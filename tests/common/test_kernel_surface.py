"""Services import only the kernel's public modules, and leadflow/__init__.py names them all."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

import leadflow
from leadflow.services import SERVICES, Service
from support.infra import ROOT

KERNEL = ROOT / "services" / "common" / "src" / "leadflow"


def kernel_imports(path: Path) -> Iterator[tuple[int, str]]:
    """(line, kernel module) for each `leadflow.<module>` the file imports, anywhere in it."""
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            parts = node.module.split(".")
            if parts[0] != "leadflow":
                continue
            if len(parts) > 1:
                yield node.lineno, parts[1]
            else:  # `from leadflow import events`
                yield from ((node.lineno, a.name) for a in node.names)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == "leadflow":
                    yield node.lineno, parts[1] if len(parts) > 1 else ""


@pytest.mark.parametrize("service", SERVICES, ids=lambda s: s.name)
def test_a_service_imports_only_the_kernels_public_modules(service: Service) -> None:
    src = ROOT / "services" / service.name / "src"
    public = set(leadflow.__all__)
    outside = [
        f"{path.relative_to(ROOT)}:{line} leadflow.{module}"
        for path in sorted(src.rglob("*.py"))
        for line, module in kernel_imports(path)
        if module not in public
    ]
    assert not outside, "internal kernel modules (see leadflow/__init__.py):\n" + "\n".join(outside)


def test_the_kernel_docstring_names_every_module_public_or_internal() -> None:
    doc = leadflow.__doc__ or ""
    modules = {p.stem for p in KERNEL.glob("*.py") if p.stem != "__init__"}
    modules |= {p.name for p in KERNEL.iterdir() if (p / "__init__.py").is_file()}
    unnamed = sorted(m for m in modules if f" {m} " not in doc and f" {m}," not in doc)
    assert not unnamed, f"say in leadflow/__init__.py whether these are public: {unnamed}"
    assert set(leadflow.__all__) <= modules  # every public name is a real module
    for name in leadflow.__all__:
        assert f"\n    {name} " in doc, name  # and has its line among the public ones


def test_the_scan_sees_every_form_of_import(tmp_path: Path) -> None:
    code = tmp_path / "m.py"
    code.write_text(
        "import leadflow.kafka\nfrom leadflow import otel\nfrom leadflow.db import NAMING\n"
        "def f():\n    from leadflow.topics import main\n"
    )
    assert [m for _, m in kernel_imports(code)] == ["kafka", "otel", "db", "topics"]


def kernel_loops() -> list[set[str]]:
    """The kernel's import loops (each a set of modules that import one another, imports
    for type checking included), found by Tarjan's strongly connected components."""
    graph = {
        p.stem: {m for _, m in kernel_imports(p) if (KERNEL / f"{m}.py").is_file()}
        for p in KERNEL.glob("*.py")
    }
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    loops: list[set[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            found = {stack.pop()}
            while v not in found:
                found.add(stack.pop())
            if len(found) > 1:
                loops.append(found)

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return loops


def test_the_runtime_is_the_top_of_the_kernel_nothing_it_builds_on_imports_it_back() -> None:
    through_runtime = [loop for loop in kernel_loops() if "service" in loop]
    assert not through_runtime, f"modules importing one another through service: {through_runtime}"
