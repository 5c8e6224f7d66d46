"""The aiohttp transport: exact exception mapping ("never sent" vs "sent, answer lost"), timeouts, limits, streaming.

These run real loopback sockets (the mapping is about what happens on the wire), on asyncio only:
aiohttp is asyncio-only, and under trio the SDK uses httpx's own transport (tested last).
"""

from __future__ import annotations

import asyncio
import hashlib
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import anyio
import anyio.lowlevel
import httpx
import pytest

from dify_mgmt_async import APIConnectionError, APITimeoutError, DifyManagementClient, RateLimitError
from dify_mgmt_async._transport import AiohttpTransport, DefaultTransport, HttpxTransport, _client_timeout
from tests.conftest import make_client

Serve = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


pytestmark = pytest.mark.asyncio_only


class Server:
    """A loopback TCP server running ``serve`` per connection; counts connections and requests."""

    def __init__(self, serve: Serve) -> None:
        self._serve = serve
        self.connections = 0
        self.url = ""
        self._server: asyncio.Server | None = None

    async def __aenter__(self) -> Server:
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            self.connections += 1
            try:
                await self._serve(reader, writer)
            finally:
                writer.close()

        self._server = await asyncio.start_server(handle, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()


async def read_request(reader: asyncio.StreamReader) -> tuple[bytes, bytes]:
    """(head, body) of one HTTP/1.1 request with a Content-Length."""
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    return head, await reader.readexactly(length)


def answering(raw: bytes) -> Serve:
    """A server's part that reads one request and sends ``raw`` (the whole answer, head and body) back."""

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(raw)
        await writer.drain()

    return serve


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


async def send(transport: httpx.AsyncBaseTransport, url: str, **timeout: float) -> httpx.Response:
    request = httpx.Request("POST", url, json={"name": "x"}, extensions={"timeout": timeout} if timeout else {})
    return await transport.handle_async_request(request)


@pytest.mark.anyio
async def test_refused_connection_is_connect_error() -> None:
    """Connection refused maps to ConnectError: provably never sent."""
    transport = AiohttpTransport()
    with pytest.raises(httpx.ConnectError):
        await send(transport, f"http://127.0.0.1:{closed_port()}/x")
    await transport.aclose()


@pytest.mark.anyio
async def test_disconnect_after_sending_is_remote_protocol_error() -> None:
    """The server read the request and hung up: RemoteProtocolError (maybe processed), not ConnectTimeout."""

    async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)

    async with Server(hang_up) as server:
        transport = AiohttpTransport()
        with pytest.raises(httpx.RemoteProtocolError):
            await send(transport, server.url + "/x")
        await transport.aclose()


@pytest.mark.anyio
async def test_silent_server_is_read_timeout() -> None:
    """No answer within the read timeout: ReadTimeout."""

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        await asyncio.sleep(5)

    async with Server(silent) as server:
        transport = AiohttpTransport()
        with pytest.raises(httpx.ReadTimeout):
            await send(transport, server.url + "/x", connect=1.0, read=0.1, write=1.0, pool=1.0)
        await transport.aclose()


@pytest.mark.anyio
async def test_waiting_for_a_pooled_connection_is_connect_timeout() -> None:
    """With every connection busy, timing out in the pool maps to ConnectTimeout: never sent."""

    busy = asyncio.Event()

    async def slow(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        busy.set()
        await asyncio.sleep(1)

    async with Server(slow) as server:
        transport = AiohttpTransport(max_connections=1)
        async with anyio.create_task_group() as tg:
            tg.start_soon(lambda: send(transport, server.url + "/busy", read=0.5))
            await busy.wait()  # the only connection is taken: however late a loaded loop got there
            with pytest.raises(httpx.ConnectTimeout):
                await send(transport, server.url + "/x", connect=0.05, pool=0.05, read=1.0)
            tg.cancel_scope.cancel()
        assert server.connections == 1
        await transport.aclose()


@pytest.mark.anyio
async def test_sdk_does_not_resend_a_create_after_disconnect_but_retries_after_refusal() -> None:
    """Through the SDK: a POST whose connection dropped after sending is sent once; a refused one is retried."""

    async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)

    async with Server(hang_up) as server:
        async with DifyManagementClient(server.url, "t") as dify:
            with pytest.raises(APIConnectionError) as caught:
                await dify.apps.create(name="a", mode="chat")
        assert server.connections == 1
        assert isinstance(caught.value.__cause__, httpx.RemoteProtocolError)

    events: list[object] = []
    async with DifyManagementClient(f"http://127.0.0.1:{closed_port()}", "t", on_retry=events.append) as dify:
        with pytest.raises(APIConnectionError) as refused:
            await dify.apps.create(name="a", mode="chat")
    assert isinstance(refused.value.__cause__, httpx.ConnectError)
    assert len(events) == 2  # max_retries=2: the create was retried, since it never left


@pytest.mark.anyio
async def test_per_call_deadline_through_aiohttp() -> None:
    """A silent server and timeout=0.3: APITimeoutError after about 0.3 s."""

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        await asyncio.sleep(5)

    async with Server(silent) as server, DifyManagementClient(server.url, "t", timeout=0.3) as dify:
        start = anyio.current_time()
        with pytest.raises(APITimeoutError):
            await dify.apps.get("a")
        assert anyio.current_time() - start < 1.0


