"""The aiohttp transport's error mapping and timeouts, row by row (module docstring of ``_transport``)."""

from __future__ import annotations

import asyncio
import base64
import functools
import gzip
import socket
import ssl
import time
from collections.abc import AsyncIterator, Callable
from types import SimpleNamespace
from typing import Any

import aiohttp
import anyio
import httpx
import pytest
import trustme
from aiohttp.client_proto import ResponseHandler

from dify_mgmt_async import DifyManagementClient, _transport
from dify_mgmt_async._transport import (
    AiohttpTransport,
    ClientTransport,
    DefaultTransport,
    HttpxTransport,
    TransportClosedError,
    _aiohttp_proxy,
    _check_before_reuse,
    _client_timeout,
    _FreshnessCheckedHandler,
    _map_error,
    _RequestBody,
)
from tests.test_transport import Server, answering, read_request

REQUEST = httpx.Request("POST", "https://dify.example.com/x", headers={"Authorization": "Bearer tok-123"})


def connector_error() -> aiohttp.ClientConnectorError:
    key = SimpleNamespace(host="dify.example.com", port=443, ssl=True)
    return aiohttp.ClientConnectorError(key, OSError(111, "Connection refused"))  # type: ignore[arg-type]


def response_error() -> aiohttp.ClientResponseError:
    info = aiohttp.RequestInfo(url=aiohttp.client.URL("https://dify.example.com"), method="GET", headers={})  # type: ignore[call-arg,arg-type]
    return aiohttp.ClientResponseError(info, (), status=400, message="bad framing")


@pytest.mark.parametrize(
    ("error", "mapped"),
    [
        (connector_error(), httpx.ConnectError),
        (aiohttp.ConnectionTimeoutError("pool"), httpx.ConnectTimeout),
        (aiohttp.SocketTimeoutError("read"), httpx.ReadTimeout),
        (aiohttp.ServerTimeoutError("read"), httpx.ReadTimeout),
        (TimeoutError(), httpx.ReadTimeout),
        (aiohttp.ServerDisconnectedError(), httpx.RemoteProtocolError),
        (response_error(), httpx.RemoteProtocolError),
        (aiohttp.InvalidURL("ftp://x"), httpx.UnsupportedProtocol),
        (aiohttp.ClientPayloadError("cut"), httpx.ReadError),
        (aiohttp.ClientOSError(104, "reset"), httpx.ReadError),
        (aiohttp.ClientError("other"), httpx.ReadError),
    ],
)
def test_aiohttp_errors_map_to_httpx(error: BaseException, mapped: type[httpx.TransportError]) -> None:
    result = _map_error(error, REQUEST)
    assert type(result) is mapped
    assert result.request is REQUEST
    assert result.__cause__ is None
    assert str(result) == (str(error) or type(error).__name__)  # aiohttp's message, on every row


def test_mapped_message_is_aiohttps_with_the_token_cut_out() -> None:
    error = aiohttp.ClientError("sent Authorization: Bearer tok-123, token tok-123 again")
    message = str(_map_error(error, REQUEST))
    assert message == "sent Authorization: <redacted>, token <redacted> again"
    assert str(_map_error(TimeoutError(), REQUEST)) == "TimeoutError"
    bare = httpx.Request("GET", "https://dify.example.com/x")
    assert str(_map_error(aiohttp.ClientError("plain"), bare)) == "plain"


def test_the_whole_credential_after_the_scheme_is_cut_out_even_with_a_space_in_it() -> None:
    spaced = httpx.Request("GET", "https://dify.example.com/x", headers={"Authorization": "Token abc def"})
    message = str(_map_error(aiohttp.ClientError("credential abc def refused"), spaced))
    assert message == "credential <redacted> refused"


