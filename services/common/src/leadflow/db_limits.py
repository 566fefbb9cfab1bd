"""Time limits on PostgreSQL sessions, so a vanished primary fails fast instead of hanging.

Without them a query sent to a primary that vanished (no FIN, no RST) waits for the kernel
to give up retransmitting: about 15 minutes on Linux. Each layer bounds it:
- asyncpg's `command_timeout`: the client gives up on any one query;
- `statement_timeout`, `idle_in_transaction_session_timeout`: the server ends a statement
  or a transaction left open, so their locks go with them;
- TCP keepalives and `TCP_USER_TIMEOUT` on the client socket: a silent peer is declared dead
  within idle + interval × count seconds, sending or not; the server's keepalives do the
  same for a client that vanished.
"""

from __future__ import annotations

import dataclasses
import logging
import socket
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from leadflow.db import create_engine
from leadflow.settings import Settings

log = logging.getLogger(__name__)
# What a transaction pooler leaves unapplied: the startup parameters these set.
_UNSENT_THROUGH_POOLER = {
    "db_statement_timeout_ms": "LEADFLOW_DB_STATEMENT_TIMEOUT_MS",
    "db_idle_in_transaction_timeout_ms": "LEADFLOW_DB_IDLE_IN_TRANSACTION_TIMEOUT_MS",
}


@dataclass(frozen=True)
class DbLimits:
    """Per-connection limits for PostgreSQL (0 turns a server timeout off)."""

    command_timeout: float = 30.0
    statement_timeout_ms: int = 30_000
    idle_in_transaction_timeout_ms: int = 60_000
    keepalive_idle: int = 30
    keepalive_interval: int = 10
    keepalive_count: int = 3
    ssl: str = ""  # asyncpg's ssl mode; empty: the URL's
    # `pgbouncer-transaction`: through PgBouncer in transaction mode (see `connect_args`).
    pooler: str = "none"

    @classmethod
    def from_settings(cls, s: Settings, *, warn: bool = True) -> DbLimits:
        """The limits the settings ask for; warns of those a transaction pooler drops."""
        if warn and (ignored := ignored_through_pooler(s)):
            log.warning(
                "LEADFLOW_DATABASE_POOLER=pgbouncer-transaction sends no startup parameters: "
                "%s ignored (set them on the database role: ALTER ROLE … SET …)",
                ", ".join(ignored),
            )
        return cls(
            command_timeout=s.db_command_timeout_seconds,
            statement_timeout_ms=s.db_statement_timeout_ms,
            idle_in_transaction_timeout_ms=s.db_idle_in_transaction_timeout_ms,
            keepalive_idle=s.db_keepalive_idle_seconds,
            keepalive_interval=s.db_keepalive_interval_seconds,
            keepalive_count=s.db_keepalive_count,
            ssl=s.database_sslmode,
            pooler=s.database_pooler,
        )

    @property
    def dead_after_seconds(self) -> int:
        """How long a silent peer lives on the socket: keepalive idle + interval × count."""
        return self.keepalive_idle + self.keepalive_interval * self.keepalive_count

    def connect_args(self) -> dict[str, Any]:
        """asyncpg.connect keyword arguments."""
        server = {
            "tcp_keepalives_idle": str(self.keepalive_idle),
            "tcp_keepalives_interval": str(self.keepalive_interval),
            "tcp_keepalives_count": str(self.keepalive_count),
        }
        if self.statement_timeout_ms:
            server["statement_timeout"] = str(self.statement_timeout_ms)
        if self.idle_in_transaction_timeout_ms:
            server["idle_in_transaction_session_timeout"] = str(self.idle_in_transaction_timeout_ms)
        args: dict[str, Any] = {"command_timeout": self.command_timeout, "server_settings": server}
        if self.ssl:
            args["ssl"] = self.ssl
        if self.pooler == "pgbouncer-transaction":
            args.update(through_transaction_pooler())
        return args

    def install(self, engine: AsyncEngine) -> None:
        """Keepalives and an unacknowledged-send limit on each new connection's socket."""

        @event.listens_for(engine.sync_engine, "connect")
        def _keepalive(dbapi_conn: Any, _record: Any) -> None:
            transport = getattr(dbapi_conn.driver_connection, "_transport", None)
            sock = transport.get_extra_info("socket") if transport is not None else None
            if sock is None or sock.family not in (socket.AF_INET, socket.AF_INET6):
                return  # a Unix socket has no peer to lose
            set_keepalive(sock, self)


def _statement_name() -> str:
    return f"__asyncpg_{uuid.uuid4().hex}__"


def through_transaction_pooler() -> dict[str, Any]:
    """asyncpg.connect arguments for PgBouncer in transaction mode, where each transaction
    may run on another server connection: no prepared statement is kept for reuse (asyncpg's
    cache off, SQLAlchemy's too), those made within a transaction get names no other client
    uses, and no startup parameter but those PgBouncer tracks is sent (it refuses the
    connection for `statement_timeout` and the like: set them on the role instead,
    `ALTER ROLE … SET statement_timeout = …`)."""
    return {
        "server_settings": {},
        "statement_cache_size": 0,
        "prepared_statement_cache_size": 0,
        "prepared_statement_name_func": _statement_name,
    }


def ignored_through_pooler(s: Settings) -> list[str]:
    """The settings given explicitly that a transaction pooler leaves unapplied (pure)."""
    if s.database_pooler != "pgbouncer-transaction":
        return []
    return [env for field, env in _UNSENT_THROUGH_POOLER.items() if field in s.model_fields_set]


def set_keepalive(sock: Any, limits: DbLimits) -> None:
    """Turn on TCP keepalives (and TCP_USER_TIMEOUT where the platform has it) on `sock`."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    for name, value in (
        ("TCP_KEEPIDLE", limits.keepalive_idle),
        ("TCP_KEEPINTVL", limits.keepalive_interval),
        ("TCP_KEEPCNT", limits.keepalive_count),
        ("TCP_USER_TIMEOUT", limits.dead_after_seconds * 1000),
    ):
        option = getattr(socket, name, None)
        if option is not None:
            sock.setsockopt(socket.IPPROTO_TCP, option, value)


def relay_engine(settings: Settings, engine: AsyncEngine) -> AsyncEngine | None:
    """The outbox relay's own engine on LEADFLOW_RELAY_DATABASE_URL (a session-mode route to
    the same database, for its session advisory lock), or None: the relay shares `engine`."""
    if not settings.relay_database_url:
        return None
    limits = dataclasses.replace(DbLimits.from_settings(settings, warn=False), pooler="none")
    # One connection holds the lock; another marks, reads and cleans up beside it.
    return create_engine(settings.relay_database_url, limits=limits, pool_size=2, max_overflow=2)
