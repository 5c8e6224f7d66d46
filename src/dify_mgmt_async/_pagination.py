"""The pager every paginated method returns: await it for one page, ``async for`` for every item."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Generator, Hashable, Sequence
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


class AsyncPager(Generic[P, I_co]):
    """One page when awaited; every item of every page, in order and without repeats, when iterated.

    Iteration starts at the ``page`` given (default 1) and stops on the last page, on an empty
    page, or after three pages in a row with nothing new (a server that ignores ``page`` cannot
    loop it forever; one such page, from items shifting down while paging, does not stop it).
    Items are de-duplicated by ``id`` (by content when an item has no usable id, see
    ``identity``), so an item that moves across a page boundary while paging is yielded once.
    """

    __slots__ = ("_fetch", "_kwargs")

    def __init__(self, fetch: FetchPage[P], kwargs: dict[str, Any]) -> None:
        self._fetch = fetch
        self._kwargs = kwargs

    def __await__(self) -> Generator[Any, None, P]:
        return self._fetch(dict(self._kwargs)).__await__()

    def __aiter__(self) -> AsyncIterator[I_co]:
        return self._items()

    async def pages(self) -> AsyncGenerator[P, None]:
        """Every page, in order, following the same stop rules as item iteration."""
        kwargs = dict(self._kwargs)
        number = kwargs.get("page")
        number = number if isinstance(number, int) else 1
        limit = kwargs.get("limit")
        requested = limit if isinstance(limit, int) else None
        seen: set[object] = set()
        stale = 0
        while True:
            kwargs["page"] = number
            page = await self._fetch(dict(kwargs))
            ids = [identity(item) for item in page.data]
            # A page of nothing new happens when items created meanwhile push seen ones down a page;
            # several in a row mean the server ignores `page`.
            stale = stale + 1 if ids and seen.issuperset(ids) else 0
            if stale >= MAX_STALE_PAGES:
                return
            seen.update(ids)
            yield page
            if not page.data or not has_next_page(page, number, requested):
                return
            number += 1

    async def _items(self) -> AsyncIterator[I_co]:
        yielded: set[object] = set()
        async with contextlib.aclosing(self.pages()) as pages:  # closed when the caller stops early, not by GC
            async for page in pages:
                for item in page.data:
                    key = identity(item)
                    if key in yielded:
                        continue
                    yielded.add(key)
                    yield item
