"""Defect 8: pagination over items whose ``id`` is null, a list or a dict.

A server answering ``"id": null`` items with ``has_more: true`` forever made the pager yield the
same item endlessly (12,666 duplicates in 2 s), breaking "never yields an item twice"; an id that
is a list or a dict raised a raw ``TypeError: unhashable type``.
"""

from __future__ import annotations

from typing import Any

import anyio
import pytest

from dify_mgmt_async import App
from tests.faultserver import FaultServer, respond

from .conftest import MakeClient
from .invariants import assert_healthy

pytestmark = pytest.mark.asyncio_only  # the default transport is aiohttp only under asyncio

LIST = "/api/management/apps?"


async def _all(pager: Any, cap: int = 200) -> list[App]:
    items: list[App] = []
    async for item in pager:
        items.append(item)
        assert len(items) <= cap, "the pager does not stop"
    return items


@pytest.mark.anyio
async def test_null_ids_with_has_more_forever_terminate_without_repeats(
    server: FaultServer, make_client: MakeClient
) -> None:
    """Defect 8: every page is the same ``"id": null`` item with ``has_more: true``.

    Iterating ends within a few pages (at most 10 requests) and yields that item once: an item
    without an id is the same item when it is equal in every field.
    """
    page = {"data": [{"id": None, "name": "no id", "mode": "chat"}], "limit": 1, "has_more": True}
    server.route(LIST, respond(json=page))
    with anyio.fail_after(5):
        async with make_client(server.url, max_concurrency=2) as dify:
            items = await _all(dify.apps.list(limit=1))
            assert [item.to_dict() for item in items] == [page["data"][0]]  # type: ignore[index]
            assert len(server.received(LIST)) <= 10
            await assert_healthy(dify, server, 2)


@pytest.mark.anyio
async def test_unhashable_ids_are_paged_without_type_error(server: FaultServer, make_client: MakeClient) -> None:
    """Defect 8: ids that are a list or a dict are compared by value; each item is yielded exactly once."""
    listed = {"id": ["a"], "name": "list id", "mode": "chat"}
    mapped = {"id": {"k": 1}, "name": "dict id", "mode": "chat"}
    other = {"id": ["b"], "name": "another list id", "mode": "chat"}
    server.route("page=1&", respond(json={"data": [listed, mapped], "limit": 2, "has_more": True}))
    server.route("page=2&", respond(json={"data": [mapped, other], "limit": 2, "has_more": False}))
    with anyio.fail_after(5):
        async with make_client(server.url, max_concurrency=2) as dify:
            items = await _all(dify.apps.list(limit=2))
            assert [item.to_dict() for item in items] == [listed, mapped, other]
            assert len(server.received(LIST)) == 2
            await assert_healthy(dify, server, 2)
