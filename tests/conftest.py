"""Shared fixtures: one real Kafka broker per run; SQLite and PostgreSQL databases.

`make test` (scripts/test.sh) runs the fuzz modules alone, then the suite on pytest-xdist
workers, a module (or a SHARED group of them) at a time; see `pytest_ignore_collect` for the
two phases. Each worker is a test process of its own: its databases, templates, consumer
groups and topic prefixes are its own (uuid and worker names), only the broker is shared
(but by the modules that take a broker of their own: chaos, the poison test, the erasure-log
proof)."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from xdist.scheduler import LoadScopeScheduling  # type: ignore[import-untyped]

from leadflow.kafka import ensure_topics
from support.databases import drop_templates
from support.infra import PG_POOL, LocalKafka, fresh_pg_database
from support.private import PrivateKafka
from support.receiver import Receiver
from support.stack import Stack

TESTS = Path(__file__).resolve().parent
# Handed out last, when the end-to-end stacks are long done: they time a stop. run.sh's
# Ctrl-C test starts a broker and four services of its own; beside two stacks it overran its
# 150 s in every run here, alone it takes 7 to 19 s. The graceful-shutdown test's drain (its
# last flush has 5 s) missed publishing some events once beside the stacks, in a trial.
LAST = (
    TESTS / "scripts" / "test_run_script.py",
    TESTS / "deploy" / "test_graceful_shutdown.py",
)
# Run alone, before the parallel phase, in a plain pytest process: schemathesis gives all the
# items of a fuzz function (one per operation) the function's node id, and xdist's loadscope
# keeps a module's work by node id, so on the workers only one operation per function ran
# (and its result stood for all of them: 2,608 passed of 2,712 collected).
SERIAL = (
    TESTS / "fuzz" / "test_openapi_fuzz.py",
    TESTS / "marketing_intake" / "test_intake_fuzz.py",
)


def _under(path: Path, places: tuple[Path, ...]) -> bool:
    return any(path.resolve().is_relative_to(d) for d in places)


def _serial(path: Path) -> bool:
    return _under(path, SERIAL)


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """LEADFLOW_TEST_PHASE=parallel leaves out the serial tests, =serial collects only them;
    unset (a plain `pytest` run), everything is collected."""
    phase = os.environ.get("LEADFLOW_TEST_PHASE")
    path = collection_path.resolve()
    serial = _serial(path)
    if phase == "parallel" and serial:
        return True
    if phase == "serial" and not serial and not any(d.is_relative_to(path) for d in SERIAL):
        return True
    return None  # not ours to decide (--ignore and the like still apply)


def pytest_configure(config: pytest.Config) -> None:
    """Unset COLUMNS and LINES where only readline set them (in the C environment, not in
    os.environ, as it does when imported): every child inherits them, xdist's workers too,
    and a CLI's rich console made at import in a worker would keep 80 columns."""
    for name in ("COLUMNS", "LINES"):
        if name not in os.environ:
            os.unsetenv(name)


# Modules run one after the other on one worker (one xdist work unit), never side by side:
# they share what a test process cannot make its own.
SHARED = {
    # The real replay group (leadflow-dlq-replay): `dlq replay` commits in a transaction,
    # and the gauge test's marks and reads on that group wait on, or miss, another's.
    "replay-group": ("tests/cli/test_cli.py", "tests/common/test_dlq_gauge.py"),
    # Headless Chromium (installed on first use) and a stack each: one browser at a time.
    "browser": (
        "tests/feedback/test_dashboard_browser.py",
        "tests/feedback/test_lab_browser.py",
        "tests/marketing_intake/test_intake_browser.py",
    ),
    # The end-to-end stacks on the shared broker (four to eight service processes each): in
    # two lines, so at most two of them run at once beside the chaos test's and the private
    # broker's, and the other workers have cores for the rest.
    "stacks-erasure": (
        "tests/e2e/test_erasure_services.py",
        "tests/e2e/test_routing_replay.py",
    ),
    # One broker of the worker's own (`private_kafka_bootstrap`) for both: test_poison puts
    # poison on every topic, the erasure-log proof reads every topic from its start.
    "private-broker": (
        "tests/chaos/test_poison.py",
        "tests/e2e/test_erasure_log.py",
    ),
    "stacks-restart": (
        "tests/e2e/test_scale_out.py",
        "tests/e2e/test_pipeline.py",
        "tests/e2e/test_rejections.py",
    ),
}
_UNIT = {module: group for group, modules in SHARED.items() for module in modules}


