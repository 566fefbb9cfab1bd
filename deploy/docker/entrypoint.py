"""Container entry point of a leadflow service image (`SERVICE` names the service).

serve         run the service (`python -m <package>`), replacing this process
migrate       apply the service's Alembic migrations to LEADFLOW_DATABASE_URL, then exit
topics ARGS   create the contract's topics and DLQs (`python -m leadflow.topics ARGS`)
healthcheck   exit 0 when GET /healthz answers 200 (Docker HEALTHCHECK)
"""

from __future__ import annotations

import importlib
import os
import sys
import urllib.request

DEFAULT_PORTS = {
    "marketing-intake": 8001,
    "lead-scoring": 8002,
    "sales-assignment": 8003,
    "feedback": 8004,
}


def _service() -> str:
    service = os.environ.get("SERVICE", "")
    if service not in DEFAULT_PORTS:
        sys.exit(f"entrypoint: SERVICE must be one of {', '.join(DEFAULT_PORTS)}, not {service!r}")
    return service


def _package(service: str) -> str:
    return service.replace("-", "_")


def serve(args: list[str]) -> None:
    package = _package(_service())
    # exec: the service is PID 1 and receives SIGTERM itself (graceful drain).
    os.execv(sys.executable, [sys.executable, "-m", package, *args])  # noqa: S606


def migrate(_: list[str]) -> None:
    # Imported here: alembic and SQLAlchemy would slow every `healthcheck` down.
    from leadflow.migrations import upgrade  # noqa: PLC0415

    app = importlib.import_module(f"{_package(_service())}.app")
    url = os.environ.get("LEADFLOW_DATABASE_URL")
    if not url:
        sys.exit("entrypoint: LEADFLOW_DATABASE_URL is required to migrate")
    upgrade(app.MIGRATIONS, url)
    print(f"migrations: {_service()} at head", flush=True)


def topics(args: list[str]) -> None:
    os.execv(sys.executable, [sys.executable, "-m", "leadflow.topics", *args])  # noqa: S606


def healthcheck(_: list[str]) -> None:
    port = os.environ.get("LEADFLOW_HTTP_PORT") or DEFAULT_PORTS[_service()]
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=4) as resp:
            sys.exit(0 if resp.status == 200 else 1)
    except OSError as exc:
        sys.exit(f"unhealthy: {exc}")


COMMANDS = {"serve": serve, "migrate": migrate, "topics": topics, "healthcheck": healthcheck}


def main(argv: list[str]) -> None:
    command, *rest = argv or ["serve"]
    if command not in COMMANDS:
        sys.exit(f"entrypoint: unknown command {command!r}; one of {', '.join(COMMANDS)}")
    COMMANDS[command](rest)


if __name__ == "__main__":
    main(sys.argv[1:])
