"""The pager: await for one page, ``async for`` over every item, both envelopes, and its stop rules."""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Callable
from typing import Any

import httpx
import pytest

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
    """Breaking out of ``async for`` over the items, inside ``aclosing``, closes the pager's own page generator
    too. Left to the garbage collector, trio warns that it was collected before it was exhausted (an error here,
    under ``filterwarnings = error``)."""

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