@pytest.mark.parametrize(
    ("timeouts", "connect", "sock_connect", "sock_read"),
    [
        ({"connect": 10.0, "read": 60.0, "write": 60.0, "pool": 30.0}, 40.0, 10.0, 60.0),
        ({"connect": None, "read": 5.0, "pool": 2.0}, 2.0, None, 5.0),
        ({"connect": 3.0, "read": None, "pool": None}, 3.0, 3.0, None),
        ({"connect": None, "read": None, "pool": None}, None, None, None),
    ],
)
def test_aiohttp_timeout_from_httpx_timeouts(
    timeouts: dict[str, float | None], connect: float | None, sock_connect: float | None, sock_read: float | None
) -> None:
    mapped = _client_timeout(timeouts)
    assert (mapped.total, mapped.connect, mapped.sock_connect, mapped.sock_read) == (
        None,
        connect,
        sock_connect,
        sock_read,
    )


# --- the proxy's credentials, a caller's http_client, the transports' lifecycle ---------------------------


@pytest.mark.parametrize(
    ("proxy", "expected"),
    [
        (None, (None, None)),
        (httpx.URL("http://proxy.example:3128"), ("http://proxy.example:3128", None)),
        (
            httpx.URL("http://us%40er:p%3Ass@proxy.example:3128"),
            ("http://proxy.example:3128", {"Proxy-Authorization": "Basic " + base64.b64encode(b"us@er:p:ss").decode()}),
        ),
        (
            httpx.URL("http://user@proxy.example:3128"),
            ("http://proxy.example:3128", {"Proxy-Authorization": "Basic " + base64.b64encode(b"user:").decode()}),
        ),
    ],
)
def test_proxy_credentials_become_a_proxy_authorization_header(
    proxy: httpx.URL | None, expected: tuple[str | None, dict[str, str] | None]
) -> None:
    assert _aiohttp_proxy(proxy) == expected


class Body(httpx.AsyncByteStream):
    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield b"{}"


def recording_client(**kwargs: Any) -> tuple[httpx.AsyncClient, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, stream=Body())

    return httpx.AsyncClient(transport=httpx.MockTransport(handler), **kwargs), seen


@pytest.mark.anyio
async def test_a_callers_client_fills_in_headers_and_its_user_agent_replaces_ours() -> None:
    client, seen = recording_client(
        headers={"User-Agent": "mine/2", "X-Team": "a", "Accept": "text/plain"}, auth=("u", "p")
    )
    transport = ClientTransport(client)
    request = httpx.Request("GET", "https://dify.example.com/x", headers=OURS)
    response = await transport.handle_async_request(request)
    sent = seen[0]
    assert sent.headers["user-agent"] == "mine/2"
    assert sent.headers["x-team"] == "a"
    assert sent.headers["accept"] == "application/json"  # ours wins where we set one
    assert sent.headers["authorization"] == "Bearer t"  # the client's auth is not applied
    assert not response.is_closed  # streamed: the core reads (and caps) the body itself
    await response.aclose()
    await transport.aclose()
    assert not client.is_closed  # the caller's to close
    await client.aclose()


@pytest.mark.anyio
async def test_a_callers_client_with_httpx_default_user_agent_keeps_ours() -> None:
    client, seen = recording_client()
    async with client:
        await ClientTransport(client).handle_async_request(
            httpx.Request("GET", "https://dify.example.com/x", headers=OURS)
        )
    assert seen[0].headers.get_list("user-agent") == ["dify-mgmt-async/1"]


OURS = {"Accept": "application/json", "User-Agent": "dify-mgmt-async/1", "Authorization": "Bearer t"}


@pytest.mark.anyio
async def test_a_closed_default_transport_refuses_requests_and_says_so() -> None:
    transport = DefaultTransport(max_connections=2)
    assert repr(transport) == "DefaultTransport(inner=None)"
    assert transport.abandon() is False
    with pytest.raises(TransportClosedError, match=r"^the transport is closed$"):
        await transport.handle_async_request(httpx.Request("GET", "http://127.0.0.1:9/"))
    assert transport.inner is None


