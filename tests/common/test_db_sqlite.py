"""SQLite: the one bulk insert stores exactly what SQLAlchemy's own executemany stores; new
databases get 16 KiB pages and WAL."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import MetaData, insert, select
from sqlalchemy.ext.asyncio import async_sessionmaker
from typed_rows import typed_rows, typed_table

from leadflow.bulk import InsertPart, bulk_insert
from leadflow.db import create_engine

metadata = MetaData()
THEIRS = typed_table("theirs", metadata)
OURS = typed_table("ours", metadata)
ROWS = typed_rows()


async def test_bulk_rows_equal_sqlalchemy_rows_byte_for_byte(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'bulk.db'}")
    try:
        async with engine.begin() as conn:
            await conn.run_sync(metadata.create_all)
            await conn.execute(insert(THEIRS), ROWS)
        async with async_sessionmaker(engine)() as session, session.begin():
            await bulk_insert(session, [InsertPart(OURS, ROWS)])
        async with engine.connect() as conn:
            # The stored values as SQLite holds them (no result processing), and as read back.
            raw = [
                (await conn.exec_driver_sql(f"SELECT * FROM {name} ORDER BY rowid")).all()
                for name in ("theirs", "ours")
            ]
            read = [(await conn.execute(select(t).order_by(t.c.id))).all() for t in (THEIRS, OURS)]
    finally:
        await engine.dispose()
    assert raw[0] == raw[1]
    assert len(raw[1]) == len(ROWS)
    assert read[0] == read[1]
    assert {row.id for row in read[1]} == {row["id"] for row in ROWS}


async def test_a_new_sqlite_database_has_16_kib_pages_and_wal(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'pages.db'}")
    try:
        async with engine.begin() as conn:
            await conn.run_sync(metadata.create_all)
        async with engine.connect() as conn:
            page_size = (await conn.exec_driver_sql("PRAGMA page_size")).scalar()
            journal = (await conn.exec_driver_sql("PRAGMA journal_mode")).scalar()
    finally:
        await engine.dispose()
    assert (page_size, journal) == (16384, "wal")
