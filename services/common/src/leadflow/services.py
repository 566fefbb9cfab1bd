"""The four services, listed once: name, local HTTP port, import package (docs/CONTRACT.md).

The CLI, the image entry point, `make run` (`python -m leadflow.services`), the test stack
and the benches read this list; each service's settings take their port from it. It imports
nothing, so the image's health check stays fast.
"""

from __future__ import annotations

from dataclasses import dataclass

LOCAL_PORT_BASE = 8000  # the port every registered one is offset from (`make run` moves it)


@dataclass(frozen=True)
class Service:
    """One service: `python -m <package>` runs it, `<name>` is its folder and consumer group."""

    name: str  # distribution, folder under services/, default consumer group, image SERVICE
    port: int  # local default HTTP port (the contract's table)
    package: str  # import package under services/<name>/src
    cli: str  # the operator CLI's word: `--<cli>-url`, `LEADFLOW_<CLI>_URL`

    @property
    def local_url(self) -> str:
        """Where the service answers on this machine with its default port."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def url_env(self) -> str:
        """The environment variable the CLI reads this service's base URL from."""
        return f"LEADFLOW_{self.cli.upper()}_URL"


SERVICES: tuple[Service, ...] = (
    Service("marketing-intake", 8001, "marketing_intake", "intake"),
    Service("lead-scoring", 8002, "lead_scoring", "scoring"),
    Service("sales-assignment", 8003, "sales_assignment", "assignment"),
    Service("feedback", 8004, "feedback", "feedback"),
)
BY_NAME = {s.name: s for s in SERVICES}
NAMES = tuple(BY_NAME)


def port_of(name: str) -> int:
    """A registered service's local port; LOCAL_PORT_BASE for anything else (a test app)."""
    service = BY_NAME.get(name)
    return service.port if service else LOCAL_PORT_BASE


def main() -> None:
    """Print `name package port` per line, in start order (scripts/run.sh reads it)."""
    for s in SERVICES:
        print(s.name, s.package, s.port)


if __name__ == "__main__":
    main()
