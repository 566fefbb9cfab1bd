"""Alembic for every service: one `env.py` body, programmatic upgrade, the kernel's tables."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command, context, op
from alembic.config import Config
from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    DateTime,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    text,
)
from sqlalchemy.engine import Connection

from leadflow.db import create_engine
from leadflow.sql import lock_keys

# PostgreSQL advisory lock held while a process migrates ("leadflow" in ASCII).
MIGRATION_LOCK_KEY = 0x6C656164666C6F77


def alembic_config(script_location: Path, database_url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(script_location))
    cfg.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return cfg


def upgrade(script_location: Path, database_url: str, revision: str = "head") -> None:
    """Bring a service's database to `revision` (synchronous: call before the event loop)."""
    command.upgrade(alembic_config(script_location, database_url), revision)


def run_env(target_metadata: MetaData | list[MetaData]) -> None:
    """The body of each service's `env.py`: online migrations over the async engine."""
    url = context.config.get_main_option("sqlalchemy.url")
    assert url, "sqlalchemy.url is not set"

    def do_run(connection: Connection) -> None:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
        )
        with context.begin_transaction():
            context.run_migrations()

    async def run_async() -> None:
        engine = create_engine(url)
        try:
            async with engine.connect() as connection:
                # Replicas migrating on start (no migration Job) take turns (PostgreSQL): the
                # next one waits here, then finds the schema at head. Released at commit.
                await lock_keys(connection, [MIGRATION_LOCK_KEY])
                await connection.run_sync(do_run)
                await connection.commit()
        finally:
            await engine.dispose()

    if context.is_offline_mode():
        context.configure(url=url, target_metadata=target_metadata, literal_binds=True)
        with context.begin_transaction():
            context.run_migrations()
    else:
        asyncio.run(run_async())


def create_kernel_tables() -> None:
    """Kernel schema v1 (outbox, inbox): call from each service's first migration."""
    op.create_table(
        "outbox",
        Column(
            "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
        ),
        Column("event_id", String(64), nullable=False, unique=True),
        Column("topic", String(200), nullable=False),
        Column("key", LargeBinary, nullable=False),
        Column("value", LargeBinary, nullable=False),
        Column("headers", JSON, nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False),
        Column("sent_at", DateTime(timezone=True), nullable=True),
    )
    op.create_index(
        "ix_outbox_unsent",
        "outbox",
        ["id"],
        postgresql_where=text("sent_at IS NULL"),
        sqlite_where=text("sent_at IS NULL"),
    )
    op.create_table(
        "inbox",
        Column("consumer", String(100), nullable=False),
        Column("event_id", String(200), nullable=False),
        Column("processed_at", DateTime(timezone=True), nullable=False),
        PrimaryKeyConstraint("consumer", "event_id", name="pk_inbox"),
    )


def create_kernel_tables_v2() -> None:
    """Kernel schema v2 (erasure on the event log, erasure_log.py): the keys to tombstone,
    the leads erased."""
    op.create_table(
        "log_erasure_keys",
        Column("topic", String(200), nullable=False),
        Column("key", String(400), nullable=False),
        Column("lead_key", String(100), nullable=False),
        Column("due_at", DateTime(timezone=True), nullable=True),
        PrimaryKeyConstraint("topic", "key", name="pk_log_erasure_keys"),
    )
    op.create_index("ix_log_erasure_keys_lead_key", "log_erasure_keys", ["lead_key"])
    op.create_index("ix_log_erasure_keys_due_at", "log_erasure_keys", ["due_at"])
    op.create_table(
        "log_erased_leads",
        Column("lead_key", String(100), nullable=False),
        Column("erased_at", DateTime(timezone=True), nullable=False),
        PrimaryKeyConstraint("lead_key", name="pk_log_erased_leads"),
    )


def create_kernel_tables_v3() -> None:
    """Kernel schema v3 (access_store.py): the tokens issued by any service and the
    revocations, kept so that a revocation survives a restart."""
    op.create_table(
        "access_tokens",
        Column("token_id", String(40), nullable=False),
        Column("role", String(20), nullable=False),
        Column("subject", String(200), nullable=True),
        Column("issued_by", String(300), nullable=False),
        Column("expires_at", DateTime(timezone=True), nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False),
        PrimaryKeyConstraint("token_id", name="pk_access_tokens"),
    )
    op.create_index("ix_access_tokens_subject", "access_tokens", ["subject"])
    op.create_table(
        "access_revocations",
        Column("token_id", String(40), nullable=False),
        Column("revoked_at", DateTime(timezone=True), nullable=False),
        Column("until", DateTime(timezone=True), nullable=False),
        PrimaryKeyConstraint("token_id", name="pk_access_revocations"),
    )


def drop_kernel_tables_v3() -> None:
    op.drop_table("access_revocations")
    op.drop_index("ix_access_tokens_subject", table_name="access_tokens")
    op.drop_table("access_tokens")


def drop_kernel_tables_v2() -> None:
    op.drop_table("log_erased_leads")
    op.drop_table("log_erasure_keys")


def drop_kernel_tables() -> None:
    op.drop_table("inbox")
    op.drop_index("ix_outbox_unsent", table_name="outbox")
    op.drop_table("outbox")