@pytest.mark.anyio
async def test_a_closed_aiohttp_transport_opens_no_session() -> None:
    transport = AiohttpTransport()
    await transport.aclose()
    with pytest.raises(TransportClosedError, match=r"^the transport is closed$"):
        await transport.handle_async_request(httpx.Request("GET", "http://127.0.0.1:9/"))
    assert transport._session is None


def test_httpx_transport_keeps_one_pool_per_proxy_with_the_clients_limits() -> None:
    transport = HttpxTransport(max_connections=3, trust_env=False)
    pool = transport._pool(None)
    assert transport._pool(None) is pool
    assert transport._limits == httpx.Limits(max_connections=3, max_keepalive_connections=3, keepalive_expiry=4.0)
    assert transport._pool(httpx.URL("http://proxy.example:3128")) is not pool
    assert len(transport._pools) == 2


# --- aiohttp: the request body as its writer pulls it -----------------------------------------------------


async def chunks(*items: bytes) -> AsyncIterator[bytes]:
    for item in items:
        yield item


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
@pytest.mark.anyio
async def test_request_body_hands_over_every_chunk_then_says_finished() -> None:
    body = _RequestBody(chunks(b"a", b"b"), None, lambda: None)
    assert [chunk async for chunk in body] == [b"a", b"b"]
    assert body.finished is True


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
@pytest.mark.anyio
async def test_a_released_request_body_gives_nothing_more_and_is_not_finished() -> None:
    body = _RequestBody(chunks(b"a", b"b"), None, lambda: None)
    assert await anext(body) == b"a"
    await body.release()
    with pytest.raises(StopAsyncIteration):
        await anext(body)
    assert body.finished is False


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
@pytest.mark.anyio
async def test_a_writer_that_stops_asking_for_chunks_is_a_stall_after_the_write_timeout() -> None:
    stalls: list[float] = []
    loop = asyncio.get_running_loop()
    body = _RequestBody(chunks(b"a", b"b", b"c"), 0.05, lambda: stalls.append(loop.time()))
    start = loop.time()
    await anext(body)
    await anext(body)  # asked in time: the first chunk's timer is cancelled
    await asyncio.sleep(0.2)
    assert len(stalls) == 1
    assert stalls[0] - start >= 0.05
    await body.release()  # no timer left: nothing more is reported
    await asyncio.sleep(0.1)
    assert len(stalls) == 1


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
@pytest.mark.anyio
async def test_without_a_write_timeout_a_slow_writer_is_no_stall() -> None:
    stalls: list[str] = []
    body = _RequestBody(chunks(b"a", b"b"), None, lambda: stalls.append("stall"))
    await anext(body)
    await asyncio.sleep(0.05)
    assert stalls == []


async def _pulling_a_slow_chunk() -> tuple[asyncio.Event, list[str], _RequestBody, asyncio.Future[bytes]]:
    """A body whose first chunk comes once ``gate`` is set (noting "read" in ``order``), being pulled already."""
    gate = asyncio.Event()
    order: list[str] = []

    async def slow() -> AsyncIterator[bytes]:
        await gate.wait()
        order.append("read")
        yield b"a"

    body = _RequestBody(slow(), None, lambda: None)
    pulling = asyncio.ensure_future(anext(body))
    await asyncio.sleep(0)
    return gate, order, body, pulling


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
@pytest.mark.anyio
async def test_release_waits_for_the_chunk_being_read() -> None:
    gate, order, body, pulling = await _pulling_a_slow_chunk()
    releasing = asyncio.ensure_future(body.release())
    await asyncio.sleep(0.01)
    assert not releasing.done()  # the writer is still inside the stream: closing it now would break it
    gate.set()
    await releasing
    order.append("released")
    assert await pulling == b"a"
    assert order == ["read", "released"]


# --- aiohttp: a pooled connection is checked before reuse --------------------------------------------------


