"""Group commit: the writes of many concurrent callers in one transaction, each its own answer.

A request that must be durable before it is answered pays for a transaction: BEGIN, its
statements, COMMIT, and on SQLite a thread hop for each. Under load, callers that arrive
while a transaction is running wait for the next one, which takes all of them together
(`flush(uow, items)` gets every pending item and returns one result per item), so the
cost of a transaction is shared. A lone caller is flushed at once: no timer, no added delay.

If the shared transaction fails, nothing of it was committed, and each item is retried in a
transaction of its own, so one caller's error (say a unique key taken by a twin) reaches that
caller only — unless the database is away, which every caller hears at once. `flush` must
therefore have no effects outside its unit of work until it returns (what must follow the
commit goes to `uow.on_commit`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

from leadflow.db import is_unavailable
from leadflow.uow import Transaction, UnitOfWork

T = TypeVar("T")
R = TypeVar("R")

Flush = Callable[[UnitOfWork, Sequence[T]], Awaitable[Sequence[R]]]


class GroupCommit(Generic[T, R]):
    """Queue items; one task at a time writes all queued items in one transaction."""

    def __init__(self, transaction: Transaction, flush: Flush[T, R], max_items: int = 200) -> None:
        self._transaction = transaction
        self._flush = flush
        self._max_items = max_items
        self._pending: list[tuple[T, asyncio.Future[R]]] = []
        self._writer: asyncio.Task[None] | None = None
        self.flushes = 0  # transactions run, for tests and metrics

    async def submit(self, item: T) -> R:
        """Store `item` with the next group; returns its result once committed."""
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._pending.append((item, future))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._drain(), name="group-commit")
        return await future

    async def _drain(self) -> None:
        group: list[tuple[T, asyncio.Future[R]]] = []
        try:
            while self._pending:
                group = self._pending[: self._max_items]
                del self._pending[: self._max_items]
                await self._write(group)
        except BaseException:  # cancelled at shutdown: nobody waits forever
            for _, future in group + self._pending:
                _settle(future, exc=RuntimeError("group commit stopped"))
            self._pending.clear()
            raise

    async def _write(self, group: list[tuple[T, asyncio.Future[R]]]) -> None:
        try:
            results = await self._run([item for item, _ in group])
        except Exception as exc:
            if len(group) == 1 or is_unavailable(exc):  # the database is away: all alike
                for _, future in group:
                    _settle(future, exc=exc)
                return
            for item, future in group:  # nothing was committed: each on its own
                try:
                    (result,) = await self._run([item])
                except Exception as alone:
                    _settle(future, exc=alone)
                else:
                    _settle(future, result)
            return
        for (_, future), result in zip(group, results, strict=True):
            _settle(future, result)

    async def _run(self, items: Sequence[T]) -> Sequence[R]:
        self.flushes += 1
        async with self._transaction() as uow:
            return await self._flush(uow, items)


def _settle(
    future: asyncio.Future[R], result: R | None = None, *, exc: BaseException | None = None
) -> None:
    if future.done():  # the caller went away (cancelled); its item was written or not, alone
        return
    if exc is not None:
        future.set_exception(exc)
    else:
        future.set_result(result)  # type: ignore[arg-type]
