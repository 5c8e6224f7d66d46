"""One attempt is one send: the retry policy alone decides when a request goes again.

aiohttp's session sends an idempotent request again, once, when its connection drops before the answer
(``ClientOSError``/``ServerDisconnectedError``). On the default transport that second send passed by
``max_retries``, the retry budget and ``on_retry``: a GET or DELETE with ``max_retries=0`` reached the
server twice.
"""

from __future__ import annotations

import anyio
import pytest

from dify_mgmt_async import APIConnectionError, RetryEvent
from tests.faultserver import FaultServer, raw

from .conftest import MakeClient

pytestmark = pytest.mark.asyncio_only  # the default transport is aiohttp only under asyncio


@pytest.mark.anyio
@pytest.mark.parametrize(("method", "retries"), [("get", 0), ("delete", 0), ("get", 1), ("delete", 2)])
async def test_a_dropped_connection_is_sent_again_only_as_the_retry_policy_says(
    server: FaultServer, make_client: MakeClient, method: str, retries: int
) -> None:
    server.route("/apps/a1", raw(b""))  # reads the request, then closes without an answer
    events: list[RetryEvent] = []
    with anyio.fail_after(10):
        async with make_client(server.url, max_retries=retries, on_retry=events.append) as dify:
            with pytest.raises(APIConnectionError):
                await getattr(dify.apps, method)("a1")
    assert len(server.received("/apps/a1")) == 1 + retries
    assert len(events) == retries
