"""The default transport: aiohttp under asyncio, httpx's own under trio.

httpx's default (httpcore) pool scans every connection for every request, so its cost per call
grows with concurrency; aiohttp's does not. ``AiohttpTransport`` is an ``httpx.AsyncBaseTransport``
so auth, the request model and ``MockTransport``/respx keep working unchanged.

Exceptions are mapped so the retry policy can tell "never sent" from "sent, answer lost"
(httpx-aiohttp 0.2.0 maps every aiohttp connection error to ``ConnectTimeout``, which would let
a create be re-sent after the server received it):

==========================================  ===========================  ==================
aiohttp                                     httpx                        reached the server?
==========================================  ===========================  ==================
``ClientConnectorError`` (refused, DNS)     ``ConnectError``             no
``ConnectionTimeoutError`` (connect/pool)   ``ConnectTimeout``           no
``SocketTimeoutError`` (read)               ``ReadTimeout``              maybe
``ServerDisconnectedError``                 ``RemoteProtocolError``      maybe
``ClientPayloadError``                      ``ReadError``                yes
other ``ClientOSError`` / ``ClientError``   ``ReadError``                maybe
==========================================  ===========================  ==================

aiohttp has no write timeout; connect covers waiting for a pooled connection plus connecting.

Proxies and TLS (``proxy=``, ``verify=``, ``trust_env=``) are decided in ``_netconfig`` for both
inner transports alike.
"""

from __future__ import annotations

import asyncio
import base64
import functools
from collections.abc import AsyncIterable

import aiohttp
import httpx

from ._netconfig import ProxyChooser, VerifyTypes, ssl_context

__all__ = ["AiohttpTransport", "DefaultTransport", "HttpxTransport"]


def _client_timeout(timeout: dict[str, float | None]) -> aiohttp.ClientTimeout:
    return _timeout(timeout.get("connect"), timeout.get("pool"), timeout.get("read"))


@functools.lru_cache(maxsize=256)
def _timeout(connect: float | None, pool: float | None, read: float | None) -> aiohttp.ClientTimeout:
    """aiohttp's timeout for httpx's per-request one (cached: most calls share the client's defaults)."""
    acquire = None if connect is None and pool is None else (connect or 0.0) + (pool or 0.0)
    return aiohttp.ClientTimeout(total=None, connect=acquire, sock_connect=connect, sock_read=read)


def _map_error(exc: BaseException, request: httpx.Request) -> httpx.TransportError:
    message = str(exc) or type(exc).__name__
    if isinstance(exc, aiohttp.ClientConnectorError):
        return httpx.ConnectError(message, request=request)
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        return httpx.ConnectTimeout(message, request=request)
    if isinstance(exc, aiohttp.ServerTimeoutError | asyncio.TimeoutError):
        return httpx.ReadTimeout(message, request=request)
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return httpx.RemoteProtocolError(message, request=request)
    if isinstance(exc, aiohttp.InvalidURL):
        return httpx.UnsupportedProtocol(message, request=request)
    return httpx.ReadError(message, request=request)


def _reason(phrase: str | None) -> bytes:
    """The status line's reason phrase as bytes, whatever characters a server put there."""
    return (phrase or "").encode("latin-1", "replace")


class AiohttpTransport(httpx.AsyncBaseTransport):
    """An httpx transport on an aiohttp session (asyncio only), opened on first use."""

    def __init__(
        self,
        *,
        max_connections: int = 64,
        keepalive_expiry: float = 15.0,
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

    def _open(self) -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(
            limit=self._max_connections,
            limit_per_host=0,
            keepalive_timeout=self._keepalive_expiry,
            ssl=ssl_context(self._verify, self._trust_env),
        )
        # httpx decodes Content-Encoding itself; aiohttp must hand over the raw bytes.
        self._session = aiohttp.ClientSession(
            connector=connector, auto_decompress=False, cookie_jar=aiohttp.DummyCookieJar()
        )
        return self._session

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        session = self._session or self._open()
        data: bytes | AsyncIterable[bytes]
        try:
            data = request.content
        except httpx.RequestNotRead:
            stream = request.stream
            assert isinstance(stream, AsyncIterable)
            data = stream
        timeout = _client_timeout(request.extensions.get("timeout", {}))
        proxy, proxy_headers = _aiohttp_proxy(self._proxies(request.url)) if self._proxies.active else (None, None)
        try:
            async with session.request(
                request.method,
                str(request.url),
                headers=request.headers.multi_items(),
                data=data if data else None,
                timeout=timeout,
                allow_redirects=False,
                proxy=proxy,
                proxy_headers=proxy_headers,
            ) as response:
                content = await response.read()
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise _map_error(exc, request) from exc
        result = httpx.Response(
            response.status,
            headers=response.raw_headers,
            stream=httpx.ByteStream(content),
            request=request,
            extensions={
                "http_version": b"HTTP/1.1",
                "reason_phrase": (response.reason or "").encode("latin-1", "replace"),
            },
        )
        if "content-encoding" not in result.headers:
            # The body is already complete and needs no decoding: hand it over as read, which
            # saves httpx's chunk-and-decode pass (a tenth of a list call's client CPU).
            result._content = content
        return result

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def abandon(self) -> bool:
        """Close the pool without awaiting, for a client collected unclosed; True if one was open."""
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
    """aiohttp's ``proxy`` and ``proxy_headers``; credentials in the URL become ``Proxy-Authorization``."""
    if proxy is None:
        return None, None
    headers = None
    if proxy.username:
        basic = base64.b64encode(f"{proxy.username}:{proxy.password}".encode()).decode("ascii")
        headers = {"Proxy-Authorization": f"Basic {basic}"}
    return str(proxy.copy_with(username=None, password=None)), headers


class HttpxTransport(httpx.AsyncBaseTransport):
    """httpx's own transport with the same proxy choice as ``AiohttpTransport``: one pool per proxy."""

    def __init__(
        self,
        *,
        max_connections: int = 64,
        proxy: str | httpx.URL | None = None,
        verify: VerifyTypes = True,
        trust_env: bool = True,
    ) -> None:
        self._limits = httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections)
        self._proxies = ProxyChooser(proxy, trust_env)
        self._verify = verify
        self._trust_env = trust_env
        self._pools: dict[httpx.URL | None, httpx.AsyncHTTPTransport] = {}

    def _pool(self, proxy: httpx.URL | None) -> httpx.AsyncHTTPTransport:
        pool = self._pools.get(proxy)
        if pool is None:
            verify = ssl_context(self._verify, self._trust_env)
            # trust_env=False: the environment was read above; httpx must not read it a second time.
            pool = httpx.AsyncHTTPTransport(
                limits=self._limits, verify=verify, proxy=httpx.Proxy(proxy) if proxy else None, trust_env=False
            )
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

    def _choose(self) -> httpx.AsyncBaseTransport:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            kind: type[HttpxTransport | AiohttpTransport] = HttpxTransport
        else:
            kind = AiohttpTransport
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
        if self._inner is not None:
            await self._inner.aclose()

    def abandon(self) -> bool:
        """See ``AiohttpTransport.abandon``; httpx's own pool needs nothing (it does not warn)."""
        return isinstance(self._inner, AiohttpTransport) and self._inner.abandon()

    def __repr__(self) -> str:
        return f"DefaultTransport(inner={self._inner!r})"
