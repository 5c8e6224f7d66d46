"""bulk.map's arguments and its input's end, on asyncio and trio (the rest of bulk.map is in test_retries.py)."""

from __future__ import annotations

import functools
import io
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable, Generator, Iterator
from typing import Any

import anyio
import anyio.lowlevel
import pytest

from dify_mgmt_async import InvalidArgumentError, bulk


class Input:
    """The caller's input in one of the shapes map takes, each recording when its cleanup ran."""

    def __init__(self, kind: str, n: int = 100, fail_at: int | None = None) -> None:
        self.kind, self.n, self.fail_at = kind, n, fail_at
        self.closed: list[str] = []
        self.pulled = 0

    def _item(self, i: int) -> int:
        if i == self.fail_at:
            raise LookupError(f"row {i} is unreadable")
        self.pulled += 1
        return i

    async def agen(self) -> AsyncIterator[int]:
        try:
            for i in range(self.n):
                await anyio.lowlevel.checkpoint()
                yield self._item(i)
        finally:
            self.closed.append("finally")

    def gen(self) -> Generator[int, None, None]:
        try:
            for i in range(self.n):
                yield self._item(i)
        finally:
            self.closed.append("finally")

    def make(self) -> Any:
        if self.kind == "async generator":
            return self.agen()
        if self.kind == "sync generator":
            return self.gen()
        return AsyncSource(self)


class AsyncSource:
    """An async iterator that is not a generator but has ``aclose()`` (the ``contextlib.aclosing`` protocol)."""

    def __init__(self, owner: Input) -> None:
        self.owner, self.i = owner, 0

    def __aiter__(self) -> AsyncSource:
        return self

    async def __anext__(self) -> int:
        if self.i >= self.owner.n:
            raise StopAsyncIteration
        self.i += 1
        return self.owner._item(self.i - 1)

    async def aclose(self) -> None:
        self.owner.closed.append("aclose")


KINDS = ["async generator", "sync generator", "async iterator with aclose"]


@pytest.mark.anyio
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("stop", ["fail_fast", "on_progress raises", "the input raises", "cancelled"])
async def test_input_is_closed_when_map_stops_early(kind: str, stop: str) -> None:
    """However the map stops early, the caller's input is closed before map raises: an async generator's or a
    generator's ``finally`` has run, an async iterator's ``aclose()`` has been awaited, exactly once, with no
    more items pulled than the workers had taken, and nothing left to the garbage collector (no warning)."""
    source = Input(kind, fail_at=3 if stop == "the input raises" else None)
    scope = anyio.CancelScope()

    async def fn(x: int) -> int:
        await anyio.lowlevel.checkpoint()
        if x == 1 and stop == "fail_fast":
            raise ValueError(x)
        if x == 1 and stop == "cancelled":
            scope.cancel()
            await anyio.sleep(1)
        return x

    def progress(done: int, total: int | None) -> None:
        if stop == "on_progress raises":
            raise RuntimeError("the progress bar broke")

    expected = {"fail_fast": ValueError, "on_progress raises": RuntimeError, "the input raises": LookupError}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if stop == "cancelled":
            with scope:
                await bulk.map(fn, source.make(), concurrency=2)
            assert scope.cancelled_caught
        else:
            with pytest.raises(expected[stop]):
                await bulk.map(fn, source.make(), concurrency=2, fail_fast=stop == "fail_fast", on_progress=progress)
        assert source.closed == ["aclose" if kind == "async iterator with aclose" else "finally"]
    assert [str(w.message) for w in caught] == []
    assert source.pulled <= 4


@pytest.mark.anyio
@pytest.mark.parametrize("kind", KINDS)
async def test_input_run_to_the_end_is_closed_once(kind: str) -> None:
    """A map that takes every item ends the input the same way (a no-op for an exhausted generator)."""
    source = Input(kind, n=10)

    async def fn(x: int) -> int:
        return x * 2

    assert await bulk.map(fn, source.make(), concurrency=3) == [x * 2 for x in range(10)]
    assert source.closed == ["aclose" if kind == "async iterator with aclose" else "finally"]


