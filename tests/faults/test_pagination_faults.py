"""Defect 8: pagination over items whose ``id`` is null, a list or a dict.

A server answering ``"id": null`` items with ``has_more: true`` forever made the pager yield the
same item endlessly (12,666 duplicates in 2 s), breaking "never yields an item twice"; an id that
is a list or a dict raised a raw ``TypeError: unhashable type``.
"""

from __future__ import annotations

from typing import Any

import anyio
import pytest

from dify_mgmt_async import APIResponseValidationError, App
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


APP_FIELDS: dict[str, Any] = {"icon": None, "icon_background": None, "description": None, "created_at": 1}


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("bad_id", "got"), [(None, "null"), (["a"], "array"), ({"k": 1}, "object")], ids=["null", "list", "dict"]
)
async def test_malformed_ids_with_has_more_forever_fail_on_the_first_page(
    server: FaultServer, make_client: MakeClient, bad_id: Any, got: str
) -> None:
    """Defect 8: items whose id is null, a list or a dict, with ``has_more: true`` forever.

    The spec types ``id`` as a string, so the first page raises APIResponseValidationError naming
    ``data[0].id`` (one request, no loop, nothing unhashable reaches the pager); the client stays usable.
    """
    page = {"data": [{**APP_FIELDS, "id": bad_id, "name": "bad id", "mode": "chat"}], "limit": 1, "has_more": True}
    server.route(LIST, respond(json=page))
    with anyio.fail_after(5):
        async with make_client(server.url, max_concurrency=2) as dify:
            with pytest.raises(APIResponseValidationError) as info:
                await _all(dify.apps.list(limit=1))
            assert str(info.value).endswith(f"AppPage: data[0].id: must be a string (got {got})")
            assert len(server.received(LIST)) == 1
            await assert_healthy(dify, server, 2)
