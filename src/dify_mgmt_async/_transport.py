"""Transports: aiohttp under asyncio (the default), httpx's own under trio, and a caller's ``http_client``.

Every request goes through one interface, ``httpx.AsyncBaseTransport.handle_async_request``;
the core reads the body it returns. What each transport promises the core:

* when ``handle_async_request`` returns or raises, nothing is still reading the request body,
  so the core can close the upload's file at once (aiohttp writes bodies from a task of its own;
  the transport waits for that writer to let go);
* a 2xx comes back already read; any other status comes back as a stream, so the core reads
  only as much of an error body as it keeps;
* errors are httpx's, mapped so the retry policy can tell "never sent" from "sent, answer lost",
  and never chained to an aiohttp exception (whose ``repr`` carries the request headers, the
  token among them).

httpx-aiohttp 0.2.0 maps every aiohttp connection error to ``ConnectTimeout``, which would let a
create be re-sent after the server received it; ours maps them as follows:

==========================================  ===========================  ==================
aiohttp                                     httpx                        reached the server?
==========================================  ===========================  ==================
``ClientConnectorError`` (refused, DNS)     ``ConnectError``             no
``ConnectionTimeoutError`` (connect/pool)   ``ConnectTimeout``           no
``SocketTimeoutError`` (read)               ``ReadTimeout``              maybe
a stalled upload (our watchdog)             ``WriteTimeout``             maybe
``ServerDisconnectedError``                 ``RemoteProtocolError``      maybe
``ClientResponseError`` (bad framing)       ``RemoteProtocolError``      maybe
``ClientPayloadError``                      ``ReadError``                yes
other ``ClientOSError`` / ``ClientError``   ``ReadError``                maybe
==========================================  ===========================  ==================

aiohttp has no write timeout; for streamed bodies a watchdog raises ``WriteTimeout`` when the
writer has not asked for the next chunk within the write timeout. aiohttp's connect timeout
covers waiting for a pooled connection plus connecting.

Proxies and TLS (``proxy=``, ``verify=``, ``trust_env=``) are decided in ``_netconfig`` for both
inner transports alike.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import select
from collections.abc import AsyncIterable, AsyncIterator

import aiohttp
import anyio
import httpx
from aiohttp.client_proto import ResponseHandler

from ._constants import DEFAULT_MAX_CONCURRENCY, KEEPALIVE_EXPIRY, WRITER_RELEASE_WAIT
from ._loop import asyncio_running
from ._netconfig import ProxyChooser, VerifyTypes, ssl_context

__all__ = ["AiohttpTransport", "ClientTransport", "DefaultTransport", "HttpxTransport", "TransportClosedError"]


class TransportClosedError(RuntimeError):
    """A request on a transport that was closed; the core checks first, so users never see this."""


def _client_timeout(timeout: dict[str, float | None]) -> aiohttp.ClientTimeout:
    return _timeout(timeout.get("connect"), timeout.get("pool"), timeout.get("read"))


@functools.lru_cache(maxsize=256)
def _timeout(connect: float | None, pool: float | None, read: float | None) -> aiohttp.ClientTimeout:
    """aiohttp's timeout for httpx's per-request one (cached: most calls share the client's defaults)."""
    acquire = None if connect is None and pool is None else (connect or 0.0) + (pool or 0.0)
    return aiohttp.ClientTimeout(total=None, connect=acquire, sock_connect=connect, sock_read=read)


def _map_error(exc: BaseException, request: httpx.Request) -> httpx.TransportError:
    """httpx's error for an aiohttp one. The message is aiohttp's, with the Authorization value cut out."""
    message = str(exc) or type(exc).__name__
    secret = request.headers.get("authorization")
    if secret:
        message = message.replace(secret, "<redacted>")
        token = secret.partition(" ")[2]
        if token:
            message = message.replace(token, "<redacted>")
    mapped: httpx.TransportError
    if isinstance(exc, aiohttp.ClientConnectorError):
        mapped = httpx.ConnectError(message, request=request)
    elif isinstance(exc, aiohttp.ConnectionTimeoutError):
        mapped = httpx.ConnectTimeout(message, request=request)
    elif isinstance(exc, aiohttp.ServerTimeoutError | asyncio.TimeoutError):
        mapped = httpx.ReadTimeout(message, request=request)
    elif isinstance(exc, aiohttp.ServerDisconnectedError | aiohttp.ClientResponseError):
        mapped = httpx.RemoteProtocolError(message, request=request)
    elif isinstance(exc, aiohttp.InvalidURL):
        mapped = httpx.UnsupportedProtocol(message, request=request)
    else:
        mapped = httpx.ReadError(message, request=request)
    return mapped


class _FreshnessCheckedHandler(ResponseHandler):
    """aiohttp's protocol, with httpcore's check before a pooled connection is reused.

    aiohttp asks ``is_connected`` only of idle pooled connections (before reuse and when
    sweeping the pool). An idle socket with something to read has been closed by the server
    (or sent what nobody asked for), even if the event loop has not yet noticed: a loop kept
    busy for a moment misses the FIN of a server with a short idle timeout (gunicorn: 2 s),
    and a create written to that connection would fail after maybe reaching the server. So it
    is not reused; a fresh connection is made instead.
    """

    def is_connected(self) -> bool:
        if not super().is_connected():
            return False
        sock = self.transport.get_extra_info("socket") if self.transport is not None else None
        if sock is None:
            return True
        try:
            readable, _, _ = select.select([sock], [], [], 0)
        except (OSError, ValueError):
            return False
        return not readable


def _check_before_reuse(connector: aiohttp.TCPConnector) -> None:
    """Make ``connector`` build ``_FreshnessCheckedHandler`` protocols (aiohttp has no public hook for it)."""
    factory = getattr(connector, "_factory", None)
    if isinstance(factory, functools.partial) and factory.func is ResponseHandler:
        connector._factory = functools.partial(_FreshnessCheckedHandler, *factory.args, **factory.keywords)  # type: ignore[assignment]


_WATCHED_BODY = 64 * 1024
"""An in-memory body over this many bytes goes out streamed, its write watched: aiohttp starts a request's read
timer only once the body is written, and a body over the transport's 64 KiB buffer waits to drain, with no timer
at all, when the server stops reading. Smaller ones are buffered whole and never wait."""


_PIECE = 256 * 1024


async def _pieces(content: bytes) -> AsyncIterator[bytes]:
    """An in-memory body in ``_PIECE``-byte pieces: the write watchdog sees each one handed over."""
    for start in range(0, len(content), _PIECE):
        yield content[start : start + _PIECE]


class _RequestBody:
    """A streamed request body as aiohttp's writer task pulls it.

    Lets the transport wait until the writer has let go of the stream (so the caller may close
    it), and notices a stalled write: a chunk handed over and no request for the next one within
    ``write_timeout`` seconds means the peer stopped reading.
    """

    def __init__(self, stream: AsyncIterable[bytes], write_timeout: float | None, on_stall: object) -> None:
        self._chunks = aiter(stream)
        self._write_timeout = write_timeout
        self._on_stall = on_stall
        self._pulling = False
        self._idle = asyncio.Event()
        self._idle.set()
        self._released = False
        self._timer: asyncio.TimerHandle | None = None
        self._connection: aiohttp.connector.Connection | None = None
        #: True once the stream ran out: the whole body was handed to the writer.
        self.finished = False

    def bind(self, connection: aiohttp.connector.Connection | None) -> None:
        """The connection this body goes out on, so a body cut short can keep it out of the pool."""
        self._connection = connection

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self

    async def __anext__(self) -> bytes:
        self._stop_timer()
        if self._released:
            raise StopAsyncIteration
        self._pulling = True
        self._idle.clear()
        try:
            chunk = await anext(self._chunks)
        except StopAsyncIteration:
            self.finished = True
            raise
        finally:
            self._pulling = False
            self._idle.set()
        if self._write_timeout is not None and not self._released:
            self._timer = asyncio.get_running_loop().call_later(self._write_timeout, self._on_stall)  # type: ignore[arg-type]
        return chunk

    def _stop_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    async def release(self) -> None:
        """No more pulls; wait (shielded, bounded) for one in progress to finish.

        A body stopped before its end ends the writer as if it were complete, and aiohttp would
        then pool the connection (once the answer is read) with the server still waiting for the
        rest of the body: it would read the next request as that rest. So the connection is
        marked to close instead.
        """
        self._released = True
        self._stop_timer()
        connection = self._connection
        if not self.finished and connection is not None and connection.protocol is not None:
            connection.protocol.force_close()
        if self._pulling:
            with anyio.move_on_after(WRITER_RELEASE_WAIT, shield=True):
                await self._idle.wait()


class _ErrorBodyStream(httpx.AsyncByteStream):
    """A non-2xx body, read from aiohttp only as far as the core wants it."""

    def __init__(self, response: aiohttp.ClientResponse, request: httpx.Request, *, reusable: bool) -> None:
        self._response = response
        self._request = request
        self._reusable = reusable

    async def __aiter__(self) -> AsyncIterator[bytes]:
        failure: httpx.TransportError | None = None
        try:
            async for chunk in self._response.content.iter_any():
                yield chunk
        except (TimeoutError, aiohttp.ClientError) as exc:
            failure = _map_error(exc, self._request)
        if failure is not None:
            raise failure  # raised outside the except block: no aiohttp exception in its chain

    async def aclose(self) -> None:
        if self._reusable and self._response.content.at_eof():
            self._response.release()  # read to the end: the connection can serve the next request (429 storms)
        else:
            # Left unread (capped, broken), or answered while a streamed body may still be going
            # out (an early 429 or 5xx to an upload): the connection cannot carry another request.
            self._response.close()


class AiohttpTransport(httpx.AsyncBaseTransport):
    """An httpx transport on an aiohttp session (asyncio only), opened on first use, never after ``aclose``."""

    def __init__(
        self,
        *,
        max_connections: int = DEFAULT_MAX_CONCURRENCY,
        keepalive_expiry: float = KEEPALIVE_EXPIRY,
        proxy: str | httpx.URL | None = None,
        verify: VerifyTypes = True,
        trust_env: bool = True,
    ) -> None:
        self._max_connections = max_connections
        self._keepalive_expiry = keepalive_expiry
        self._proxies = ProxyChooser(proxy, trust_env)
        self._verify = verify
        self._trust_env = trust_env
        self._session: aiohttp.ClientSession | None = None
        self._closed = False

    def _open(self) -> aiohttp.ClientSession:
        if self._closed:
            raise TransportClosedError("the transport is closed")
        connector = aiohttp.TCPConnector(
            limit=self._max_connections,
            limit_per_host=0,
            keepalive_timeout=self._keepalive_expiry,
            ssl=ssl_context(self._verify, self._trust_env),
        )
        _check_before_reuse(connector)
        # httpx decodes Content-Encoding itself; aiohttp must hand over the raw bytes.
        self._session = aiohttp.ClientSession(
            connector=connector, auto_decompress=False, cookie_jar=aiohttp.DummyCookieJar()
        )
        # aiohttp sends an idempotent request again, once, when its connection drops: that send would pass by
        # the retry policy (max_retries=0 meant two sends, uncounted by the budget and unseen by on_retry).
        self._session._retry_connection = False
        return self._session

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        session = self._session or self._open()
        timeouts = request.extensions.get("timeout", {})
        try:
            content = request.content  # bytes when the body is in memory (JSON, or none at all)
        except httpx.RequestNotRead:
            assert isinstance(request.stream, AsyncIterable)
            return await self._exchange_streamed(session, request, request.stream, timeouts)
        if len(content) > _WATCHED_BODY and timeouts.get("write") is not None:
            return await self._exchange_streamed(session, request, _pieces(content), timeouts)
        return await self._exchange(session, request, content or None, timeouts)

    async def _exchange_streamed(
        self,
        session: aiohttp.ClientSession,
        request: httpx.Request,
        stream: AsyncIterable[bytes],
        timeouts: dict[str, float | None],
    ) -> httpx.Response:
        """Send a streamed body from a task of our own, so a stalled write can be cut off."""
        stalled = False

        def on_stall() -> None:
            nonlocal stalled
            stalled = True
            exchange.cancel()

        body = _RequestBody(stream, timeouts.get("write"), on_stall)
        exchange = asyncio.ensure_future(self._exchange(session, request, body, timeouts))
        try:
            return await exchange
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if not stalled or (task is not None and task.cancelling()):
                raise
        finally:
            await body.release()
        raise httpx.WriteTimeout("the server stopped reading the request body", request=request)

    async def _exchange(
        self,
        session: aiohttp.ClientSession,
        request: httpx.Request,
        data: bytes | AsyncIterable[bytes] | None,
        timeouts: dict[str, float | None],
    ) -> httpx.Response:
        # httpx marks a body of unknown length as chunked; aiohttp frames it so itself and refuses the header.
        headers = [(k, v) for k, v in request.headers.multi_items() if k != "transfer-encoding"]
        failure: httpx.TransportError | None = None
        proxy, proxy_headers = _aiohttp_proxy(self._proxies(request.url)) if self._proxies.active else (None, None)
        if proxy_headers is not None and request.url.scheme == "http":
            # A plain-http request goes to the proxy as it is (no CONNECT, for which aiohttp keeps proxy_headers):
            # the proxy reads its credentials from the request's own headers. Never so for https: inside the
            # tunnel they would reach the server.
            headers += proxy_headers.items()
            proxy_headers = None
        try:
            response = await session.request(
                request.method,
                str(request.url),
                headers=headers,
                data=data,
                timeout=_client_timeout(timeouts),
                allow_redirects=False,
                proxy=proxy,
                proxy_headers=proxy_headers,
            )
            if isinstance(data, _RequestBody):
                data.bind(response.connection)
            try:
                if 200 <= response.status < 300:
                    content = await response.read()
                    return self._response(request, response, httpx.ByteStream(content), content)
                reusable = not isinstance(data, _RequestBody)
                return self._response(request, response, _ErrorBodyStream(response, request, reusable=reusable), None)
            except BaseException:
                response.close()
                raise
        except (TimeoutError, aiohttp.ClientError) as exc:
            failure = _map_error(exc, request)
        raise failure  # outside the except block: no aiohttp exception (and its headers) in the chain

    @staticmethod
    def _response(
        request: httpx.Request, response: aiohttp.ClientResponse, stream: httpx.AsyncByteStream, content: bytes | None
    ) -> httpx.Response:
        result = httpx.Response(
            response.status,
            headers=response.raw_headers,
            stream=stream,
            request=request,
            extensions={
                "http_version": b"HTTP/1.1",
                "reason_phrase": (response.reason or "").encode("latin-1", "replace"),
            },
        )
        if content is not None and "Content-Encoding" not in response.headers:  # aiohttp's: a C lookup
            # The body is complete and needs no decoding: hand it over as read, which saves
            # httpx's chunk-and-decode pass (a tenth of a list call's client CPU).
            result._content = content
        return result

    async def aclose(self) -> None:
        self._closed = True
        if self._session is not None:
            await self._session.close()
            self._session = None

    def abandon(self) -> bool:
        """Close the pool without awaiting, for a client collected unclosed; True if one was open."""
        self._closed = True
        session, self._session = self._session, None
        if session is None or session.closed:
            return False
        connector = session.connector
        session.detach()  # the session now counts as closed: aiohttp's own warning is not given
        if connector is not None:
            connector._close()  # closes every pooled socket now (what close() does before awaiting)
        return True


@functools.lru_cache(maxsize=8)
def _aiohttp_proxy(proxy: httpx.URL | None) -> tuple[str | None, dict[str, str] | None]:
    """aiohttp's ``proxy`` and ``proxy_headers`` (a CONNECT's); credentials in the URL: ``Proxy-Authorization``."""
    if proxy is None:
        return None, None
    headers = None
    if proxy.userinfo:  # (a password with an empty user name counts too, as httpx.Proxy has it)
        basic = base64.b64encode(f"{proxy.username}:{proxy.password}".encode()).decode("ascii")
        headers = {"Proxy-Authorization": f"Basic {basic}"}
    return str(proxy.copy_with(username=None, password=None)), headers


class HttpxTransport(httpx.AsyncBaseTransport):
    """httpx's own transport with the same proxy choice as ``AiohttpTransport``: one pool per proxy."""

    def __init__(
        self,
        *,
        max_connections: int = DEFAULT_MAX_CONCURRENCY,
        proxy: str | httpx.URL | None = None,
        verify: VerifyTypes = True,
        trust_env: bool = True,
    ) -> None:
        self._limits = httpx.Limits(
            max_connections=max_connections,
            max_keepalive_connections=max_connections,
            keepalive_expiry=KEEPALIVE_EXPIRY,
        )
        self._proxies = ProxyChooser(proxy, trust_env)
        self._verify = verify
        self._trust_env = trust_env
        self._pools: dict[httpx.URL | None, httpx.AsyncHTTPTransport] = {}

    def _pool(self, proxy: httpx.URL | None) -> httpx.AsyncHTTPTransport:
        pool = self._pools.get(proxy)
        if pool is None:
            verify = ssl_context(self._verify, self._trust_env)
            # An https proxy's certificate is checked as the server's is (``verify``), as aiohttp does; httpx alone
            # would check it against certifi only. trust_env=False: the environment was read above.
            tunnel = httpx.Proxy(proxy, ssl_context=verify if proxy.scheme == "https" else None) if proxy else None
            pool = httpx.AsyncHTTPTransport(limits=self._limits, verify=verify, proxy=tunnel, trust_env=False)
            self._pools[proxy] = pool
        return pool

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        proxy = self._proxies(request.url) if self._proxies.active else None
        return await self._pool(proxy).handle_async_request(request)

    async def aclose(self) -> None:
        pools, self._pools = list(self._pools.values()), {}
        for pool in pools:
            await pool.aclose()


class DefaultTransport(httpx.AsyncBaseTransport):
    """aiohttp under asyncio, ``HttpxTransport`` under trio; chosen on the first request.

    ``proxy``, ``verify`` and ``trust_env`` mean what they mean to ``httpx.AsyncClient``.
    """

    def __init__(
        self,
        *,
        max_connections: int,
        proxy: str | httpx.URL | None = None,
        verify: VerifyTypes = True,
        trust_env: bool = True,
    ) -> None:
        self._max_connections = max_connections
        self._proxy, self._verify, self._trust_env = proxy, verify, trust_env
        self._inner: httpx.AsyncBaseTransport | None = None
        self._closed = False

    def _choose(self) -> httpx.AsyncBaseTransport:
        if self._closed:
            raise TransportClosedError("the transport is closed")
        kind: type[AiohttpTransport | HttpxTransport] = AiohttpTransport if asyncio_running() else HttpxTransport
        self._inner = kind(
            max_connections=self._max_connections, proxy=self._proxy, verify=self._verify, trust_env=self._trust_env
        )
        return self._inner

    @property
    def inner(self) -> httpx.AsyncBaseTransport | None:
        return self._inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await (self._inner or self._choose()).handle_async_request(request)

    async def aclose(self) -> None:
        self._closed = True
        if self._inner is not None:
            await self._inner.aclose()

    def abandon(self) -> bool:
        """See ``AiohttpTransport.abandon``; httpx's own pool needs nothing (it does not warn)."""
        self._closed = True
        return isinstance(self._inner, AiohttpTransport) and self._inner.abandon()

    def __repr__(self) -> str:
        return f"DefaultTransport(inner={self._inner!r})"


class ClientTransport(httpx.AsyncBaseTransport):
    """A caller's ``httpx.AsyncClient`` as a transport, so its requests take the same path as ours.

    The client's ``send`` runs, with its event hooks, proxies, pool and redirect setting; its
    default headers fill in what our request lacks, and its own User-Agent (unless httpx's
    default) replaces ours. Our Authorization header is used, not the client's ``auth``.
    Closing the SDK client leaves this client open: it belongs to the caller.
    """

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        for name, value in self.client.headers.multi_items():
            key = name.lower()
            if key == "user-agent":
                if not value.startswith("python-httpx/"):
                    request.headers["User-Agent"] = value
            elif key not in request.headers:
                request.headers[name] = value
        return await self.client.send(request, stream=True, auth=None)

    async def aclose(self) -> None:
        """Nothing: the client was given to us and stays the caller's to close."""