@pytest.mark.anyio
async def test_a_sync_iterator_that_is_not_a_generator_is_left_open() -> None:
    """Only generators and async iterators are closed: a file iterated line by line stays the caller's."""
    lines = io.StringIO("a\nb\nc\n")

    async def fn(line: str) -> str:
        raise ValueError(line)

    with pytest.raises(ValueError, match=r"^a\n$"):
        await bulk.map(fn, lines, concurrency=1, fail_fast=True)
    assert not lines.closed
    assert lines.readline() == "b\n"


@pytest.mark.anyio
@pytest.mark.parametrize("concurrency", [1, 4])
async def test_a_function_that_is_not_async_is_refused_after_its_first_call(concurrency: int) -> None:
    """A plain function (it returns a value, not an awaitable) is refused with InvalidArgumentError at its first
    call: no other item is taken, fn runs once (no side effects for the rest), and the input is closed."""
    calls: list[int] = []
    source = Input("sync generator", n=10)

    def fn(x: int) -> int:
        calls.append(x)
        return x * 2

    with pytest.raises(InvalidArgumentError) as caught:
        await bulk.map(fn, source.make(), concurrency=concurrency)  # type: ignore[arg-type]
    assert (
        str(caught.value) == f"fn: must be an async function or return an awaitable (got {fn!r:.80}, which returned 0)"
    )
    assert calls == [0]
    assert (source.pulled == 1) if concurrency == 1 else (source.pulled <= concurrency)
    assert source.closed == ["finally"]


@pytest.mark.anyio
async def test_a_function_that_is_not_async_is_refused_at_the_first_call_that_returns() -> None:
    """A call that raises says nothing about fn (it is that item's result): the first call that returns is the one
    checked, and fn is not called again once it returned a non-awaitable."""
    calls: list[int] = []

    def fn(x: int) -> int:
        calls.append(x)
        if x < 2:
            raise KeyError(x)
        return x

    with pytest.raises(InvalidArgumentError, match=r"^fn: must be an async function or return an awaitable \(got "):
        await bulk.map(fn, range(10), concurrency=1)  # type: ignore[arg-type]
    assert calls == [0, 1, 2]


class AsyncCallable:
    async def __call__(self, x: int) -> int:
        await anyio.lowlevel.checkpoint()
        return x + 100


class Awaitable7:
    def __await__(self) -> Generator[Any, None, int]:
        yield from anyio.lowlevel.checkpoint().__await__()
        return 7


async def add(x: int, y: int) -> int:
    await anyio.lowlevel.checkpoint()
    return x + y


async def double(x: int) -> int:
    await anyio.lowlevel.checkpoint()
    return x * 2


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("fn", "expected"),
    [
        (double, [0, 2, 4]),
        (functools.partial(add, 10), [10, 11, 12]),
        (functools.partial(add, y=5), [5, 6, 7]),
        (lambda x: add(x, 1), [1, 2, 3]),  # README's idiom: a plain lambda returning a coroutine
        (AsyncCallable(), [100, 101, 102]),  # inspect.iscoroutinefunction does not see this one
        (lambda x: Awaitable7(), [7, 7, 7]),  # an awaitable that is not a coroutine
    ],
    ids=[
        "async def",
        "partial of async def",
        "partial with a keyword",
        "lambda returning a coroutine",
        "async __call__",
        "__await__",
    ],
)
async def test_every_kind_of_async_callable_is_accepted(
    fn: Callable[[int], Awaitable[int]], expected: list[int]
) -> None:
    """Whatever returns an awaitable is accepted, whether or not ``inspect.iscoroutinefunction`` recognises it."""
    assert await bulk.map(fn, range(3), concurrency=2) == expected


