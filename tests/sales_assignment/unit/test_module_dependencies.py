"""sales_assignment's modules import each other one way: no cycle, not even for types only."""

from __future__ import annotations

import ast
from pathlib import Path

import sales_assignment

PACKAGE = Path(sales_assignment.__file__).parent


def imports_within(package: Path) -> dict[str, set[str]]:
    """Each module of the package → the package's modules it imports (TYPE_CHECKING too)."""
    name = package.name
    modules = {p.stem for p in package.glob("*.py")}
    graph: dict[str, set[str]] = {}
    for module in sorted(modules):
        deps: set[str] = set()
        for node in ast.walk(ast.parse((package / f"{module}.py").read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                if node.module == name:  # `from sales_assignment import repo`
                    deps |= {a.name for a in node.names if a.name in modules}
                elif node.module.startswith(f"{name}."):
                    deps.add(node.module.split(".")[1])
            elif isinstance(node, ast.Import):
                deps |= {a.name.split(".")[1] for a in node.names if a.name.startswith(f"{name}.")}
        graph[module] = deps - {module}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One path per cycle found by a depth-first search, e.g. [a, b, a]."""
    found: list[list[str]] = []
    done: set[str] = set()

    def visit(node: str, path: list[str]) -> None:
        if node in path:
            found.append([*path[path.index(node) :], node])
            return
        if node in done:
            return
        for dep in sorted(graph.get(node, ())):
            visit(dep, [*path, node])
        done.add(node)

    for start in sorted(graph):
        visit(start, [])
    return found


def test_no_module_of_sales_assignment_imports_one_that_imports_it_back() -> None:
    graph = imports_within(PACKAGE)
    assert {"routing", "rules", "availability"} <= set(graph)
    assert cycles(graph) == []


def test_routing_depends_on_rules_availability_and_facts_not_the_other_way() -> None:
    graph = imports_within(PACKAGE)
    assert {"rules", "availability", "facts"} <= graph["routing"]
    for module in ("rules", "availability", "facts"):
        assert "routing" not in graph[module], module
    assert "facts" not in graph["availability"]  # a rep is parsed with availability's types


def test_the_search_finds_a_cycle_made_only_of_type_imports(tmp_path: Path) -> None:
    package = tmp_path / "sales_assignment"
    package.mkdir()
    (package / "routing.py").write_text("from sales_assignment.rules import RoutingRule\n")
    (package / "rules.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
        "    from sales_assignment.routing import LeadFacts\n"
    )
    assert cycles(imports_within(package)) == [["routing", "rules", "routing"]]
