"""Every row of every table of a database as text, to prove a value is stored nowhere."""

from __future__ import annotations

import base64
from typing import Any

import sqlalchemy as sa
from sqlalchemy import MetaData, select

from leadflow.db import create_engine

SECRETS_KEY = "Hn5_Wq2Zx8Lc4Vb7Mk1Jd9Rf3Tg6Ys0Pe-aUoIiEyQw"  # a LEADFLOW_SECRETS_KEY for tests


async def database_text(url: str) -> str:
    """All rows of all tables, each value as text (bytes decoded as far as they go)."""
    engine = create_engine(url)
    parts: list[str] = []
    try:
        async with engine.connect() as conn:
            meta = MetaData()
            await conn.run_sync(meta.reflect)
            for table in meta.sorted_tables:
                for row in await conn.execute(select(table)):
                    for value in row:
                        if isinstance(value, bytes | bytearray | memoryview):
                            parts.append(bytes(value).decode("utf-8", "replace"))
                        else:
                            parts.append(str(value))
    finally:
        await engine.dispose()
    return "\n".join(parts)


def secret_traces(secret: str) -> list[str]:
    """A whsec_ secret and the key material it carries, as they could appear stored."""
    body = secret.removeprefix("whsec_")
    return [secret, body, base64.b64decode(body).hex()]


async def insert_row(url: str, table: sa.TableClause, /, **values: Any) -> None:
    """One row written as an older release would have (before a migration runs)."""
    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.execute(table.insert().values(**values))
    finally:
        await engine.dispose()
