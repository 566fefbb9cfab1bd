"""Test databases migrated once per run: a test's fresh database becomes a copy of a template.

Alembic runs once per service and kind of database per test run, on a database of its own;
`migrated` then makes a test's fresh, empty database a copy of it: a file copy for SQLite,
for PostgreSQL the template's `pg_dump` (schema and rows) replayed in one round trip, which
takes a fifth of the time Alembic does. A database that already holds tables is migrated for
real, and the tests of the migrations themselves (a partial upgrade, rows carried across one)
call `upgrade` directly.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import tempfile
import uuid
import warnings
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from leadflow.migrations import upgrade
from support.infra import fresh_pg_database

_COUNT_TABLES = text(
    "SELECT count(*) FROM pg_catalog.pg_tables "
    "WHERE schemaname NOT IN ('pg_catalog', 'information_schema')"
)


class _Templates:
    """This run's migrated templates, one per migrations folder and kind of database."""

    def __init__(self) -> None:
        self.sqlite: dict[Path, Path] = {}
        self.postgres: dict[Path, str | None] = {}  # the dump; None: no usable pg_dump
        self.lock = asyncio.Lock()
        self.sqlite_dir: Path | None = None

    async def sqlite_file(self, migrations: Path) -> Path:
        async with self.lock:
            if migrations not in self.sqlite:
                if self.sqlite_dir is None:
                    self.sqlite_dir = Path(tempfile.mkdtemp(prefix="leadflow-templates-"))
                path = self.sqlite_dir / f"{uuid.uuid4().hex[:12]}.db"
                await asyncio.to_thread(upgrade, migrations, f"sqlite+aiosqlite:///{path}")
                self.sqlite[migrations] = path
            return self.sqlite[migrations]

    async def postgres_dump(self, migrations: Path) -> str | None:
        async with self.lock:
            if migrations not in self.postgres:
                async with fresh_pg_database() as url:
                    await asyncio.to_thread(upgrade, migrations, url)
                    self.postgres[migrations] = await asyncio.to_thread(_pg_dump, url)
            return self.postgres[migrations]

    def drop(self) -> None:
        if self.sqlite_dir is not None:
            shutil.rmtree(self.sqlite_dir, ignore_errors=True)
        self.sqlite.clear()
        self.postgres.clear()
        self.sqlite_dir = None


_TEMPLATES = _Templates()


async def migrated(migrations: Path, database_url: str) -> None:
    """Bring the database at `database_url` to head: a copy of the template if it is empty."""
    url = make_url(database_url)
    backend = url.get_backend_name()
    if backend == "sqlite" and url.database and url.database != ":memory:":
        target = Path(url.database)
        if not target.exists() or target.stat().st_size == 0:
            _copy_sqlite(await _TEMPLATES.sqlite_file(migrations), target)
            return
    elif backend == "postgresql":
        dump = await _TEMPLATES.postgres_dump(migrations)
        if dump is not None and await _pg_replay_if_empty(database_url, dump):
            return
    await asyncio.to_thread(upgrade, migrations, database_url)


def drop_templates() -> None:
    """Forget this run's templates and remove their files."""
    _TEMPLATES.drop()


def _copy_sqlite(template: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(template, target)
    # The migrating engine checkpointed its write-ahead log when it closed; if one is left,
    # it holds pages the file does not have yet.
    wal = template.with_name(template.name + "-wal")
    if wal.exists():
        shutil.copyfile(wal, target.with_name(target.name + "-wal"))


def _pg_dump_binary() -> str | None:
    """Debian's newest pg_dump (its /usr/bin wrapper wants a registered cluster), or PATH's."""
    found = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/pg_dump"),
        key=lambda p: int(p.parts[-3]) if p.parts[-3].isdigit() else 0,
    )
    return str(found[-1]) if found else shutil.which("pg_dump")


def _pg_dump(database_url: str) -> str | None:
    """The database's schema and rows as SQL; None (with a warning) if pg_dump cannot."""
    binary = _pg_dump_binary()
    url = make_url(database_url)
    if binary is None:
        warnings.warn("no pg_dump: each test's PostgreSQL database runs Alembic", stacklevel=2)
        return None
    server = ["-h", url.host or "localhost", "-p", str(url.port or 5432)]
    user = ["-U", url.username or "postgres", url.database or ""]
    done = subprocess.run(
        [binary, "--inserts", "--no-owner", "--no-privileges", *server, *user],
        env={**os.environ, "PGPASSWORD": url.password or ""},
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        warnings.warn(f"pg_dump failed, each test runs Alembic: {done.stderr}", stacklevel=2)
        return None
    # Lines starting with a backslash are psql's commands (\restrict), not SQL.
    return "\n".join(line for line in done.stdout.splitlines() if not line.startswith("\\"))


async def _pg_replay_if_empty(database_url: str, dump: str) -> bool:
    """Replay `dump` in the database if it holds no table yet (one implicit transaction)."""
    engine = create_async_engine(database_url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            if await conn.scalar(_COUNT_TABLES):
                return False
            raw = await conn.get_raw_connection()
            assert raw.driver_connection is not None
            await raw.driver_connection.execute(dump)  # simple query: statements in one go
    finally:
        await engine.dispose()
    return True
