"""Defect 3: the token appears in no exception of the chain, whatever the server sends back.

On a malformed status line, a bad header line or bad chunked framing, aiohttp's
``ClientResponseError`` (two ``__cause__`` links down) carried the request headers in its
``repr()`` and ``args``: ``authorization: Bearer …``. Sentry and ``logger.error("%r", exc)``
print those.
"""

from __future__ import annotations

import anyio
import pytest

from dify_mgmt_async import APIConnectionError, APIStatusError, AuthenticationError
from tests.faultserver import (
    Action,
    FaultServer,
    bad_chunked,
    bad_header,
    malformed_status,
    raw,
    reset_mid_body,
    respond,
)

from .conftest import MakeClient
from .invariants import TOKEN, assert_healthy, exception_chain

pytestmark = pytest.mark.asyncio_only  # the default transport is aiohttp only under asyncio

BROKEN_ANSWERS: dict[str, Action] = {
    "malformed-status-line": malformed_status(),
    "bad-header-line": bad_header(),
    "bad-chunked-framing": bad_chunked(),
    "not-http-at-all": raw(b"SSH-2.0-OpenSSH_9.6\r\n"),
    "reset": reset_mid_body(after=0),
    "truncated-200": respond(200, body=b'{"id": "a1", "na', content_length=200),
}


@pytest.mark.anyio
@pytest.mark.parametrize("answer", list(BROKEN_ANSWERS))
async def test_token_is_in_no_exception_of_the_chain(server: FaultServer, make_client: MakeClient, answer: str) -> None:
    """Defect 3: a broken answer raises APIConnectionError, and no exception of its chain mentions the token.

    Checked: ``repr``, ``str``, ``args`` and notes of every exception reachable through
    ``__cause__``/``__context__``. The chain is not empty (the transport's error is kept as cause).
    """
    server.route("/apps/a1", BROKEN_ANSWERS[answer])
    with anyio.fail_after(5):
        async with make_client(server.url, max_concurrency=2, max_retries=0) as dify:
            with pytest.raises(APIConnectionError) as caught:
                await dify.apps.get("a1")
            assert server.received("/apps/a1")[0].headers["authorization"] == f"Bearer {TOKEN}"
            assert len(list(exception_chain(caught.value))) >= 2
            await assert_healthy(dify, server, 2, caught.value)


@pytest.mark.anyio
async def test_token_is_in_no_status_error(server: FaultServer, make_client: MakeClient) -> None:
    """Defect 3: a 401 whose body echoes nothing secret keeps the token out of the error and its chain."""
    server.route("/apps/a1", respond(401, json={"error_code": "unauthorized", "error": "bad token"}))
    with anyio.fail_after(5):
        async with make_client(server.url, max_concurrency=2) as dify:
            with pytest.raises(AuthenticationError) as caught:
                await dify.apps.get("a1")
            assert isinstance(caught.value, APIStatusError)
            await assert_healthy(dify, server, 2, caught.value)
