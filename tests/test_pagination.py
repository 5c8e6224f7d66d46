"""The pager: await for one page, ``async for`` over every item, both envelopes, and its stop rules."""

from __future__ import annotations

import contextlib
import gc
import sys
import types
import warnings
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import anyio
import anyio.lowlevel
import httpx
import pytest

import dify_mgmt_async
from dify_mgmt_async import App, AppPage, AsyncPager, Document
from tests.conftest import APP, make_client

KEY_FIELDS = {"last_used_at": None, "created_at": 1, "expires_at": None}  # ApiKey fields a Dataset may carry too


def _app(n: int) -> dict[str, Any]:
    return {
        "id": f"a{n}",
        "name": f"app {n}",
        "mode": "chat",
        "icon": None,
        "icon_background": None,
        "description": None,
        "created_at": 1,
    }


class Server:
    """Records requests and answers each from ``respond(page, limit)``."""

    def __init__(self, respond: Callable[[int, int], dict[str, Any]]) -> None:
        self.respond = respond
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if len(self.requests) > 50:
            raise AssertionError("the pager does not stop")
        page = int(request.url.params.get("page", "1"))
        limit = int(request.url.params.get("limit", "20"))
        return httpx.Response(200, json=self.respond(page, limit))

    @property
    def pages(self) -> list[str | None]:
        return [r.url.params.get("page") for r in self.requests]


def _total_envelope(total: int) -> Callable[[int, int], dict[str, Any]]:
    def respond(page: int, limit: int) -> dict[str, Any]:
        start = (page - 1) * limit
        items = [_app(n) for n in range(start, min(start + limit, total))]
        return {"data": items, "total": total, "page": page, "limit": limit}

    return respond


def _cursor_envelope(total: int) -> Callable[[int, int], dict[str, Any]]:
    def respond(page: int, limit: int) -> dict[str, Any]:
        start = (page - 1) * limit
        items = [_app(n) for n in range(start, min(start + limit, total))]
        return {"data": items, "limit": limit, "has_more": start + limit < total}

    return respond


@pytest.mark.anyio
@pytest.mark.parametrize(("total", "limit", "requests"), [(25, 10, 3), (20, 10, 2), (1, 100, 1), (0, 10, 1)])
async def test_total_envelope_pages_until_page_times_limit_reaches_total(total: int, limit: int, requests: int) -> None:
    """{data,total,page,limit}: paging continues until page*limit >= total, every item once in order."""
    server = Server(_total_envelope(total))
    async with make_client(server, max_retries=0) as dify:
        items = [app async for app in dify.apps.list(limit=limit)]
    assert [a.id for a in items] == [f"a{n}" for n in range(total)]
    assert all(type(a) is App for a in items)
    assert server.pages == [str(n) for n in range(1, requests + 1)]
    assert {r.url.params["limit"] for r in server.requests} == {str(limit)}


@pytest.mark.anyio
@pytest.mark.parametrize(("total", "limit", "requests"), [(25, 10, 3), (20, 10, 2), (3, 100, 1)])
async def test_cursor_envelope_pages_while_has_more(total: int, limit: int, requests: int) -> None:
    """{data,limit,has_more}: paging continues while has_more is true."""
    server = Server(_cursor_envelope(total))
    async with make_client(server, max_retries=0) as dify:
        items = [app async for app in dify.apps.list(limit=limit)]
    assert [a.id for a in items] == [f"a{n}" for n in range(total)]
    assert len(server.requests) == requests


@pytest.mark.anyio
async def test_has_more_false_stops_even_when_total_says_more() -> None:
    """When has_more is given it decides, even if total claims more items."""
    server = Server(lambda page, limit: {"data": [_app(page)], "total": 100, "limit": 1, "has_more": False})
    async with make_client(server, max_retries=0) as dify:
        items = [a async for a in dify.apps.list(limit=1)]
    assert len(items) == 1 and len(server.requests) == 1


