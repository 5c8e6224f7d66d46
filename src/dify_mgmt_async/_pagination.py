"""The pager every paginated method returns: await it for one page, ``async for`` for every item."""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator, Awaitable, Callable, Generator, Hashable, Sequence
from typing import Any, Generic, Protocol, TypeVar

__all__ = ["AsyncPager"]


class _Page(Protocol):
    @property
    def data(self) -> Sequence[Any]: ...
    @property
    def limit(self) -> int: ...
    @property
    def total(self) -> int | None: ...
    @property
    def has_more(self) -> bool | None: ...


P = TypeVar("P", bound=_Page)
I_co = TypeVar("I_co", covariant=True)

MAX_STALE_PAGES = 3

FetchPage = Callable[[dict[str, Any]], Awaitable[P]]


def has_next_page(page: _Page, page_number: int, requested_limit: int | None) -> bool:
    """The contract's rule: ``has_more`` when given; else ``page * limit < total``; else a full page."""
    if isinstance(page.has_more, bool):
        return page.has_more
    limit = page.limit or requested_limit or len(page.data)
    if isinstance(page.total, int):
        return page_number * limit < page.total
    return len(page.data) >= limit


def identity(item: object) -> Hashable:
    """What makes an item the same item across pages: its ``id``, or its whole content when the id is unusable.

    An ``id`` that is missing, ``null`` or not hashable (a list, an object) falls back to the
    item's JSON, so such items are still yielded once and a server repeating them still ends.
    """
    key = getattr(item, "id", None)
    if key is not None and isinstance(key, str | int):
        return key
    to_dict = getattr(item, "to_dict", None)
    content = to_dict() if callable(to_dict) else item
    return ("content", json.dumps(content, sort_keys=True, default=repr))


def _running(method: str) -> RuntimeError:
    """What a native async generator raises when ``anext``/``aclose``/``athrow`` reaches it while it runs."""
    return RuntimeError(f"{method}(): the pager's iterator is already running (two tasks iterating one async for?)")


T_co = TypeVar("T_co", covariant=True)


class _Iterator(AsyncGenerator[T_co, None]):
    """What ``_Pages`` and ``_Items`` share: a plain object, not a native async generator, so there is no suspended
    frame to finalise. Between two ``__anext__`` calls nothing is open (each page is fetched and parsed whole), so
    a caller that stops early (``break``, an error in the loop body, a cancellation) leaves nothing behind: no
    generator for the garbage collector to close, no warning under trio. ``aclose()`` still works (it ends it).

    As with a native async generator, ``anext``, ``aclose()`` and ``athrow()`` while another task's ``anext`` is
    fetching raise RuntimeError and change nothing; an error or cancellation ends it; once closed, nothing more
    comes out (``_done`` is checked again after each fetch, so what arrives after a close is dropped)."""

    __slots__ = ("_done", "_running")

    def __init__(self) -> None:
        self._done = False
        self._running = False

    async def __anext__(self) -> T_co:
        return await self.asend(None)

    async def asend(self, value: None, /) -> T_co:
        if self._running:
            raise _running("anext")
        if self._done:
            raise StopAsyncIteration
        self._running = True
        try:
            return await self._next()
        except BaseException:
            self._close()  # ended, failed or cancelled: over, as a generator would be
            raise
        finally:
            self._running = False

    async def athrow(self, typ: Any, val: Any = None, tb: Any = None, /) -> T_co:
        if self._running:
            raise _running("athrow")
        self._close()
        raise _exception(typ, val, tb)

    async def aclose(self) -> None:
        if self._running:
            raise _running("aclose")
        self._close()

    async def _next(self) -> T_co:
        """The next value (StopAsyncIteration at the end); checks ``_done`` after each await."""
        raise NotImplementedError

    def _close(self) -> None:
        self._done = True


