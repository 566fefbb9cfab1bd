"""The one bulk insert: many rows of one or more tables, written explicitly by its caller.

`bulk_insert(session, parts)` is what the unit of work (`leadflow.uow`) runs at commit for
the staged rows and the outbox rows, and what a service calls when it inserts many rows
itself. PostgreSQL: every part in one statement, each column's values bound as one array
and unnested by the server (`ArrayInsert`, joined by `insert_together`), so the cost of a
round trip does not grow with the rows or the tables. SQLite: one executemany per part.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from sqlalchemy import Table, insert, text
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncSession


async def bulk_insert(session: AsyncSession, parts: Sequence[InsertPart]) -> None:
    """Insert the rows of every part in the session's transaction (see the module)."""
    parts = [part for part in parts if part.rows]
    if not parts:
        return
    dialect = session.get_bind().dialect
    if dialect.name == "postgresql":
        await session.execute(*insert_together(dialect, parts))
        return
    for table, rows, replace in parts:
        await session.execute(_sqlite_insert(table, tuple(rows[0]), replace), list(rows))


@functools.lru_cache(maxsize=64)
def _sqlite_insert(table: Table, columns: tuple[str, ...], replace: bool) -> Any:
    """SQLite: SQLAlchemy's INSERT of these columns (an upsert with `replace`)."""
    _check_defaults(table, columns)
    if not replace:
        return insert(table)
    stmt = sqlite_insert(table)
    key = [c.name for c in table.primary_key.columns]
    changed = {c: stmt.excluded[c] for c in columns if c not in key}
    if not changed:
        raise ValueError(f"{table.name}: nothing to replace but the primary key")
    return stmt.on_conflict_do_update(index_elements=key, set_=changed)


def _check_defaults(table: Table, columns: Sequence[str]) -> None:
    """The driver runs no Python-side column default: the rows must hold those values."""
    missing = [c.name for c in table.columns if c.name not in columns and c.default is not None]
    if missing:
        raise ValueError(f"{table.name}: no value for {', '.join(missing)}")


def _bind_processors(
    table: Table, columns: Sequence[str], dialect: Dialect
) -> tuple[Callable[[Any], Any] | None, ...]:
    """Each column's bind processor for `dialect`: what SQLAlchemy does to a value it binds."""
    return tuple(
        table.c[name].type.dialect_impl(dialect).bind_processor(dialect) for name in columns
    )


def _on_conflict_replace(table: Table, columns: Sequence[str], dialect: Dialect) -> str:
    """The upsert clause PostgreSQL and SQLite share: the primary key's row takes the new
    values of the other columns given."""
    quote = dialect.identifier_preparer.quote
    key = [c.name for c in table.primary_key.columns]
    changed = ", ".join(f"{quote(c)} = excluded.{quote(c)}" for c in columns if c not in key)
    if not changed:
        raise ValueError(f"{table.name}: nothing to replace but the primary key")
    return f" ON CONFLICT ({', '.join(quote(c) for c in key)}) DO UPDATE SET {changed}"


@dataclass(frozen=True, slots=True)
class ArrayInsert:
    """An INSERT of many rows on PostgreSQL as one statement: each column's values bound as
    one array and unnested, in the order given. Each value goes through its column's bind
    processor first, so the rows hold what SQLAlchemy's own INSERT would store. Made by
    `array_insert`; `insert_together` runs several as one statement.

    Bind names are `<tag>_<n>`, so that inserts into several tables can share a statement.
    """

    sql: str
    columns: tuple[str, ...]
    processors: tuple[Callable[[Any], Any] | None, ...]

    @classmethod
    def of(
        cls,
        table: Table,
        columns: Sequence[str],
        dialect: Dialect,
        tag: str,
        *,
        replace: bool = False,
    ) -> ArrayInsert:
        """With `replace`, a row whose primary key is stored already overwrites the stored
        row's columns it sets."""
        if dialect.name != "postgresql":
            raise ValueError(f"ArrayInsert is for PostgreSQL, not {dialect.name}")
        _check_defaults(table, columns)
        quote = dialect.identifier_preparer.quote
        names = ", ".join(quote(name) for name in columns)
        arrays = ", ".join(
            f"CAST(:{tag}_{i} AS {table.c[name].type.compile(dialect=dialect)}[])"
            for i, name in enumerate(columns)
        )
        unnested = ", ".join(f"c{i}" for i in range(len(columns)))
        # Names from the table itself, quoted by the dialect; the values are all bound.
        sql = (
            f"INSERT INTO {dialect.identifier_preparer.format_table(table)} ({names})"  # noqa: S608
            f" SELECT {unnested} FROM unnest({arrays})"
            f" WITH ORDINALITY AS {tag} ({unnested}, n) ORDER BY n"
        )
        if replace:
            sql += _on_conflict_replace(table, columns, dialect)
        return cls(
            sql=sql,
            columns=tuple(columns),
            processors=_bind_processors(table, columns, dialect),
        )

    def params(self, rows: Sequence[Mapping[str, Any]], tag: str) -> dict[str, list[Any]]:
        params: dict[str, list[Any]] = {}
        for i, (name, process) in enumerate(zip(self.columns, self.processors, strict=True)):
            values = [row[name] for row in rows]
            params[f"{tag}_{i}"] = values if process is None else [process(v) for v in values]
        return params


@functools.lru_cache(maxsize=64)
def array_insert(
    table: Table, columns: tuple[str, ...], dialect: Dialect, tag: str, *, replace: bool = False
) -> ArrayInsert:
    """The ArrayInsert of these columns of `table` for `dialect`, compiled once."""
    return ArrayInsert.of(table, columns, dialect, tag, replace=replace)


@functools.lru_cache(maxsize=64)
def _together(sqls: tuple[str, ...]) -> Any:
    if len(sqls) == 1:
        return text(sqls[0])
    ctes = ", ".join(f"w{i} AS ({sql})" for i, sql in enumerate(sqls[:-1]))
    return text(f"WITH {ctes} {sqls[-1]}")


class InsertPart(NamedTuple):
    """Rows for one table, all with the same keys (its columns); with `replace`, a row whose
    primary key is stored already overwrites the stored row's columns it sets."""

    table: Table
    rows: Sequence[Mapping[str, Any]]
    replace: bool = False


def insert_together(
    dialect: Dialect, parts: Sequence[InsertPart]
) -> tuple[Any, dict[str, list[Any]]]:
    """One PostgreSQL statement (and its parameters) inserting the rows of every part: the
    first ones as data-modifying WITH queries, which PostgreSQL runs exactly once each.
    A part's rows go in in their order; the parts, in no particular order between them
    (so no part may need another's rows, as a foreign key would)."""
    inserts = []
    params: dict[str, list[Any]] = {}
    for i, (table, rows, replace) in enumerate(parts):
        tag = f"t{i}"
        insert_ = array_insert(table, tuple(rows[0]), dialect, tag, replace=replace)
        inserts.append(insert_.sql)
        params.update(insert_.params(rows, tag))
    return _together(tuple(inserts)), params