@pytest.mark.anyio
async def test_empty_page_stops() -> None:
    """An empty page stops iteration, even when has_more says otherwise."""
    server = Server(lambda page, limit: {"data": [_app(1)] if page == 1 else [], "limit": 1, "has_more": True})
    async with make_client(server, max_retries=0) as dify:
        items = [a async for a in dify.apps.list(limit=1)]
    assert [a.id for a in items] == ["a1"]
    assert server.pages == ["1", "2"]


@pytest.mark.anyio
async def test_repeated_item_across_pages_is_yielded_once() -> None:
    """An item a server repeats on the next page (it shifted while paging) is yielded once."""
    pages = {1: ["a1", "a2"], 2: ["a2", "a3"], 3: ["a4"]}

    def respond(page: int, limit: int) -> dict[str, Any]:
        data = [
            {
                "id": i,
                "name": i,
                "mode": "chat",
                "icon": None,
                "icon_background": None,
                "description": None,
                "created_at": 1,
            }
            for i in pages[page]
        ]
        return {"data": data, "total": 5, "page": page, "limit": 2}

    server = Server(respond)
    async with make_client(server, max_retries=0) as dify:
        ids = [a.id async for a in dify.apps.list(limit=2)]
    assert ids == ["a1", "a2", "a3", "a4"]


@pytest.mark.anyio
async def test_server_ignoring_page_does_not_loop_forever() -> None:
    """A server that answers page 1 to every request (with has_more true) is not paged forever."""
    server = Server(lambda page, limit: {"data": [_app(1), _app(2)], "limit": 2, "has_more": True})
    async with make_client(server, max_retries=0) as dify:
        ids = [a.id async for a in dify.apps.list(limit=2)]
    assert ids == ["a1", "a2"]
    assert len(server.requests) == 4  # page 1, then three pages of nothing new


@pytest.mark.anyio
async def test_items_shifting_down_a_page_are_not_lost() -> None:
    """Two apps created while paging push seen ones onto page 2: paging goes on and yields every app once."""
    newest_first = ["a", "b", "c", "d", "e", "f"]

    def respond(page: int, limit: int) -> dict[str, Any]:
        listing = (["x", "y"] if page > 1 else []) + newest_first  # x, y created after page 1 was read
        chunk = listing[(page - 1) * limit : page * limit]
        data = [
            {
                "id": i,
                "name": i,
                "mode": "chat",
                "icon": None,
                "icon_background": None,
                "description": None,
                "created_at": 1,
            }
            for i in chunk
        ]
        return {"data": data, "limit": limit, "has_more": page * limit < len(listing)}

    server = Server(respond)
    async with make_client(server, max_retries=0) as dify:
        ids = [a.id async for a in dify.apps.list(limit=2)]
    assert ids == ["a", "b", "c", "d", "e", "f"]


@pytest.mark.anyio
async def test_awaiting_the_pager_gives_one_page() -> None:
    """`await dify.apps.list(...)` sends one request and returns the page model."""
    server = Server(_total_envelope(25))
    async with make_client(server, max_retries=0) as dify:
        pager = dify.apps.list(page=2, limit=10, mode="chat")
        assert isinstance(pager, AsyncPager)
        page = await pager
    assert type(page) is AppPage
    assert [a.id for a in page.data] == [f"a{n}" for n in range(10, 20)]
    assert (page.total, page.page, page.limit) == (25, 2, 10)
    assert len(server.requests) == 1
    assert dict(server.requests[0].url.params) == {"page": "2", "limit": "10", "mode": "chat"}


@pytest.mark.anyio
async def test_iteration_starts_at_given_page() -> None:
    """`async for` over `list(page=2)` starts at page 2 and keeps the other filters on every request."""
    server = Server(_total_envelope(25))
    async with make_client(server, max_retries=0) as dify:
        ids = [a.id async for a in dify.apps.list(page=2, limit=10, name="app")]
    assert ids == [f"a{n}" for n in range(10, 25)]
    assert server.pages == ["2", "3"]
    assert all(r.url.params["name"] == "app" for r in server.requests)


