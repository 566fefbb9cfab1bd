"""SQL spelled once for every service: advisory locks and a list of ids as one parameter."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from pydantic_core import to_json
from sqlalchemy import BindParameter, Boolean, ColumnElement, Text, bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import QueryableAttribute, Session
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import TypeDecorator, TypeEngine

# A lock is named by text (hashed by PostgreSQL's `hashtext`) or by a 64-bit number.
LockKey = str | int

# Distinct keys in ascending order: two transactions naming the same keys take them in the
# same order, so neither waits for a lock the other one waits behind.
_LOCK = text(
    "SELECT count(pg_advisory_xact_lock(h)) FROM ("
    "SELECT hashtext(k) AS h FROM unnest(CAST(:names AS text[])) AS k"
    " UNION SELECT n FROM unnest(CAST(:numbers AS bigint[])) AS n ORDER BY 1) AS s"
)
_TRY_LOCK = text(
    "SELECT pg_try_advisory_lock(coalesce(CAST(:number AS bigint), hashtext(CAST(:name AS text))))"
)


def _lock_params(dialect: Dialect, keys: Iterable[LockKey]) -> dict[str, list[Any]] | None:
    """The parameters of `_LOCK`; None where there is nothing to lock (SQLite, no keys)."""
    if dialect.name != "postgresql":
        return None  # SQLite has one writer: its transactions never overlap
    names: list[str] = []
    numbers: list[int] = []
    for key in keys:
        if isinstance(key, str):
            names.append(key)
        else:
            numbers.append(key)
    return {"names": names, "numbers": numbers} if names or numbers else None


def _dialect(conn: AsyncSession | AsyncConnection | Session | Connection) -> Dialect:
    if isinstance(conn, AsyncConnection | Connection):
        return conn.dialect
    return conn.get_bind().dialect


async def lock_keys(conn: AsyncSession | AsyncConnection, keys: Iterable[LockKey]) -> None:
    """Hold PostgreSQL advisory locks on `keys` until the transaction ends (one round trip,
    however many keys); on SQLite, nothing."""
    params = _lock_params(_dialect(conn), keys)
    if params is not None:
        await conn.execute(_LOCK, params)


def lock_keys_sync(conn: Session | Connection, keys: Iterable[LockKey]) -> None:
    """`lock_keys` for a synchronous session or connection (SQLAlchemy's commit hooks)."""
    params = _lock_params(_dialect(conn), keys)
    if params is not None:
        conn.execute(_LOCK, params)


async def try_lock_session(conn: AsyncConnection, key: LockKey) -> bool:
    """Take PostgreSQL's session-level advisory lock on `key` if no one holds it; whether it
    was taken. It goes with the connection: held until the connection closes, so a process
    that dies or loses its connection lets another take it."""
    name, number = (key, None) if isinstance(key, str) else (None, key)
    return bool(await conn.scalar(_TRY_LOCK, {"name": name, "number": number}))


class IdList(TypeDecorator[Sequence[Any]]):
    """A list of values of `item` bound as one parameter: a PostgreSQL array, or on SQLite
    JSON text of what `item` would bind for each (so a `Uuid` goes as its hex digits)."""

    impl = Text
    cache_ok = True

    def __init__(self, item: TypeEngine[Any]) -> None:
        super().__init__()
        self.item = item

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(ARRAY(self.item))
        return dialect.type_descriptor(Text())

    def process_bind_param(self, value: Sequence[Any] | None, dialect: Dialect) -> Any:
        if value is None or dialect.name == "postgresql":
            return None if value is None else list(value)
        process = self.item.dialect_impl(dialect).bind_processor(dialect)
        return to_json([v if process is None else process(v) for v in value]).decode()


def id_list(name: str, item: TypeEngine[Any]) -> BindParameter[Sequence[Any]]:
    """The parameter `name`, given as a list of `item` values on every database."""
    return bindparam(name, type_=IdList(item))


class _AnyOf(FunctionElement[bool]):
    """`column` is one of the values of an `IdList` parameter (see `any_of`)."""

    type = Boolean()
    inherit_cache = True
    name = "any_of"


def any_of(column: ColumnElement[Any] | QueryableAttribute[Any], name: str) -> ColumnElement[bool]:
    """`column` is one of the values of parameter `name`, a list of values of the column's
    type: one parameter however many values, so the statement is compiled once and its
    text does not grow with the list. An empty list matches nothing."""
    expr = column.expression if isinstance(column, QueryableAttribute) else column
    return _AnyOf(column, id_list(name, expr.type))


@compiles(_AnyOf, "postgresql")
def _any_of_postgresql(element: _AnyOf, compiler: SQLCompiler, **kw: Any) -> str:
    column, ids = (compiler.process(c, **kw) for c in element.clauses)
    return f"({column} = ANY({ids}))"


@compiles(_AnyOf)
def _any_of_sqlite(element: _AnyOf, compiler: SQLCompiler, **kw: Any) -> str:
    column, ids = (compiler.process(c, **kw) for c in element.clauses)
    # Both parts are compiled clauses (a column, a bound parameter), never input.
    return f"({column} IN (SELECT value FROM json_each({ids})))"  # noqa: S608
