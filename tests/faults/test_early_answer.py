"""An upload answered before its body was read (an early 429 or 5xx) leaves no half-sent body behind.

The server answers from the head alone and keeps the connection open, as uvicorn does; were the
client to send its next request on that connection while the upload's body was still going out,
the server would read the rest of that body as the next request's head.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import anyio
import pytest

from dify_mgmt_async import InternalServerError
from tests.conftest import APP
from tests.faultserver import Action, Exchange, FaultServer, respond

from .conftest import MakeClient
from .invariants import assert_healthy

pytestmark = pytest.mark.asyncio_only  # the default transport is aiohttp only under asyncio

UPLOAD = "/documents/upload"
FAILURE = b'{"error_code":"internal_server_error","error":"busy"}'


async def answer_before_reading(ex: Exchange) -> bool:
    """503 from the head alone, then the body is read and discarded, and the connection stays open."""
    await ex.write(
        b"HTTP/1.1 503 X\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (len(FAILURE), FAILURE)
    )
    await ex.read_body()
    return True


async def head_first_then_body(ex: Exchange) -> bool:
    """503's head at once; its body only once the client stopped sending (0.2 s with no upload bytes).

    Then read the rest of the upload as its ``Content-Length`` says, on a connection kept open. A
    client that ended the upload's body early and reused the connection would have its next
    request read here as the rest of that body, and never answered.
    """
    await ex.write(b"HTTP/1.1 503 X\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(FAILURE))
    while not ex.received.body_complete:
        try:
            await asyncio.wait_for(ex.read_body(limit=ex.received.body_length + 65536), 0.2)
        except TimeoutError:
            break
    await ex.write(FAILURE)
    await ex.read_body()
    return True


@pytest.mark.anyio
@pytest.mark.parametrize(
    "answer", [answer_before_reading, head_first_then_body], ids=["body-read-by-server", "body-cut-short"]
)
async def test_after_an_early_answer_to_an_upload_the_next_requests_arrive_intact(
    server: FaultServer, make_client: MakeClient, tmp_path: Path, answer: Action
) -> None:
    """A 503 sent before the upload's body was read: the next GETs reach the server intact, and the upload's
    connection carries none of them unless its whole body arrived (one cut short is closed, not pooled)."""
    path = tmp_path / "big.bin"
    path.write_bytes(os.urandom(2 * 1024 * 1024))
    server.route(UPLOAD, answer)
    server.route("/apps/", respond(200, json=APP))
    with anyio.fail_after(15):
        async with make_client(server.url, max_concurrency=1, max_retries=0) as dify:
            with pytest.raises(InternalServerError, match="busy"):
                await dify.datasets.upload_document("d1", path)
            for _ in range(3):
                assert (await dify.apps.get("a1")).id == "a1"
            gets = server.received("/apps/")
            assert [(r.method, r.path) for r in gets] == [("GET", "/api/management/apps/a1")] * 3
            (upload,) = server.received(UPLOAD)
            assert upload.body_complete or all(get.connection != upload.connection for get in gets)
            await assert_healthy(dify, server, 1)