@pytest.mark.anyio
async def test_pages_iterates_page_models() -> None:
    """`pager.pages()` yields each page model following the same rules."""
    server = Server(_cursor_envelope(5))
    async with make_client(server, max_retries=0) as dify:
        pages = [p async for p in dify.apps.list(limit=2).pages()]
    assert [len(p.data) for p in pages] == [2, 2, 1]
    assert all(type(p) is AppPage for p in pages)


@pytest.mark.anyio
async def test_list_documents_paginates_with_path_param() -> None:
    """datasets.list_documents pages through the dataset's documents, keeping the path and status."""

    def respond(page: int, limit: int) -> dict[str, Any]:
        data = [{"id": f"doc{page}", "name": "x", "created_at": 1, "status": "enabled", "indexing_status": "completed"}]
        data[0]["word_count"] = 3
        return {"data": data, "total": 2, "page": page, "limit": 1}

    server = Server(respond)
    async with make_client(server, max_retries=0) as dify:
        docs = [d async for d in dify.datasets.list_documents("d1", limit=1, status="completed")]
    assert [d.id for d in docs] == ["doc1", "doc2"]
    assert all(type(d) is Document for d in docs)
    assert {r.url.path for r in server.requests} == {"/api/management/datasets/d1/documents"}
    assert {r.url.params["status"] for r in server.requests} == {"completed"}


@pytest.mark.anyio
@pytest.mark.parametrize("namespace", ["datasets", "api_keys"])
async def test_other_lists_paginate(namespace: str) -> None:
    """datasets.list and api_keys.list iterate across pages too."""
    server = Server(
        lambda page, limit: {
            "data": [{"id": f"x{page}", "name": "n", **KEY_FIELDS}],
            "total": 3,
            "page": page,
            "limit": 1,
        }
    )
    async with make_client(server, max_retries=0) as dify:
        items = [i async for i in getattr(dify, namespace).list(limit=1)]
    assert [i.id for i in items] == ["x1", "x2", "x3"]


@pytest.mark.anyio
async def test_error_while_paging_propagates() -> None:
    """A failing page raises its APIStatusError out of the `async for`."""
    from dify_mgmt_async import InternalServerError

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.params.get("page") == "2":
            return httpx.Response(500, json={"error_code": "internal_server_error", "error": "boom"})
        return httpx.Response(200, json={"data": [_app(1)], "limit": 1, "has_more": True})

    seen: list[str] = []

    async def collect(pager: AsyncPager[AppPage, App]) -> None:
        async for app in pager:
            seen.append(app.id)

    async with make_client(handler, max_retries=0) as dify:
        with pytest.raises(InternalServerError):
            await collect(dify.apps.list(limit=1))
    assert seen == ["a1"]


@pytest.mark.anyio
async def test_stopping_early_closes_the_pages_the_items_came_from() -> None:
    """Breaking out of ``async for`` over the items inside ``aclosing`` (still accepted, no longer needed: see
    the next tests) leaves nothing open either. Left to the garbage collector, an unfinished async generator
    makes trio warn that it was collected before it was exhausted (an error here, under ``filterwarnings = error``)."""

    def pages(request: httpx.Request) -> httpx.Response:
        n = int(request.url.params.get("page", "1"))
        data = [{**APP, "id": f"a{n}-{i}"} for i in range(2)]
        return httpx.Response(200, json={"data": data, "page": n, "limit": 2, "total": 100})

    got = []
    async with make_client(pages) as dify, contextlib.aclosing(aiter(dify.apps.list(limit=2))) as items:
        async for app in items:
            got.append(app.id)
            if len(got) == 3:
                break
    gc.collect()
    assert got == ["a1-0", "a1-1", "a2-0"]


PACKAGE = str(Path(dify_mgmt_async.__file__).parent)


@contextlib.contextmanager
def sdk_async_generators() -> Iterator[list[types.AsyncGeneratorType[Any, Any]]]:
    """Every native async generator of the SDK's own code first iterated inside the block (held, so none is
    collected: one left suspended stays visible as unfinished, ``ag_frame`` not None)."""
    hooks = sys.get_asyncgen_hooks()
    started: list[types.AsyncGeneratorType[Any, Any]] = []

    def firstiter(agen: AsyncGenerator[Any, Any]) -> None:
        if isinstance(agen, types.AsyncGeneratorType) and agen.ag_code.co_filename.startswith(PACKAGE):
            started.append(agen)
        if hooks.firstiter is not None:
            hooks.firstiter(agen)

    sys.set_asyncgen_hooks(firstiter=firstiter, finalizer=hooks.finalizer)
    try:
        yield started
    finally:
        sys.set_asyncgen_hooks(*hooks)


