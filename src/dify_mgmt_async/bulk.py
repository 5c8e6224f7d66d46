"""Bulk work: run one async call per item with bounded concurrency, keeping every result.

    from dify_mgmt_async import bulk

    results = await bulk.map(lambda n: dify.datasets.create(name=n), names, concurrency=32)
    failed = [r for r in results if isinstance(r, Exception)]

The client's own limits (gate, adaptive concurrency, retry budget) still apply underneath;
``concurrency`` only bounds how many of *these* calls are in flight.
"""

from __future__ import annotations

import builtins
import inspect
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Generator, Iterable, Iterator, Sized
from typing import TypeVar, cast

import anyio

from . import _validation as _v
from ._constants import DEFAULT_MAX_CONCURRENCY
from ._errors import InvalidArgumentError

__all__ = ["map"]

T = TypeVar("T")
R = TypeVar("R")

DEFAULT_CONCURRENCY = DEFAULT_MAX_CONCURRENCY  # as many as one client lets in flight by default


def _source(items: Iterable[T] | AsyncIterable[T]) -> Iterator[T] | AsyncIterator[T]:
    """The iterator map pulls from: ``aiter(items)`` for an async iterable, else ``iter(items)``."""
    if isinstance(items, AsyncIterable):
        return aiter(items)
    try:
        return iter(items)
    except TypeError:
        if isinstance(items, Iterable):
            raise  # its own __iter__ failed: as itself
        raise InvalidArgumentError(f"items: must be an iterable or an async iterable (got {items!r:.80})") from None


async def _close(source: object, asynchronous: bool) -> None:
    """End the input: ``aclose()`` an async iterator that has one (an async generator, say), ``close()`` a
    generator. Other sync iterators (a file, a list's iterator) are left as they are."""
    if asynchronous:
        aclose = getattr(source, "aclose", None)
        if callable(aclose):
            await aclose()
    elif isinstance(source, Generator):
        source.close()


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
    is called after each item (``total`` is ``None`` for an unsized iterable); it is called, not
    awaited, so an async function there (or a non-callable) is ``InvalidArgumentError`` before anything runs.

    ``fn`` must return an awaitable (an async function, a lambda returning a coroutine, a partial of
    an async function...): the first call that returns is checked before ``fn`` is called again, and a
    non-awaitable there raises ``InvalidArgumentError`` (a later one is that item's ``TypeError``).
    When the map ends, the input is closed: ``aclose()`` of an async iterator that has one,
    ``close()`` of a generator, so a generator stopped early (``fail_fast``, an error from
    ``on_progress`` or from the input itself, a cancellation) runs its ``finally`` there and then.
    """
    limit = DEFAULT_CONCURRENCY if concurrency is None else concurrency
    if type(limit) is not int or limit < 1:
        raise InvalidArgumentError(f"concurrency: must be an integer >= 1 (got {concurrency!r})")
    if not callable(fn):
        raise InvalidArgumentError(f"fn: must be an async function or another callable (got {fn!r:.80})")
    _v.callback("on_progress", on_progress, called_as="on_progress(done, total)", when="after each item")
    source = _source(items)
    asynchronous = isinstance(items, AsyncIterable)
    total = len(items) if isinstance(items, Sized) else None
    results: dict[int, R | Exception] = {}
    lock = anyio.Lock()
    counter = 0
    done = 0
    checked = False  # a call of fn has returned an awaitable
    refused = False  # one returned something else: fn is not async, nothing more is called

    async def next_item() -> tuple[int, T] | None:
        nonlocal counter
        async with lock:
            if refused:
                return None
            try:
                if asynchronous:
                    item = await anext(cast("AsyncIterator[T]", source))
                else:
                    item = next(cast("Iterator[T]", source))
            except (StopIteration, StopAsyncIteration):
                return None
            counter += 1
            return counter - 1, item

    def start(item: T) -> Awaitable[R] | Exception:
        """``fn(item)``'s awaitable, or the exception calling it raised. Nothing awaits between a call and
        its check, so the first call to return is checked before any other call starts."""
        nonlocal checked, refused
        try:
            call = fn(item)
        except Exception as exc:
            return exc
        if inspect.isawaitable(call):
            checked = True
            return call
        if not checked:
            refused = True
            raise InvalidArgumentError(
                f"fn: must be an async function or return an awaitable (got {fn!r:.80}, which returned {call!r:.80})"
            )
        return TypeError(f"fn returned {call!r:.80} for item {item!r:.80}, not an awaitable")

    async def worker() -> None:
        nonlocal done
        while (got := await next_item()) is not None and not refused:
            index, item = got
            call = start(item)
            try:
                if isinstance(call, Exception):
                    raise call
                results[index] = await call
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
    finally:
        await _close(source, asynchronous)
    return [results[i] for i in range(counter)]