class FakeTransport:
    def __init__(self, sock: socket.socket | None, closing: bool = False) -> None:
        self.sock, self.closing = sock, closing

    def get_extra_info(self, name: str) -> socket.socket | None:
        assert name == "socket"
        return self.sock

    def is_closing(self) -> bool:
        return self.closing


def handler_on(transport: FakeTransport | None) -> _FreshnessCheckedHandler:
    handler = _FreshnessCheckedHandler(asyncio.get_running_loop())
    handler.transport = transport  # type: ignore[assignment]
    return handler


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
@pytest.mark.anyio
async def test_an_idle_connection_with_nothing_to_read_is_reused() -> None:
    ours, peer = socket.socketpair()
    with ours, peer:
        assert handler_on(FakeTransport(ours)).is_connected() is True
        assert handler_on(FakeTransport(None)).is_connected() is True  # no socket to look at: aiohttp's word


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
@pytest.mark.anyio
async def test_an_idle_connection_the_server_closed_or_wrote_to_is_not_reused() -> None:
    ours, peer = socket.socketpair()
    with ours:
        peer.sendall(b"HTTP/1.1 408 Request Timeout\r\n\r\n")
        assert handler_on(FakeTransport(ours)).is_connected() is False
        peer.close()
        assert handler_on(FakeTransport(ours)).is_connected() is False
    assert handler_on(FakeTransport(ours)).is_connected() is False  # closed socket: select refuses it
    assert handler_on(None).is_connected() is False
    assert handler_on(FakeTransport(None, closing=True)).is_connected() is False


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
@pytest.mark.anyio
async def test_the_connector_builds_checked_protocols() -> None:
    connector = aiohttp.TCPConnector()
    _check_before_reuse(connector)
    factory = connector._factory
    assert isinstance(factory, functools.partial)
    assert factory.func is _FreshnessCheckedHandler
    assert (factory.args, factory.keywords) == ((), {"loop": asyncio.get_running_loop()})
    await connector.close()