def _endless(page: int, limit: int) -> dict[str, Any]:
    return {"data": [{**APP, "id": f"a{page}-{i}"} for i in range(2)], "limit": 2, "has_more": True}


@pytest.mark.anyio
@pytest.mark.parametrize("what", ["items", "pages"])
@pytest.mark.parametrize("how", ["break", "error in the body", "cancelled in the body", "cancelled fetching"])
async def test_leaving_async_for_early_leaves_nothing_open(what: str, how: str) -> None:
    """README's ``async for a in dify.apps.list(): break`` (and an error or a cancellation in the loop body, or
    a cancellation while the next page is fetched), over the items or over ``pages()``: when the loop is left,
    no async generator the pager started is still suspended, and nothing warns (trio's ResourceWarning "was
    garbage collected before it had been exhausted" before the fix), with no ``aclosing`` around it."""
    server = Server(_endless)

    async def handler(request: httpx.Request) -> httpx.Response:
        response = server(request)
        await anyio.lowlevel.checkpoint()  # a checkpoint while a page is fetched
        return response

    got: list[str] = []

    async def loop(scope: anyio.CancelScope) -> None:
        pager = dify.apps.list(limit=2)
        source: AsyncIterator[Any] = pager.pages() if what == "pages" else aiter(pager)
        async for x in source:
            got.append(x.data[0].id if what == "pages" else x.id)
            if how == "break":
                break
            if how == "error in the body":
                raise LookupError("body")
            if how == "cancelled in the body":
                scope.cancel()
                await anyio.lowlevel.checkpoint()
            if how == "cancelled fetching" and len(got) == (1 if what == "pages" else 2):
                scope.cancel()  # no checkpoint here: the Cancelled comes out of fetching the next page

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        async with make_client(httpx.MockTransport(handler), max_retries=0) as dify:
            with sdk_async_generators() as started:
                with anyio.CancelScope() as scope, contextlib.suppress(LookupError):
                    await loop(scope)
                assert [g for g in started if g.ag_frame is not None] == []
            started.clear()
            gc.collect()
            await anyio.lowlevel.checkpoint()
        gc.collect()
    assert [str(w.message) for w in caught] == []
    assert got == (["a1-0", "a1-1"] if how == "cancelled fetching" and what == "items" else ["a1-0"])
    assert server.pages == (["1", "2"] if how == "cancelled fetching" else ["1"])


@pytest.mark.anyio
@pytest.mark.parametrize("what", ["items", "pages"])
async def test_aclose_and_athrow_end_iteration_without_another_request(what: str) -> None:
    """The iterators still take ``aclose()`` and ``athrow()`` as async generators do: each ends it, ``athrow``
    raises what it was given, and the next ``__anext__`` is StopAsyncIteration without a request."""
    server = Server(_endless)
    async with make_client(server, max_retries=0) as dify:
        pager = dify.apps.list(limit=2)
        first = pager.pages() if what == "pages" else aiter(pager)
        await anext(first)
        await first.aclose()
        with pytest.raises(StopAsyncIteration):
            await anext(first)
        second = pager.pages() if what == "pages" else aiter(pager)
        await anext(second)
        with pytest.raises(KeyError, match="thrown"):
            await second.athrow(KeyError("thrown"))
        with pytest.raises(StopAsyncIteration):
            await anext(second)
    assert server.pages == ["1", "1"]


