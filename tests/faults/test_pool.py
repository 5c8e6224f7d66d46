"""Defect 9 (pooled connections): a keep-alive connection the server closed while idle is not used to fail a call.

Servers close idle keep-alive connections (uvicorn after 5 s); the client kept them 15 s, and 19 of
200 POSTs failed on connections the server had already closed. Those requests never reached the
server, so they are safe to send again, on a fresh connection.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import anyio
import pytest

from tests.conftest import APP
from tests.faultserver import FaultServer, respond

from .conftest import MakeClient
from .invariants import assert_healthy

pytestmark = pytest.mark.asyncio_only  # the default transport is aiohttp only under asyncio

CREATE = "/api/management/apps"


def _busy_until(condition: Callable[[], bool]) -> None:
    """Hold the event loop (it runs nothing meanwhile) until ``condition`` holds, for at most 5 s."""
    deadline = time.monotonic() + 5
    while not condition():
        assert time.monotonic() < deadline, "the fault server never closed the idle connection"
        time.sleep(0.01)  # blocking, on purpose: the loop does not run meanwhile


@pytest.mark.anyio
async def test_post_after_the_server_closed_the_idle_connection_succeeds_once(make_client: MakeClient) -> None:
    """Defect 9: the server closes a connection idle for 0.2 s; between creates the client's loop is busy
    until the server has closed it (CPU-bound work, modelled by a blocking wait), so the server's FIN is
    not processed yet when the next create picks a pooled connection.

    Every create succeeds, and the server got each exactly once (4 creates, 4 requests: nothing was
    re-sent after it arrived), each on a new connection.
    """
    with FaultServer(idle_timeout=0.2) as server:
        server.route(CREATE, respond(201, json=APP))
        with anyio.fail_after(10):
            async with make_client(server.url, max_concurrency=2) as dify:
                for number in range(1, 5):
                    app = await dify.apps.create(name="n", mode="chat")
                    assert app.id == "a1"
                    _busy_until(lambda n=number: server.idle_closed == n)  # however late the server's thread ran
                creates = server.received(CREATE)
                assert [r.method for r in creates] == ["POST"] * 4
                assert [r.connection for r in creates] == [1, 2, 3, 4]
                await assert_healthy(dify, server, 2)
        assert server.errors == []