def test_timeouts_map_to_aiohttp() -> None:
    """connect → sock_connect; connect + pool → connect (acquiring a connection); read → sock_read."""
    mapped = _client_timeout({"connect": 2.0, "read": 7.0, "write": 9.0, "pool": 3.0})
    assert (mapped.total, mapped.sock_connect, mapped.connect, mapped.sock_read) == (None, 2.0, 5.0, 7.0)
    assert _client_timeout({}).sock_read is None


@pytest.mark.anyio
async def test_connection_limit_follows_max_concurrency() -> None:
    """The aiohttp connector's limit is the client's max_concurrency."""

    async def ok(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        body = (
            b'{"id":"a","name":"n","mode":"chat","icon":null,"icon_background":null,"description":null,"created_at":1}'
        )
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
        )
        await writer.drain()

    async with Server(ok) as server, DifyManagementClient(server.url, "t", max_concurrency=7) as dify:
        app = await dify.apps.get("a")
        assert app.name == "n"
        transport = dify._state.transport
        assert isinstance(transport, DefaultTransport)
        inner = transport.inner
        assert isinstance(inner, AiohttpTransport)
        assert inner._session is not None
        assert inner._session.connector is not None
        assert inner._session.connector.limit == 7


@pytest.mark.anyio
async def test_streaming_body_stays_streaming() -> None:
    """An upload goes out chunk by chunk (never as one bytes body) and arrives intact."""
    received = hashlib.sha256()

    async def sink(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        assert b"content-length" in head.lower()
        length = next(int(x.split(b":")[1]) for x in head.split(b"\r\n") if x.lower().startswith(b"content-length"))
        while length:
            data = await reader.read(min(length, 65536))
            received.update(data)
            length -= len(data)
        body = b'{"id":"d","name":"f.txt","created_at":1,"status":"enabled","indexing_status":"waiting","word_count":0}'
        writer.write(b"HTTP/1.1 201 Created\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
        await writer.drain()

    produced = 0

    async def generate() -> AsyncIterator[bytes]:
        nonlocal produced
        for _ in range(64):
            produced += 1
            yield b"z" * 65536

    transport = AiohttpTransport()
    async with Server(sink) as server:
        request = httpx.Request(
            "POST", server.url + "/u", content=generate(), headers={"Content-Length": str(64 * 65536)}
        )
        with pytest.raises(httpx.RequestNotRead):
            _ = request.content
        response = await transport.handle_async_request(request)
    await transport.aclose()
    assert response.status_code == 201
    assert produced == 64
    assert received.hexdigest() == hashlib.sha256(b"z" * 64 * 65536).hexdigest()


def test_trio_uses_httpx_transport() -> None:
    """Under trio the default transport is httpx's own (with the proxy choice shared with aiohttp's)."""
    transport = DefaultTransport(max_connections=4)

    async def main() -> None:
        request = httpx.Request("GET", f"http://127.0.0.1:{closed_port()}/")
        with pytest.raises(httpx.ConnectError):
            await transport.handle_async_request(request)
        await transport.aclose()

    anyio.run(main, backend="trio")
    assert isinstance(transport.inner, HttpxTransport)


class PartialReader(httpx.AsyncBaseTransport):
    """Answers an upload 429 (retry-after-ms 300) after reading its first chunk, like a proxy that
    rejects early; other requests get 200. Records (loop time, method) of each request."""

    def __init__(self) -> None:
        self.requests: list[tuple[float, str]] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append((anyio.current_time(), request.method))
        if request.method == "POST":
            assert isinstance(request.stream, httpx.AsyncByteStream)
            chunks = aiter(request.stream)
            await anext(chunks)  # the multipart head
            await anext(chunks)  # the file's first chunk: the file is open now
            await chunks.aclose()  # type: ignore[attr-defined]
            return httpx.Response(429, headers={"retry-after-ms": "300"}, json={"error_code": "rate_limited"})
        body = (
            b'{"id":"a1","name":"n","mode":"chat","icon":null,"icon_background":null,"description":null,"created_at":1}'
        )
        return httpx.Response(200, content=body, headers={"Content-Type": "application/json"})


@pytest.mark.anyio
async def test_queued_task_waits_out_a_cooldown_from_an_upload(tmp_path: Path) -> None:
    """An upload's 429 closes the gate before its slot passes on: the GET queued behind it goes after the cooldown."""
    path = tmp_path / "f.txt"
    path.write_bytes(b"x" * 3_000_000)
    transport = PartialReader()
    async with make_client(transport, max_concurrency=1, max_retries=0) as dify:

        async def upload() -> None:
            with pytest.raises(RateLimitError):
                await dify.datasets.upload_document("ds", path)

        async with anyio.create_task_group() as tg:
            tg.start_soon(upload)
            await anyio.lowlevel.checkpoint()
            tg.start_soon(dify.apps.get, "a1")
    (t429, post), (t_get, get) = transport.requests
    assert (post, get) == ("POST", "GET")
    assert t_get - t429 >= 0.3
