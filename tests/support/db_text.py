"""Every row of every table of a database as text, to prove a value is stored nowhere."""

from __future__ import annotations

from sqlalchemy import MetaData, select

from leadflow.db import create_engine


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