# --- aiohttp: answers as httpx responses, error bodies as streams, chunked uploads ---------------------------


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
@pytest.mark.anyio
async def test_a_2xx_answer_arrives_read_with_status_line_and_headers() -> None:
    transport = AiohttpTransport()
    async with Server(answering(b"HTTP/1.1 201 Made\r\nX-A: 1\r\nX-A: 2\r\nContent-Length: 2\r\n\r\n{}")) as server:
        request = httpx.Request("GET", server.url + "/x")
        response = await transport.handle_async_request(request)
    await transport.aclose()
    assert (response.status_code, response.reason_phrase, response.http_version) == (201, "Made", "HTTP/1.1")
    assert response.headers.get_list("x-a") == ["1", "2"]
    assert response.request is request
    assert response.content == b"{}"  # already read: no second pass through httpx


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
@pytest.mark.anyio
async def test_a_gzip_2xx_answer_is_decoded_by_httpx() -> None:
    body = gzip.compress(b'{"ok": true}')
    answer = answering(b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
    transport = AiohttpTransport()
    async with Server(answer) as server:
        response = await transport.handle_async_request(httpx.Request("GET", server.url + "/x"))
        content = await response.aread()
    await transport.aclose()
    assert content == b'{"ok": true}'


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
@pytest.mark.anyio
async def test_an_error_answer_is_a_stream_and_once_read_its_connection_serves_the_next_request() -> None:
    async def answers(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        for status in (b"503 Service Unavailable", b"404 Not Found"):
            await read_request(reader)
            writer.write(b"HTTP/1.1 %s\r\nContent-Length: 4\r\n\r\ndown" % status)
            await writer.drain()

    transport = AiohttpTransport()
    async with Server(answers) as server:
        first = await transport.handle_async_request(httpx.Request("GET", server.url + "/x"))
        assert not first.is_stream_consumed  # the core reads only as much as it keeps
        assert first.status_code == 503 and first.reason_phrase == "Service Unavailable"
        assert await first.aread() == b"down"
        await first.aclose()
        second = await transport.handle_async_request(httpx.Request("GET", server.url + "/x"))
        assert (second.status_code, await second.aread()) == (404, b"down")
        await second.aclose()
        assert server.connections == 1
    await transport.aclose()


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
@pytest.mark.anyio
async def test_a_body_of_unknown_length_goes_out_chunked_once() -> None:
    """httpx marks it Transfer-Encoding: chunked; aiohttp frames it itself, so the header is not passed twice."""
    received: list[bytes] = []

    async def sink(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        received.append(head)
        received.append(await reader.readuntil(b"0\r\n\r\n"))
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
        await writer.drain()

    transport = AiohttpTransport()
    async with Server(sink) as server:
        request = httpx.Request("POST", server.url + "/u", content=chunks(b"abc", b"def"))
        assert request.headers["transfer-encoding"] == "chunked"
        response = await transport.handle_async_request(request)
    await transport.aclose()
    assert response.status_code == 200
    assert received[0].lower().count(b"transfer-encoding: chunked") == 1
    assert received[1] == b"3\r\nabc\r\n3\r\ndef\r\n0\r\n\r\n"


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
@pytest.mark.anyio
async def test_a_progress_callbacks_own_error_comes_out_of_the_aiohttp_transport_as_it_is() -> None:
    """aiohttp wraps what its body writer raises; the SDK raises the caller's error, not a connection error."""

    async def sink(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        await reader.read(65536)
        await asyncio.sleep(0.5)

    mine = LookupError("my progress bar broke")

    def progress(sent: int, total: int | None) -> None:
        raise mine

    async with Server(sink) as server, DifyManagementClient(server.url, "t", max_retries=0) as dify:
        with pytest.raises(LookupError) as caught:
            await dify.datasets.upload_document("d1", b"x" * 100_000, filename="a.txt", on_progress=progress)
    assert caught.value is mine


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
@pytest.mark.anyio
async def test_a_server_that_stops_reading_an_upload_is_a_write_timeout_after_the_write_timeout() -> None:
    stop = asyncio.Event()

    async def deaf(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        await stop.wait()  # never reads the body, never answers

    async def endless() -> AsyncIterator[bytes]:
        while True:
            yield b"z" * 65536

    transport = AiohttpTransport()
    async with Server(deaf) as server:
        request = httpx.Request(
            "POST", server.url + "/u", content=endless(), extensions={"timeout": {"write": 0.2, "read": 10.0}}
        )
        loop = asyncio.get_running_loop()
        start = loop.time()
        with pytest.raises(httpx.WriteTimeout) as caught:
            await transport.handle_async_request(request)
        elapsed = loop.time() - start
        stop.set()
    await transport.aclose()
    assert str(caught.value) == "the server stopped reading the request body"
    assert caught.value.request is request
    assert 0.2 <= elapsed < 5.0


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
@pytest.mark.anyio
async def test_cookies_a_server_sets_are_not_sent_back() -> None:
    heads: list[bytes] = []  # asked by name: aiohttp's default cookie jar ignores cookies of IP addresses

    async def answers(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        for _ in range(2):
            head, _body = await read_request(reader)
            heads.append(head.lower())
            writer.write(b"HTTP/1.1 200 OK\r\nSet-Cookie: session=abc; Path=/\r\nContent-Length: 2\r\n\r\n{}")
            await writer.drain()

    transport = AiohttpTransport()
    async with Server(answers) as server:
        for _ in range(2):
            await transport.handle_async_request(
                httpx.Request("GET", server.url.replace("127.0.0.1", "localhost") + "/x")
            )
    await transport.aclose()
    assert len(heads) == 2
    assert b"cookie" not in heads[1]


# --- the settings each transport gives its pool, and what each answer status becomes -------------------------


def serve_each(
    head: bytes = b"HTTP/1.1 200 OK", body: bytes = b"{}", delay: float = 0.0, seen: list[bytes] | None = None
) -> Any:
    """A connection handler answering every request on its connection with ``head`` and ``body``."""

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            try:
                request_head, _ = await read_request(reader)
            except asyncio.IncompleteReadError:
                return
            if seen is not None:
                seen.append(request_head.split(b"\r\n", 1)[0])
            await asyncio.sleep(delay)
            writer.write(head + b"\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
            await writer.drain()

    return serve


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
@pytest.mark.anyio
@pytest.mark.parametrize(("status", "read"), [(200, True), (299, True), (300, False)])
async def test_exactly_the_2xx_answers_arrive_read(status: int, read: bool) -> None:
    transport = AiohttpTransport()
    async with Server(serve_each(b"HTTP/1.1 %d Some" % status)) as server:
        request = httpx.Request("GET", server.url + "/x")
        response = await transport.handle_async_request(request)
        assert response.status_code == status and response.request is request
        if read:
            assert response.content == b"{}"  # no aread: the body came read
        else:
            with pytest.raises(httpx.ResponseNotRead):
                _ = response.content
            assert await response.aread() == b"{}"
        await response.aclose()
    await transport.aclose()


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
@pytest.mark.anyio
async def test_a_redirect_comes_back_as_it_is_and_is_not_followed() -> None:
    transport = AiohttpTransport()
    seen: list[bytes] = []
    async with Server(serve_each(b"HTTP/1.1 302 Found\r\nLocation: /elsewhere", b"", seen=seen)) as server:
        response = await transport.handle_async_request(httpx.Request("GET", server.url + "/x"))
        assert (response.status_code, response.headers["location"]) == (302, "/elsewhere")
        await response.aclose()
    await transport.aclose()
    assert seen == [b"GET /x HTTP/1.1"]


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
@pytest.mark.anyio
@pytest.mark.parametrize(("line", "phrase"), [("HTTP/1.1 200 Ok ✓", "Ok ?"), ("HTTP/1.1 404", "")])
async def test_a_reason_phrase_outside_latin_1_or_missing_is_kept_as_far_as_it_can_be(line: str, phrase: str) -> None:
    transport = AiohttpTransport()
    async with Server(serve_each(line.encode())) as server:
        response = await transport.handle_async_request(httpx.Request("GET", server.url + "/x"))
        await response.aclose()
    await transport.aclose()
    assert response.reason_phrase == phrase


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
@pytest.mark.anyio
async def test_an_error_body_cut_short_is_a_read_error_saying_what_aiohttp_said_with_no_exception_behind_it() -> None:
    cut = answering(b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 100\r\n\r\npartial")
    transport = AiohttpTransport()
    async with Server(cut) as server:
        response = await transport.handle_async_request(httpx.Request("GET", server.url + "/x"))
        with pytest.raises(
            httpx.ReadError,
            match=r"^Response payload is not completed: .*Not enough data to satisfy content length header",
        ) as caught:
            await response.aread()
        await response.aclose()
    await transport.aclose()
    assert caught.value.__cause__ is None and caught.value.__context__ is None


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
@pytest.mark.anyio
async def test_a_connection_idle_past_the_keepalive_expiry_is_not_reused(monkeypatch: pytest.MonkeyPatch) -> None:
    # aiohttp's pool dates idle connections by ``time.monotonic`` (its module's own name for it): stopped
    # here, so "back to back" does not depend on how soon a loaded machine ran the second request.
    now = [1000.0]
    monkeypatch.setattr(aiohttp.connector, "monotonic", lambda: now[0])
    transport = AiohttpTransport(keepalive_expiry=0.05)
    async with Server(serve_each()) as server:
        for _ in range(2):
            await transport.handle_async_request(httpx.Request("GET", server.url + "/x"))
        assert server.connections == 1  # back to back: the pooled connection serves the second
        now[0] += 0.06
        await transport.handle_async_request(httpx.Request("GET", server.url + "/x"))
        assert server.connections == 2
    await transport.aclose()


async def concurrent_gets(transport: httpx.AsyncBaseTransport, url: str, count: int) -> None:
    async def get() -> None:
        response = await transport.handle_async_request(httpx.Request("GET", url + "/x"))
        await response.aread()
        await response.aclose()

    await asyncio.gather(*(get() for _ in range(count)))


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
@pytest.mark.anyio
@pytest.mark.parametrize("kind", [AiohttpTransport, HttpxTransport])
@pytest.mark.parametrize(("limit", "connections"), [(1, 1), (4, 3)])
async def test_max_connections_is_the_pools_only_limit_even_to_one_host(
    kind: type[AiohttpTransport | HttpxTransport], limit: int, connections: int
) -> None:
    """No per-host limit below ``max_connections``: the SDK talks to one host, so that limit is the pool's."""
    transport = kind(max_connections=limit, trust_env=False)
    async with Server(serve_each(delay=0.05)) as server:
        await concurrent_gets(transport, server.url, 3)
        assert server.connections == connections
    await transport.aclose()


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
@pytest.mark.anyio
async def test_the_aiohttp_transports_pooled_connections_are_checked_before_reuse() -> None:
    transport = AiohttpTransport()
    async with Server(serve_each()) as server:
        await transport.handle_async_request(httpx.Request("GET", server.url + "/x"))
        assert transport._session is not None and transport._session.connector is not None
        pooled = [proto for conns in transport._session.connector._conns.values() for proto, _ in conns]
        assert len(pooled) == 1 and type(pooled[0]) is _FreshnessCheckedHandler
    await transport.aclose()


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
@pytest.mark.anyio
async def test_checking_a_pooled_connection_does_not_wait_for_it() -> None:
    ours, peer = socket.socketpair()
    with ours, peer:
        handler = handler_on(FakeTransport(ours))
        start = time.perf_counter()
        assert handler.is_connected() is True
        assert time.perf_counter() - start < 0.5  # a poll, not a wait: the event loop is not held up


class OddConnector:
    def __init__(self, factory: object = None) -> None:
        if factory is not None:
            self._factory = factory


@pytest.mark.parametrize(
    "connector",
    [OddConnector(), OddConnector(ResponseHandler), OddConnector(functools.partial(print))],
    ids=["no-factory", "plain-class", "other-partial"],
)
def test_a_connector_of_another_make_is_left_alone(connector: OddConnector) -> None:
    before = getattr(connector, "_factory", None)
    _check_before_reuse(connector)  # type: ignore[arg-type]
    assert getattr(connector, "_factory", None) is before


def test_the_checked_protocol_keeps_the_factorys_positional_arguments() -> None:
    connector = OddConnector(functools.partial(ResponseHandler, "loop", x=1))  # type: ignore[call-arg,arg-type]
    _check_before_reuse(connector)  # type: ignore[arg-type]
    factory = connector._factory
    assert isinstance(factory, functools.partial)
    assert (factory.func, factory.args, factory.keywords) == (_FreshnessCheckedHandler, ("loop",), {"x": 1})


# --- the transports' defaults: verify and read the environment, as httpx.AsyncClient does ------------------------


@pytest.fixture
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


PROXY_VARIABLES = [f"{name}{suffix}" for name in ("http", "https", "all", "no") for suffix in ("_proxy", "_PROXY")]
PROXY_VARIABLES += ["SSL_CERT_FILE", "SSL_CERT_DIR"]

SHORT = {"connect": 5.0, "read": 5.0, "write": 5.0, "pool": 5.0}
DEFAULTS: list[Callable[[], httpx.AsyncBaseTransport]] = [
    AiohttpTransport,
    HttpxTransport,
    functools.partial(DefaultTransport, max_connections=2),
]


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
@pytest.mark.anyio
@pytest.mark.parametrize("make", DEFAULTS, ids=["aiohttp", "httpx", "default"])
async def test_by_default_a_certificate_from_an_unknown_ca_is_refused(
    make: Callable[[], httpx.AsyncBaseTransport], clean_environment: pytest.MonkeyPatch
) -> None:
    ca = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    served: list[bytes] = []

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        served.append(await reader.read(1))
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0, ssl=context)
    port = server.sockets[0].getsockname()[1]
    transport = make()
    try:
        with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
            await transport.handle_async_request(
                httpx.Request("GET", f"https://127.0.0.1:{port}/x", extensions={"timeout": SHORT})
            )
    finally:
        await transport.aclose()
        server.close()
    assert served in ([], [b""])  # no request reached the server


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
@pytest.mark.anyio
@pytest.mark.parametrize("make", DEFAULTS, ids=["aiohttp", "httpx", "default"])
async def test_by_default_the_proxy_in_the_environment_is_used(
    make: Callable[[], httpx.AsyncBaseTransport], clean_environment: pytest.MonkeyPatch
) -> None:
    lines: list[bytes] = []

    async def proxy(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head, _ = await read_request(reader)
        lines.append(head.split(b"\r\n", 1)[0])
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}")
        await writer.drain()

    async with Server(proxy) as server:
        clean_environment.setenv("HTTP_PROXY", server.url)
        transport = make()
        response = await transport.handle_async_request(httpx.Request("GET", "http://dify.invalid/x"))
        await transport.aclose()
    assert response.status_code == 200
    assert lines == [b"GET http://dify.invalid/x HTTP/1.1"]


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
@pytest.mark.anyio
async def test_a_default_transport_closed_before_its_first_request_refuses_it() -> None:
    transport = DefaultTransport(max_connections=2)
    await transport.aclose()
    with pytest.raises(TransportClosedError, match=r"^the transport is closed$"):
        await transport.handle_async_request(httpx.Request("GET", "http://127.0.0.1:9/"))
    assert transport.inner is None


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
@pytest.mark.anyio
async def test_an_abandoned_aiohttp_transport_refuses_requests() -> None:
    transport = AiohttpTransport()
    assert transport.abandon() is False  # nothing was open
    with pytest.raises(TransportClosedError, match=r"^the transport is closed$"):
        await transport.handle_async_request(httpx.Request("GET", "http://127.0.0.1:9/"))
    assert transport._session is None


# --- aiohttp: letting go of the request body -------------------------------------------------------------------


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
@pytest.mark.anyio
async def test_release_waits_for_a_stuck_pull_no_longer_than_the_writer_release_wait(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(_transport, "WRITER_RELEASE_WAIT", 0.05)

    async def stuck() -> AsyncIterator[bytes]:
        await asyncio.Event().wait()
        yield b"never"

    body = _RequestBody(stuck(), None, lambda: None)
    pulling = asyncio.ensure_future(anext(body))
    await asyncio.sleep(0)
    loop = asyncio.get_running_loop()
    start = loop.time()
    await asyncio.wait_for(body.release(), 2.0)
    assert 0.05 <= loop.time() - start < 1.0
    assert not pulling.done()
    pulling.cancel()


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
@pytest.mark.anyio
async def test_release_waits_for_the_chunk_being_read_even_in_a_cancelled_scope() -> None:
    """The exchange's ``finally`` releases the body while the caller is being cancelled: the wait is shielded."""
    gate, order, body, pulling = await _pulling_a_slow_chunk()
    asyncio.get_running_loop().call_later(0.02, gate.set)
    with anyio.CancelScope() as scope:
        scope.cancel()
        await body.release()
        order.append("released")
    gate.set()
    assert await pulling == b"a"
    assert order == ["read", "released"]
