"""The fault server itself: it answers both transports, records what it got, and closes cleanly."""

from __future__ import annotations

import anyio
import pytest

from tests.faultserver import FaultServer, never_answer, respond

from .conftest import MakeClient
from .invariants import TOKEN, assert_full_concurrency, assert_healthy

pytestmark = pytest.mark.asyncio_only  # the default transport is aiohttp only under asyncio


@pytest.mark.anyio
async def test_healthy_server_records_requests(server: FaultServer, make_client: MakeClient) -> None:
    """A normal answer is parsed; the server records method, path, headers and body length; slots all work."""
    server.route(
        "/apps",
        respond(
            201,
            json={
                "id": "a9",
                "name": "x",
                "mode": "chat",
                "icon": None,
                "icon_background": None,
                "description": None,
                "created_at": 1,
            },
        ),
    )
    with anyio.fail_after(5):
        async with make_client(server.url, max_concurrency=2) as dify:
            app = await dify.apps.create(name="x", mode="chat")
            assert app.id == "a9"
            (got,) = server.received("/apps")
            assert (got.method, got.path) == ("POST", "/api/management/apps")
            assert got.headers["authorization"] == f"Bearer {TOKEN}"
            assert got.body_length == int(got.headers["content-length"]) == len(got.body)
            assert got.body_complete
            await assert_healthy(dify, server, 2)


@pytest.mark.anyio
async def test_full_concurrency_check_sees_a_held_slot(server: FaultServer, make_client: MakeClient) -> None:
    """The invariant check fails when one of the client's two slots is taken (here by a call left unanswered)."""
    server.route("/apps/silent", never_answer())
    with anyio.fail_after(5):
        async with make_client(server.url, max_concurrency=2) as dify, anyio.create_task_group() as tg:
            tg.start_soon(dify.apps.get, "silent")
            await server.wait_for(lambda: len(server.received("/apps/silent")) == 1, "the silent call")
            with pytest.raises(AssertionError, match="only 1 of 2 calls were in flight"):
                await assert_full_concurrency(dify, server, 2, wait=0.2)
            tg.cancel_scope.cancel()