class _Pages(_Iterator[P]):
    """``AsyncPager.pages()``: every page, following the stop rules (see ``AsyncPager``)."""

    __slots__ = ("_fetch", "_kwargs", "_last", "_number", "_requested", "_seen", "_stale")

    def __init__(self, fetch: FetchPage[P], kwargs: dict[str, Any]) -> None:
        super().__init__()
        self._fetch = fetch
        self._kwargs = dict(kwargs)
        number = self._kwargs.get("page")
        self._number = number if isinstance(number, int) else 1
        limit = self._kwargs.get("limit")
        self._requested = limit if isinstance(limit, int) else None
        self._seen: set[object] = set()
        self._stale = 0
        self._last: P | None = None

    async def _next(self) -> P:
        last = self._last
        if last is not None:
            if not last.data or not has_next_page(last, self._number, self._requested):
                raise StopAsyncIteration
            self._number += 1
        self._kwargs["page"] = self._number
        page = await self._fetch(dict(self._kwargs))
        if self._done:
            raise StopAsyncIteration
        ids = [identity(item) for item in page.data]
        # A page of nothing new happens when items created meanwhile push seen ones down a page;
        # several in a row mean the server ignores `page`.
        self._stale = self._stale + 1 if ids and self._seen.issuperset(ids) else 0
        if self._stale >= MAX_STALE_PAGES:
            raise StopAsyncIteration
        self._seen.update(ids)
        self._last = page
        return page

    def _close(self) -> None:
        super()._close()
        self._last = None
        self._seen = set()


class _Items(_Iterator[I_co]):
    """``async for`` over an ``AsyncPager``: every item of ``_Pages``, once each."""

    __slots__ = ("_data", "_index", "_pages", "_yielded")

    def __init__(self, pages: _Pages[Any]) -> None:
        super().__init__()
        self._pages = pages
        self._data: Sequence[Any] = ()
        self._index = 0
        self._yielded: set[object] = set()

    async def _next(self) -> I_co:
        while True:
            while self._index < len(self._data):
                item: I_co = self._data[self._index]
                self._index += 1
                key = identity(item)
                if key not in self._yielded:
                    self._yielded.add(key)
                    return item
            data = (await self._pages.__anext__()).data
            if self._done:
                raise StopAsyncIteration
            self._data, self._index = data, 0

    def _close(self) -> None:
        super()._close()
        self._pages._close()
        self._data, self._index, self._yielded = (), 0, set()


def _exception(typ: Any, val: Any, tb: Any) -> BaseException:
    """What ``athrow(typ, val, tb)`` raises, with the arguments a generator's ``athrow`` takes."""
    if isinstance(typ, BaseException):
        exc = typ
    elif isinstance(val, BaseException):
        exc = val
    else:
        exc = typ() if val is None else typ(val)
    return exc.with_traceback(tb) if tb is not None else exc


class AsyncPager(Generic[P, I_co]):
    """One page when awaited; every item of every page, in order and without repeats, when iterated.

    Iteration starts at the ``page`` given (default 1) and stops on the last page, on an empty
    page, or after three pages in a row with nothing new (a server that ignores ``page`` cannot
    loop it forever; one such page, from items shifting down while paging, does not stop it).
    Items are de-duplicated by ``id`` (by content when an item has no usable id, see
    ``identity``), so an item that moves across a page boundary while paging is yielded once.
    Leaving an ``async for`` early (``break``, an error, a cancellation) needs no ``aclosing``: the
    iterators hold no suspended generator, so nothing is left for the garbage collector.
    """

    __slots__ = ("_fetch", "_kwargs")

    def __init__(self, fetch: FetchPage[P], kwargs: dict[str, Any]) -> None:
        self._fetch = fetch
        self._kwargs = kwargs

    def __await__(self) -> Generator[Any, None, P]:
        return self._fetch(dict(self._kwargs)).__await__()

    def __aiter__(self) -> AsyncGenerator[I_co, None]:
        items: _Items[I_co] = _Items(_Pages(self._fetch, self._kwargs))
        return items

    def pages(self) -> AsyncGenerator[P, None]:
        """Every page, in order, following the same stop rules as item iteration."""
        return _Pages(self._fetch, self._kwargs)
