"""Container entry point of a leadflow service image (`SERVICE` names the service).

serve         run the service (`python -m <package>`), replacing this process
migrate       apply the service's Alembic migrations to LEADFLOW_DATABASE_URL, then exit
topics ARGS   create the contract's topics and DLQs (`python -m leadflow.topics ARGS`)
healthcheck   exit 0 when GET /healthz answers 200 (Docker HEALTHCHECK)
init-secrets FILE   write random secrets to FILE unless it exists (compose's first start)

With SECRETS_FILE set, every command first reads the `LEADFLOW_…=value` lines of that file
into the environment, except variables already set to a non-empty value (yours win).
"""

from __future__ import annotations

import importlib
import os
import secrets
import sys
import urllib.request
from pathlib import Path

from leadflow.services import BY_NAME, Service

# What init-secrets generates, when the services read it (the settings decide).
GENERATED = {
    "admin_token": lambda: secrets.token_urlsafe(32),
    "token_secret": lambda: secrets.token_urlsafe(32),
    "secrets_key": lambda: secrets.token_urlsafe(32),
}


def load_secrets_file() -> None:
    """Export SECRETS_FILE's LEADFLOW_* lines that the environment does not set already."""
    path = os.environ.get("SECRETS_FILE")
    if not path or not Path(path).is_file():
        return
    for line in Path(path).read_text().splitlines():
        name, sep, value = line.partition("=")
        if sep and name.startswith("LEADFLOW_") and not os.environ.get(name):
            os.environ[name] = value


def init_secrets(args: list[str]) -> None:
    """Generate the secrets the services read, once; later starts keep the file as it is."""
    from leadflow.settings import Settings  # noqa: PLC0415

    path = Path(args[0] if args else os.environ.get("SECRETS_FILE", "/app/secrets/secrets.env"))
    if path.exists():
        print(f"init-secrets: {path} exists; kept", flush=True)
        return
    lines = [
        f"LEADFLOW_{name.upper()}={make()}"
        for name, make in GENERATED.items()
        if name in Settings.model_fields
    ]
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write("\n".join(lines) + "\n")
    admin = lines[0].partition("=")[2]
    print(f"init-secrets: wrote {path}; admin token: {admin}", flush=True)


def _service() -> Service:
    name = os.environ.get("SERVICE", "")
    if name not in BY_NAME:
        sys.exit(f"entrypoint: SERVICE must be one of {', '.join(BY_NAME)}, not {name!r}")
    return BY_NAME[name]


def serve(args: list[str]) -> None:
    package = _service().package
    # exec: the service is PID 1 and receives SIGTERM itself (graceful drain).
    os.execv(sys.executable, [sys.executable, "-m", package, *args])  # noqa: S606


def migrate(_: list[str]) -> None:
    # Imported here: alembic and SQLAlchemy would slow every `healthcheck` down.
    from leadflow.migrations import upgrade  # noqa: PLC0415

    service = _service()
    app = importlib.import_module(f"{service.package}.app")
    url = os.environ.get("LEADFLOW_DATABASE_URL")
    if not url:
        sys.exit("entrypoint: LEADFLOW_DATABASE_URL is required to migrate")
    upgrade(app.MIGRATIONS, url)
    print(f"migrations: {service.name} at head", flush=True)


def topics(args: list[str]) -> None:
    os.execv(sys.executable, [sys.executable, "-m", "leadflow.topics", *args])  # noqa: S606


def healthcheck(_: list[str]) -> None:
    port = os.environ.get("LEADFLOW_HTTP_PORT") or _service().port
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=4) as resp:
            sys.exit(0 if resp.status == 200 else 1)
    except OSError as exc:
        sys.exit(f"unhealthy: {exc}")


COMMANDS = {
    "serve": serve,
    "migrate": migrate,
    "topics": topics,
    "healthcheck": healthcheck,
    "init-secrets": init_secrets,
}


def main(argv: list[str]) -> None:
    command, *rest = argv or ["serve"]
    if command not in COMMANDS:
        sys.exit(f"entrypoint: unknown command {command!r}; one of {', '.join(COMMANDS)}")
    load_secrets_file()
    COMMANDS[command](rest)


if __name__ == "__main__":
    main(sys.argv[1:])
