"""A fresh machine's set-up: `make` installs uv where pip refuses system installs (PEP 668),
and scripts/postgres.sh installs PostgreSQL through sudo when not root. The system commands
they call (python3, id, sudo, apt-get, ls) are stand-ins on PATH that record their calls."""

from __future__ import annotations

import subprocess
from pathlib import Path

from support.infra import ROOT


def stub(bin_dir: Path, name: str, body: str) -> None:
    path = bin_dir / name
    path.write_text(f'#!/bin/bash\necho "{name} $*" >> "$CALLS"\n{body}\n')
    path.chmod(0o755)


def run(args: list[str], bin_dir: Path, calls: Path) -> subprocess.CompletedProcess[str]:
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "CALLS": str(calls), "HOME": str(bin_dir)}
    return subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, check=False)


def test_make_installs_uv_into_the_users_site_where_pip_refuses_system_installs(
    tmp_path: Path,
) -> None:
    calls = tmp_path / "calls"
    # No uv anywhere; pip refuses a system install as Debian's does (externally managed);
    # anything else (the uv calls that follow) succeeds once uv is "installed".
    stub(
        tmp_path,
        "python3",
        """case "$*" in
  "-m uv --version") [ -f "$HOME/uv-installed" ] ;;
  "-m pip install --quiet uv") echo "error: externally-managed-environment" >&2; exit 1 ;;
  "-m pip install --quiet --user --break-system-packages uv") touch "$HOME/uv-installed" ;;
  -m\\ uv\\ *) [ -f "$HOME/uv-installed" ] ;;
  *) exit 0 ;;
esac""",
    )
    done = run(["make", "--no-print-directory", "setup"], tmp_path, calls)
    assert done.returncode == 0, done.stderr
    said = calls.read_text().splitlines()
    assert "python3 -m pip install --quiet --user --break-system-packages uv" in said
    assert "python3 -m uv sync --frozen --quiet --compile-bytecode" in said  # then used


def test_postgres_sh_installs_through_sudo_when_not_root(tmp_path: Path) -> None:
    calls = tmp_path / "calls"
    stub(tmp_path, "id", 'if [ "$1" = -u ]; then echo 1000; else exit 1; fi')
    stub(tmp_path, "ls", "exit 0")  # no PostgreSQL installed (no /usr/lib/postgresql/*/bin)
    stub(tmp_path, "sudo", "exit 0")
    stub(tmp_path, "apt-get", "exit 0")
    done = run([str(ROOT / "scripts" / "postgres.sh"), "start"], tmp_path, calls)
    said = calls.read_text().splitlines()
    assert "sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql" in said
    assert not [c for c in said if c.startswith("apt-get")]  # never without sudo
    assert done.returncode != 0  # the stand-ins installed nothing, and it says so
