"""A broker and a PostgreSQL server of a test's own, so it may stop and restart them."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from support.infra import KAFKA_SH, ROOT, free_port

POSTGRES_SH = ROOT / "scripts" / "postgres.sh"


class PrivateKafka:
    """A single-node KRaft broker on free ports with its own log directory."""

    def __init__(self) -> None:
        self.home = Path(tempfile.mkdtemp(prefix="leadflow-kafka-"))
        self.port = free_port()
        self.env = {
            **os.environ,
            "LEADFLOW_KAFKA_HOME": str(self.home),
            "KAFKA_PORT": str(self.port),
            "KAFKA_CONTROLLER_PORT": str(free_port()),
        }

    @property
    def bootstrap(self) -> str:
        return f"localhost:{self.port}"

    def _run(self, verb: str) -> None:
        subprocess.run([str(KAFKA_SH), verb], check=True, env=self.env)

    def start(self) -> PrivateKafka:
        self._run("start")
        return self

    def stop(self) -> None:
        self._run("stop")

    def restart(self) -> None:
        self.stop()
        self.start()

    def discard(self) -> None:
        """Stop it for good and remove its log directory."""
        self.stop()
        shutil.rmtree(self.home, ignore_errors=True)


class PrivatePostgres:
    """A PostgreSQL cluster in a temporary folder on a free port (scripts/postgres.sh)."""

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="leadflow-pg-"))
        self.dir.chmod(0o755)  # the server runs as the postgres user
        self.env = {**os.environ, "LEADFLOW_PG_DIR": str(self.dir), "PGPORT": str(free_port())}
        self.url = ""

    def start(self) -> PrivatePostgres:
        out = subprocess.run(
            [str(POSTGRES_SH), "start"], check=True, env=self.env, capture_output=True, text=True
        )
        self.url = out.stdout.strip().splitlines()[-1]
        return self

    def stop(self) -> None:
        subprocess.run([str(POSTGRES_SH), "stop"], check=True, env=self.env)

    def discard(self) -> None:
        """Stop it for good and remove its cluster."""
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)
