"""The chart's README, generated from values.yaml: every value, its default and its comment.

python deploy/helm/readme.py            rewrite deploy/helm/leadflow/README.md
python deploy/helm/readme.py --check    exit 1 when the README is not up to date
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

import yaml

CHART = Path(__file__).resolve().parent / "leadflow"
KEY = re.compile(r"^(?P<indent> *)(?P<key>[A-Za-z0-9_.\-/]+):(?P<rest>.*)$")
HEADER = """# leadflow Helm chart

Generated from `values.yaml` by `python deploy/helm/readme.py` (tests/deploy checks it is up
to date): do not edit by hand. How to install, Strimzi, secrets and scaling:
[deploy/README.md](../../README.md). `values.schema.json` refuses keys not listed here.

Required (the render fails naming each one that is missing): `kafka.bootstrap`,
`secrets.adminToken`, `secrets.tokenSecret`, `secrets.secretsKey` and
`databaseUrls.<service>` — all but the first may come from `secrets.existingSecret`.

| value | default | description |
|---|---|---|
"""


def _comments(lines: list[str]) -> dict[tuple[str, ...], str]:
    """The comment above each key (and after it on its line), by key path."""
    found: dict[tuple[str, ...], str] = {}
    stack: list[tuple[int, str]] = []
    pending: list[str] = []
    for line in lines:
        stripped = line.strip()
        if stripped.startswith("#"):
            pending.append(stripped.lstrip("#").strip())
            continue
        match = KEY.match(line)
        if not match or stripped.startswith("-"):
            pending = [] if not stripped else pending
            continue
        indent = len(match["indent"])
        while stack and stack[-1][0] >= indent:
            stack.pop()
        stack.append((indent, match["key"]))
        inline = match["rest"].partition(" #")[2].strip()
        text = " ".join([*pending, inline]).strip()
        found[tuple(k for _, k in stack)] = text
        pending = []
    return found


def _rows(values: Any, path: tuple[str, ...], comments: dict[tuple[str, ...], str]) -> list[str]:
    rows: list[str] = []
    if isinstance(values, dict) and values and path[-1:] != ("settings",):
        if path and comments.get(path):
            rows.append(_row(path, "", comments[path]))
        for key, value in values.items():
            rows += _rows(value, (*path, str(key)), comments)
        return rows
    return [_row(path, json.dumps(values, ensure_ascii=False), comments.get(path, ""))]


def _row(path: tuple[str, ...], default: str, text: str) -> str:
    cell = default if len(default) <= 60 else default[:57] + "…"
    cell = f"`{cell}`" if cell else ""
    pipe = "\\|"
    return f"| `{'.'.join(path)}` | {cell.replace('|', pipe)} | {text.replace('|', pipe)} |"


def render() -> str:
    """The README's text for the current values.yaml."""
    text = (CHART / "values.yaml").read_text()
    comments = _comments(text.splitlines())
    return HEADER + "\n".join(_rows(yaml.safe_load(text), (), comments)) + "\n"


def main(argv: list[str]) -> int:
    target = CHART / "README.md"
    if "--check" in argv:
        if not target.is_file() or target.read_text() != render():
            print("readme: deploy/helm/leadflow/README.md is stale: python deploy/helm/readme.py")
            return 1
        return 0
    target.write_text(render())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