@pytest.mark.anyio
@pytest.mark.parametrize("what", ["items", "pages"])
async def test_a_second_task_calling_anext_while_a_page_is_fetched_gets_runtime_error(what: str) -> None:
    """As with the async generators these iterators replace: ``anext`` while another task's ``anext`` is awaiting a
    page raises RuntimeError, and the first one and the iteration after it go on undisturbed."""
    server = Server(_endless)
    entered, release = anyio.Event(), anyio.Event()

    async def handler(request: httpx.Request) -> httpx.Response:
        entered.set()
        await release.wait()
        return server(request)

    got: list[Any] = []
    async with make_client(httpx.MockTransport(handler), max_retries=0) as dify:
        pager = dify.apps.list(limit=2)
        it: AsyncIterator[Any] = pager.pages() if what == "pages" else aiter(pager)

        async def first() -> None:
            got.append(await anext(it))

        async with anyio.create_task_group() as tg:
            tg.start_soon(first)
            await entered.wait()
            with pytest.raises(RuntimeError, match="already running"):
                await anext(it)
            release.set()
        got.append(await anext(it))
    ids = [p.data[0].id for p in got] if what == "pages" else [a.id for a in got]
    assert ids == (["a1-0", "a2-0"] if what == "pages" else ["a1-0", "a1-1"])


@pytest.mark.anyio
@pytest.mark.parametrize("what", ["items", "pages"])
async def test_aclose_or_athrow_while_another_task_fetches_is_runtime_error_and_changes_nothing(what: str) -> None:
    """As a native async generator does: ``aclose()`` and ``athrow()`` while another task's ``anext`` awaits a page
    raise RuntimeError ("aclose(): ... already running") and change nothing: the fetch in flight still gives its
    item or page, iteration goes on, and a later ``aclose()`` ends it for good (before the fix aclose() was
    accepted there and the in-flight page still came out, item by item)."""
    server = Server(_endless)
    entered, release = anyio.Event(), anyio.Event()

    async def handler(request: httpx.Request) -> httpx.Response:
        entered.set()
        await release.wait()
        return server(request)

    got: list[Any] = []
    async with make_client(httpx.MockTransport(handler), max_retries=0) as dify:
        pager = dify.apps.list(limit=2)
        it: AsyncGenerator[Any, None] = pager.pages() if what == "pages" else aiter(pager)

        async def first() -> None:
            got.append(await anext(it))

        refused: list[BaseException | None] = []
        async with anyio.create_task_group() as tg:
            tg.start_soon(first)
            await entered.wait()
            for call in (it.aclose, lambda: it.athrow(KeyError("thrown"))):
                try:
                    await call()
                    refused.append(None)
                except BaseException as exc:  # what it raised is asserted below
                    refused.append(exc)
            release.set()
        running = "(): the pager's iterator is already running (two tasks iterating one async for?)"
        assert [(type(e), str(e)) for e in refused] == [
            (RuntimeError, "aclose" + running),
            (RuntimeError, "athrow" + running),
        ]
        got.append(await anext(it))
        await it.aclose()
        with pytest.raises(StopAsyncIteration):
            await anext(it)
    ids = [p.data[0].id for p in got] if what == "pages" else [a.id for a in got]
    assert ids == (["a1-0", "a2-0"] if what == "pages" else ["a1-0", "a1-1"])
    assert server.pages == (["1", "2"] if what == "pages" else ["1"])


@pytest.mark.anyio
@pytest.mark.parametrize("what", ["items", "pages"])
async def test_a_page_arriving_after_the_iterator_was_closed_is_dropped(what: str) -> None:
    """White box: the iterator closed (``_close()``, what ``aclose()`` does) while its own fetch is in flight gives
    StopAsyncIteration when that page arrives, not the page or its first item; nothing comes out after."""
    server = Server(_endless)
    holder: list[Any] = []

    async def handler(request: httpx.Request) -> httpx.Response:
        holder[0]._close()
        await anyio.lowlevel.checkpoint()
        return server(request)

    async with make_client(httpx.MockTransport(handler), max_retries=0) as dify:
        pager = dify.apps.list(limit=2)
        holder.append(pager.pages() if what == "pages" else aiter(pager))
        with pytest.raises(StopAsyncIteration):
            await anext(holder[0])
        with pytest.raises(StopAsyncIteration):
            await anext(holder[0])
    assert server.pages == ["1"]
