"""Bulk work: run one async call per item with bounded concurrency, keeping every result.

    from dify_mgmt_async import bulk

    results = await bulk.map(lambda n: dify.datasets.create(name=n), names, concurrency=32)
    failed = [r for r in results if isinstance(r, Exception)]

The client's own limits (gate, adaptive concurrency, retry budget) still apply underneath;
``concurrency`` only bounds how many of *these* calls are in flight.
"""

from __future__ import annotations

import builtins
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Iterable, Sized
from typing import TypeVar

import anyio

from ._constants import DEFAULT_MAX_CONCURRENCY
from ._errors import InvalidArgumentError

__all__ = ["map"]

T = TypeVar("T")
R = TypeVar("R")

DEFAULT_CONCURRENCY = DEFAULT_MAX_CONCURRENCY  # as many as one client lets in flight by default


async def _aiter(items: Iterable[T] | AsyncIterable[T]) -> AsyncIterator[T]:
    if isinstance(items, AsyncIterable):
        async for item in items:
            yield item
    else:
        for item in items:
            yield item


async def map(
    fn: Callable[[T], Awaitable[R]],
    items: Iterable[T] | AsyncIterable[T],
    *,
    concurrency: int | None = None,
    on_progress: Callable[[int, int | None], object] | None = None,
    fail_fast: bool = False,
) -> builtins.list[R | Exception]:
    """Call ``fn(item)`` for every item, at most ``concurrency`` at a time; results in input order.

    Items are pulled lazily (a generator of 20,000 paths is never materialised). Each result is
    the value or the ``Exception`` the call raised; one failure does not stop the others unless
    ``fail_fast``, which cancels the rest and raises the first error. ``on_progress(done, total)``
    is called after each item (``total`` is ``None`` for an unsized iterable).
    """
    limit = DEFAULT_CONCURRENCY if concurrency is None else concurrency
    if type(limit) is not int or limit < 1:
        raise InvalidArgumentError(f"concurrency: must be an integer >= 1 (got {concurrency!r})")
    total = len(items) if isinstance(items, Sized) else None
    results: dict[int, R | Exception] = {}
    source = _aiter(items)
    lock = anyio.Lock()
    counter = 0
    done = 0

    async def next_item() -> tuple[int, T] | None:
        nonlocal counter
        async with lock:
            try:
                item = await source.__anext__()
            except StopAsyncIteration:
                return None
            counter += 1
            return counter - 1, item

    async def worker() -> None:
        nonlocal done
        while (got := await next_item()) is not None:
            index, item = got
            try:
                results[index] = await fn(item)
            except Exception as exc:
                if fail_fast:
                    raise
                results[index] = exc
            done += 1
            if on_progress is not None:
                on_progress(done, total)

    try:
        async with anyio.create_task_group() as tg:
            for _ in range(limit if total is None else min(limit, max(total, 1))):
                tg.start_soon(worker)
    except BaseExceptionGroup as group:
        # What stopped it, as itself: ``fn``'s error (fail_fast), the input iterator's or on_progress's.
        first = next((exc for exc in group.exceptions if isinstance(exc, Exception)), None)
        if first is not None:
            raise first from None
        raise
    return [results[i] for i in range(counter)]
