"""Timeouts: a write timeout exists on every transport, and a deadline's error says which request.

Defect 6: an upload to a server that stops reading hung forever on the default transport (aiohttp
has no write timeout), where httpx's own raises APITimeoutError at the write limit.
Defect 9 (deadline errors): an APITimeoutError from the ``timeout=`` deadline carried no request and
only a path, while per-attempt timeouts carry the full URL.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import anyio
import httpx
import pytest

from dify_mgmt_async import APITimeoutError, DifyManagementClient
from tests.conftest import APP
from tests.faultserver import FaultServer, never_answer, respond, stall_reading

from .conftest import MakeClient
from .invariants import assert_healthy
from .uploads import MIB

pytestmark = pytest.mark.asyncio_only  # the default transport is aiohttp only under asyncio


def _upload(dify: DifyManagementClient) -> Awaitable[object]:
    return dify.datasets.upload_document("d1", b"w" * (16 * MIB), filename="a.txt")


def _json(dify: DifyManagementClient) -> Awaitable[object]:
    return dify.apps.create(name="n", mode="chat", extra_body={"blob": "x" * (16 * MIB)})


@pytest.mark.anyio
@pytest.mark.parametrize(("path", "send"), [("/documents/upload", _upload), ("/apps", _json)], ids=["upload", "json"])
async def test_a_body_to_a_server_that_stops_reading_hits_the_write_timeout(
    make_client: MakeClient, path: str, send: Callable[[DifyManagementClient], Awaitable[object]]
) -> None:
    """Defect 6: with ``httpx.Timeout(0.5)``, a 16 MiB body the server stops reading raises APITimeoutError.

    It comes at about the 0.5 s write limit (between 0.45 s and 2.5 s; real time, since the scenario
    is a real stalled socket). The server's receive buffer is 64 KiB, so the sender stalls soon. A body held
    in memory (JSON) hung on the default transport: aiohttp starts its read timer only once the body is
    written, and the write waited to drain with no timer at all.
    """
    with FaultServer(recv_buffer=64 * 1024) as server:
        server.route(path, stall_reading(after=0))
        with anyio.fail_after(5):
            async with make_client(server.url, max_concurrency=2, timeout=httpx.Timeout(0.5), max_retries=0) as dify:
                start = anyio.current_time()
                with pytest.raises(APITimeoutError) as caught:
                    await send(dify)
                elapsed = anyio.current_time() - start
                assert 0.45 <= elapsed < 2.5, elapsed
                (got,) = server.received(path)
                assert got.body_length < 16 * MIB
                await assert_healthy(dify, server, 2, caught.value)
        assert server.errors == []


@pytest.mark.anyio
async def test_a_large_json_body_goes_out_whole_framed_by_its_content_length(
    server: FaultServer, make_client: MakeClient
) -> None:
    """Streamed so that its write is watched, a 1 MiB in-memory body still goes out as one Content-Length body,
    not chunked, byte for byte."""
    server.route("/apps", respond(201, json=APP))
    async with make_client(server.url, max_concurrency=2) as dify:
        await dify.apps.create(name="n", mode="chat", extra_body={"blob": "x" * MIB})
    (got,) = server.received("/apps")
    assert got.body_complete and got.body_length == int(got.headers["content-length"]) > MIB
    assert "transfer-encoding" not in got.headers


@pytest.mark.anyio
async def test_deadline_error_of_an_attempt_carries_the_request(server: FaultServer, make_client: MakeClient) -> None:
    """Defect 9 (deadline errors): ``timeout=0.3`` on a server that never answers raises APITimeoutError
    whose ``request`` is the GET with the full URL, which the message names too."""
    server.route("/apps/silent", never_answer())
    url = f"{server.url}/api/management/apps/silent"
    with anyio.fail_after(5):
        async with make_client(server.url, max_concurrency=2, timeout=0.3) as dify:
            with pytest.raises(APITimeoutError) as caught:
                await dify.apps.get("silent")
            request = caught.value.request
            assert request is not None
            assert (request.method, str(request.url)) == ("GET", url)
            assert url in str(caught.value)
            await assert_healthy(dify, server, 2, caught.value)


@pytest.mark.anyio
async def test_deadline_error_while_queued_carries_the_request(server: FaultServer, make_client: MakeClient) -> None:
    """Defect 9 (deadline errors): a call whose 0.3 s deadline passes while it waits for a slot (the only
    one is held by an unanswered call) raises APITimeoutError naming its method and full URL, with
    ``request`` set; it never reached the server."""
    server.route("/apps/silent", never_answer())
    url = f"{server.url}/api/management/apps/queued"
    with anyio.fail_after(5):
        async with make_client(server.url, max_concurrency=1) as dify, anyio.create_task_group() as tg:
            tg.start_soon(dify.apps.get, "silent")
            await server.wait_for(lambda: len(server.received("/apps/silent")) == 1, "the silent call")
            with pytest.raises(APITimeoutError) as caught:
                await dify.with_options(timeout=0.3).apps.get("queued")
            request = caught.value.request
            assert request is not None
            assert (request.method, str(request.url)) == ("GET", url)
            assert url in str(caught.value)
            assert server.received("/apps/queued") == []
            tg.cancel_scope.cancel()


def _long_app() -> dict[str, object]:
    app: dict[str, object] = {"id": "a1", "name": "n" * 4000, "mode": "chat", "icon": "i", "icon_background": "#fff"}
    return {**app, "description": "d", "created_at": 1}


@pytest.mark.anyio
async def test_trickled_answer_within_the_read_timeout_arrives_whole(
    server: FaultServer, make_client: MakeClient
) -> None:
    """(Guard, no defect of the issue.) A 4 KB answer trickled 256 bytes every 50 ms (~0.8 s in all) with a
    0.5 s read timeout succeeds: the read timeout bounds the wait between bytes, not the whole body.

    Each gap is a tenth of the timeout: a loaded machine running the server's thread late still sends the
    next bytes in time."""
    server.route("/apps/a1", respond(json=_long_app(), trickle=(256, 0.05)))
    with anyio.fail_after(5):
        timeout = httpx.Timeout(5.0, read=0.5)
        async with make_client(server.url, max_concurrency=2, timeout=timeout, max_retries=0) as dify:
            app = await dify.apps.get("a1")
            assert app.name == "n" * 4000
            await assert_healthy(dify, server, 2)


@pytest.mark.anyio
async def test_trickled_answer_is_cut_at_the_deadline(server: FaultServer, make_client: MakeClient) -> None:
    """Defect 9 (deadline errors): a 4 KB answer trickled 64 bytes every 50 ms (~3 s) with ``timeout=0.4``
    raises APITimeoutError before 1 s, whose ``request`` is the GET with the full URL; no slot is lost."""
    server.route("/apps/a1", respond(json=_long_app(), trickle=(64, 0.05)))
    with anyio.fail_after(5):
        async with make_client(server.url, max_concurrency=2, timeout=0.4) as dify:
            start = anyio.current_time()
            with pytest.raises(APITimeoutError) as caught:
                await dify.apps.get("a1")
            assert anyio.current_time() - start < 1.0
            request = caught.value.request
            assert request is not None
            assert str(request.url) == f"{server.url}/api/management/apps/a1"
            await assert_healthy(dify, server, 2, caught.value)