@pytest.mark.anyio
async def test_a_later_call_returning_a_non_awaitable_is_that_item_s_type_error() -> None:
    """Once fn has returned an awaitable it is async: a later call that does not is kept in place as a TypeError
    (one item's failure, like an exception), and the other items still run."""

    def fn(x: int) -> Any:
        return "oops" if x == 2 else add(x, 0)

    results = await bulk.map(fn, range(4), concurrency=1)
    assert results[:2] == [0, 1] and results[3] == 3
    assert type(results[2]) is TypeError
    assert str(results[2]) == "fn returned 'oops' for item 2, not an awaitable"


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("fn", "items", "message"),
    [
        (double, 5, "items: must be an iterable or an async iterable (got 5)"),
        (double, None, "items: must be an iterable or an async iterable (got None)"),
        (None, [1], "fn: must be an async function or another callable (got None)"),
        ("print", [1], "fn: must be an async function or another callable (got 'print')"),
    ],
)
async def test_arguments_that_cannot_work_are_refused_before_any_call(fn: Any, items: Any, message: str) -> None:
    """A non-iterable ``items`` or a non-callable ``fn`` is InvalidArgumentError naming it, not a raw TypeError."""
    with pytest.raises(InvalidArgumentError) as caught:
        await bulk.map(fn, items)
    assert str(caught.value) == message


@pytest.mark.anyio
async def test_an_iterable_whose_own_iter_fails_raises_that_error() -> None:
    """An iterable whose ``__iter__`` raises TypeError itself is not called non-iterable: its error comes out."""

    class Broken:
        def __iter__(self) -> Iterator[int]:
            raise TypeError("broken on purpose")

    with pytest.raises(TypeError, match=r"^broken on purpose$"):
        await bulk.map(double, Broken())


async def async_progress(done: int, total: int | None) -> None:
    await anyio.lowlevel.checkpoint()


class AsyncProgress:
    async def __call__(self, done: int, total: int | None) -> None:
        await anyio.lowlevel.checkpoint()


NOT_AWAITED = (
    "on_progress: must be a plain function; it is called, not awaited, after each item, so an async function would "
    "never run (got {!r:.80})"
)


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("on_progress", "message"),
    [
        (True, "on_progress: must be a function called as on_progress(done, total) (got True)"),
        ("print", "on_progress: must be a function called as on_progress(done, total) (got 'print')"),
        (async_progress, NOT_AWAITED.format(async_progress)),
        (functools.partial(async_progress), NOT_AWAITED.format(functools.partial(async_progress))),
        (AsyncProgress(), None),  # an object whose __call__ is async (its repr has an address: formatted below)
    ],
    ids=["True", "a string", "async def", "partial of async def", "async __call__"],
)
async def test_an_on_progress_that_cannot_work_is_refused_before_anything_runs(
    on_progress: Any, message: str | None
) -> None:
    """``on_progress`` is called, not awaited, after each item: a non-callable (which failed with a raw TypeError
    only after fn ran) or an async function (whose coroutines were dropped, never run) is InvalidArgumentError
    before fn is called or the input is touched."""
    calls: list[int] = []
    source = Input("sync generator", n=3)

    async def fn(x: int) -> int:
        calls.append(x)  # (stands for a request sent)
        return x

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a coroutine never awaited would be a RuntimeWarning: an error here
        with pytest.raises(InvalidArgumentError) as caught:
            await bulk.map(fn, source.make(), on_progress=on_progress)
    assert str(caught.value) == (NOT_AWAITED.format(on_progress) if message is None else message)
    assert (calls, source.pulled) == ([], 0)


@pytest.mark.anyio
async def test_a_plain_on_progress_is_called_after_each_item() -> None:
    """A plain function, a lambda or a callable object: called as ``on_progress(done, total)`` after each item."""
    seen: list[tuple[int, int | None]] = []

    class Recorder:
        def __call__(self, done: int, total: int | None) -> None:
            seen.append((done, total))

    assert await bulk.map(double, [1, 2, 3], concurrency=1, on_progress=Recorder()) == [2, 4, 6]
    assert await bulk.map(double, iter([1, 2]), concurrency=1, on_progress=lambda d, t: seen.append((d, t))) == [2, 4]
    assert seen == [(1, 3), (2, 3), (3, 3), (1, None), (2, None)]
