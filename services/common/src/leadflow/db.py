"""SQLAlchemy 2 async engines and sessions: SQLite (aiosqlite) and PostgreSQL (asyncpg)."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic_core import from_json, to_json
from sqlalchemy import DateTime, Table, event, text
from sqlalchemy.dialects import postgresql as pg_dialect
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.exc import DBAPIError, DisconnectionError, OperationalError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import Session
from sqlalchemy.pool import AsyncAdaptedQueuePool
from sqlalchemy.types import TypeDecorator

if TYPE_CHECKING:
    from leadflow.db_limits import DbLimits

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UtcDateTime(TypeDecorator[datetime]):
    """A timestamp that is always timezone-aware UTC, on PostgreSQL and on SQLite alike."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: pass an aware one (UTC)")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def dialect_insert(
    session: AsyncSession | Session,
) -> Callable[[Table], pg_dialect.Insert | sqlite_dialect.Insert]:
    """The session's dialect's `insert`, the one with `on_conflict_do_nothing`."""
    if session.get_bind().dialect.name == "postgresql":
        return pg_dialect.insert
    return sqlite_dialect.insert


# How long a pooled connection may sit unused before it is checked (one round trip) when
# taken again. SQLAlchemy's `pool_pre_ping` checks at every checkout, which is one more round
# trip for every transaction; a connection in steady use proves itself alive anyway, and one
# that breaks in use fails its statement, which callers treat as "database unavailable".
IDLE_PING_SECONDS = 5.0
_LAST_USED = "leadflow.last_used"


def _json_text(value: Any) -> str:
    return to_json(value).decode()


def create_engine(
    url: str,
    *,
    idle_ping_seconds: float = IDLE_PING_SECONDS,
    limits: DbLimits | None = None,
    **kwargs: Any,
) -> AsyncEngine:
    """An async engine; SQLite gets WAL, a busy timeout and its folder created, PostgreSQL
    the `limits` (timeouts, keepalives, TLS mode) when given."""
    # JSON columns through pydantic-core rather than the json module: less CPU for the lead
    # documents every service stores (docs/decisions.md, session 4).
    kwargs.setdefault("json_serializer", _json_text)
    # Parameters are people's names, emails and companies: kept out of error messages and
    # the engine's log (the statement stays, with its placeholders).
    kwargs.setdefault("hide_parameters", True)
    kwargs.setdefault("json_deserializer", from_json)
    if is_sqlite(url):
        database = make_url(url).database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        # One connection per process: SQLite has one writer anyway, and every transaction
        # begins IMMEDIATE (below), so a second connection would only sleep in SQLite's busy
        # handler. Sessions queue for the connection in asyncio instead — no sleeping, FIFO.
        kwargs.setdefault("poolclass", AsyncAdaptedQueuePool)
        kwargs.setdefault("pool_size", 1)
        kwargs.setdefault("max_overflow", 0)
        kwargs.setdefault("pool_timeout", 120)
        engine = create_async_engine(url, connect_args={"timeout": 30}, **kwargs)

        @event.listens_for(engine.sync_engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            # WAL lets readers run beside the one writer; NORMAL sync is durable under WAL.
            dbapi_conn.isolation_level = None  # let SQLAlchemy's BEGIN below drive transactions
            cur = dbapi_conn.cursor()
            # 16 KiB pages (SQLite's default is 4): a transaction writes each page it changed
            # to the WAL with a system call of its own, and every service's rows hold a lead's
            # JSON (docs/decisions.md, sessions 7 and 11). A new database only: the page
            # size is fixed once the first table is written.
            cur.execute("PRAGMA page_size=16384")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        @event.listens_for(engine.sync_engine, "begin")
        def _begin_immediate(conn: Any) -> None:
            # Take the write lock at BEGIN, so two writers queue instead of deadlocking.
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 10)
    # Last in, first out: under a steady load the same few connections stay in use and the
    # rest sit idle, so only those are checked before use (below).
    kwargs.setdefault("pool_use_lifo", True)
    if limits is not None:
        kwargs["connect_args"] = {**limits.connect_args(), **kwargs.get("connect_args", {})}
    engine = create_async_engine(url, **kwargs)
    if limits is not None:
        limits.install(engine)
    _ping_when_idle(engine, idle_ping_seconds)
    return engine


def _ping_when_idle(engine: AsyncEngine, idle_seconds: float) -> None:
    sync = engine.sync_engine

    @event.listens_for(sync, "checkin")
    def _checked_in(_dbapi_conn: Any, record: Any) -> None:
        record.info[_LAST_USED] = time.monotonic()

    @event.listens_for(sync, "checkout")
    def _checked_out(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        last = record.info.get(_LAST_USED)
        if last is None or time.monotonic() - last < idle_seconds:
            return  # just connected, or in steady use
        try:
            alive = sync.dialect.do_ping(dbapi_conn)
        except Exception as exc:
            # The pool drops this connection and takes (or makes) another.
            raise DisconnectionError(f"idle connection is gone: {exc}") from exc
        if not alive:
            raise DisconnectionError("idle connection is gone")


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


async def ping(engine: AsyncEngine) -> None:
    """Raise if the database does not answer."""
    async with engine.connect() as conn:
        await conn.execute(text("SELECT 1"))


# SQLSTATEs of a server that is away or refusing for now: connection exceptions (08…),
# shutting down or starting up (57P01-03), too many connections (53300), and a read-only
# transaction (25006): after a failover the old primary or a replica answers writes so.
_UNAVAILABLE_STATES = ("08", "57P01", "57P02", "57P03", "53300", "25006")
# Conflicts with another transaction that the same work, run again, gets past: deadlock
# (40P01), serialization failure (40001).
_CONFLICT_STATES = ("40P01", "40001")


def _sqlstate(exc: BaseException) -> str | None:
    orig = exc.orig if isinstance(exc, DBAPIError) else exc
    state = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    return state if isinstance(state, str) else None


def is_transient(exc: BaseException) -> bool:
    """A failure that running the same work again gets past: an outage or a conflict."""
    return is_unavailable(exc) or _sqlstate(exc) in _CONFLICT_STATES


def is_unavailable(exc: BaseException) -> bool:
    """A failure that says a dependency is away (will pass), not that the request is wrong."""
    if isinstance(exc, OperationalError | ConnectionError | TimeoutError):
        return True
    if isinstance(exc, DBAPIError):
        if exc.connection_invalidated:
            return True
        orig = exc.orig
        state = _sqlstate(exc)
        if state is not None and state.startswith(_UNAVAILABLE_STATES):
            return True
        cause = getattr(orig, "__cause__", None)
        return isinstance(cause, OSError)
    return isinstance(exc, OSError) and not isinstance(exc, FileNotFoundError)