class _Scheduling(LoadScopeScheduling):  # type: ignore[misc]
    """xdist's loadscope (a module is a work unit), but a SHARED group is one unit."""

    def _split_scope(self, nodeid: str) -> str:
        module = nodeid.split("::", maxsplit=1)[0]
        return _UNIT.get(module) or str(super()._split_scope(nodeid))


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """`--dist loadscope` (scripts/test.sh) with the SHARED groups."""
    if config.getoption("dist") != "loadscope":
        return None
    return _Scheduling(config, log)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Only the phase's tests (a file named on the command line is collected whatever
    `pytest_ignore_collect` says). On an xdist worker, the modules with the longest waits
    first: end to end, then those on the broker, then the rest, so the workers finish
    together rather than on a stack started last; LAST at the very end. `--dist loadscope`
    hands out whole modules (a module-scoped stack is set up once), `--no-loadscope-reorder`
    keeps this order."""
    phase = os.environ.get("LEADFLOW_TEST_PHASE")
    if phase in ("parallel", "serial"):
        keep = [i for i in items if _serial(i.path) == (phase == "serial")]
        if len(keep) < len(items):
            kept = set(keep)
            config.hook.pytest_deselected(items=[i for i in items if i not in kept])
            items[:] = keep
    if "PYTEST_XDIST_WORKER" not in os.environ:
        return
    first: dict[str, int] = {}
    for item in items:
        module = item.nodeid.split("::", maxsplit=1)[0]
        first[module] = min(first.get(module, 3), _order(item))
    items.sort(key=lambda item: first[item.nodeid.split("::", maxsplit=1)[0]])  # stable


def _order(item: pytest.Item) -> int:
    """0 end to end, 1 on the broker, 2 the rest, 3 LAST."""
    if _under(item.path, LAST):
        return 3
    if item.get_closest_marker("e2e"):
        return 0
    return 1 if item.get_closest_marker("kafka") else 2


_KAFKA = pytest.StashKey[LocalKafka]()


def pytest_sessionstart(session: pytest.Session) -> None:
    """Under xdist the controller starts the broker (if none answers) before any worker, so
    the workers never race to start one, nor stop it while another still uses it."""
    controller = getattr(session.config.option, "dist", "no") != "no"  # xdist's -n N
    if controller and "PYTEST_XDIST_WORKER" not in os.environ:
        kafka = LocalKafka()
        kafka.start()
        session.config.stash[_KAFKA] = kafka


def pytest_sessionfinish(session: pytest.Session) -> None:
    """The controller stops the broker after every worker is done, if it started it."""
    kafka = session.config.stash.get(_KAFKA, None)
    if kafka is not None:
        kafka.stop()


@pytest.fixture(scope="session")
def kafka_bootstrap() -> Iterator[str]:
    """The broker every Kafka test uses, started once and topics created once (per worker:
    `ensure_topics` only creates what is missing)."""
    kafka = LocalKafka()
    kafka.start()
    asyncio.run(ensure_topics(kafka.bootstrap))
    yield kafka.bootstrap
    kafka.stop()


@pytest.fixture(scope="session")
def private_kafka_bootstrap() -> Iterator[str]:
    """A broker of this worker's own, started on first use, topics created: for modules that
    poison every topic or read every topic from its start, which on the shared broker would
    disturb, or be disturbed by, the tests running beside them. Such a module overrides
    `kafka_bootstrap` with it (its stack then runs on it too); SHARED runs them on one worker."""
    kafka = PrivateKafka().start()
    asyncio.run(ensure_topics(kafka.bootstrap))
    yield kafka.bootstrap
    kafka.discard()


@pytest.fixture(scope="session", autouse=True)
def test_databases() -> Iterator[None]:
    """Last: the PostgreSQL databases this run reused between tests, the migrated templates."""
    yield
    asyncio.run(PG_POOL.drop_all())
    drop_templates()


@pytest.fixture(params=["sqlite", "postgres"])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A fresh, empty database: SQLite file and PostgreSQL, the same tests on both."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path}/test.db"
        return
    async with fresh_pg_database() as url:
        yield url


@pytest.fixture
async def pg_url() -> AsyncIterator[str]:
    """A fresh, empty PostgreSQL database, for what only PostgreSQL does (advisory locks,
    several processes on one database, dropped connections)."""
    async with fresh_pg_database() as url:
        yield url


# The four services as processes with a webhook receiver: one stack per test module that
# asks for it (tests/e2e, tests/chaos/test_poison.py); a module may override both.
@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    r = Receiver().start()
    yield r
    r.stop()


@pytest.fixture(scope="module")
def stack(
    kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[Stack]:
    base: Path = tmp_path_factory.mktemp("stack")
    s = Stack(
        base,
        kafka_bootstrap,
        extra_env={
            "LEADFLOW_WEBHOOK_RETRY_SCHEDULE": "[0, 1, 2, 3, 5]",
            "LEADFLOW_ASSIGNMENT_SLA_SECONDS": "3600",
            "LEADFLOW_WEBHOOK_POLL_SECONDS": "0.2",
            # A module's own settings for its stack (STACK_ENV = {...} in the test module).
            **getattr(request.module, "STACK_ENV", {}),
        },
    ).start()
    yield s
    codes = s.stop()
    # uvicorn re-raises SIGTERM after its graceful shutdown, so -15 is the clean exit here;
    # the lifespan's last line proves the drain ran.
    assert all(code in (0, -signal.SIGTERM) for code in codes.values()), codes
    assert all('"msg": "stopped"' in log for log in s.logs().values())
