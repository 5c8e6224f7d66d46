"""``DifyManagementClient``: configuration, lifecycle and the namespaces."""

from __future__ import annotations

import copy
import os
from collections.abc import Callable
from types import TracebackType
from typing import Self

import httpx

from ._auth import BearerAuth, TokenProvider
from ._constants import (
    DEFAULT_MAX_CONCURRENCY,
    DEFAULT_MAX_RATE_LIMIT_RETRIES,
    DEFAULT_MAX_RETRIES,
    DEFAULT_MAX_RETRY_WAIT,
    DEFAULT_TIMEOUT,
    ENV_BASE_URL,
    ENV_TOKEN,
    USER_AGENT,
)
from ._core import Core, RequestOptions, RetryEvent
from ._datasets import DatasetsNamespace
from ._errors import ConfigurationError
from ._ratelimit import RateLimitEngine, Stats
from ._resources import Namespaces
from ._retry import RetryConfig
from ._transport import DefaultTransport

__all__ = ["DifyManagementClient"]

_NOT_GIVEN: object = object()


def _timeouts(timeout: float | httpx.Timeout | None) -> tuple[httpx.Timeout, float | None]:
    """(per-attempt timeouts, whole-call deadline) from the ``timeout`` argument."""
    if isinstance(timeout, httpx.Timeout):
        return timeout, None
    if timeout is None:
        return DEFAULT_TIMEOUT, None
    if type(timeout) not in (int, float) or timeout <= 0:
        raise ConfigurationError(f"timeout: must be a positive number of seconds or an httpx.Timeout (got {timeout!r})")
    return DEFAULT_TIMEOUT, float(timeout)


def _base_url(value: str | None) -> str:
    url = value if value is not None else os.environ.get(ENV_BASE_URL)
    if not url:
        raise ConfigurationError(f"base_url: not given, and the environment variable {ENV_BASE_URL} is not set")
    parsed = httpx.URL(url)
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise ConfigurationError(f"base_url: must be an http(s) URL such as https://dify.example.com (got {url!r})")
    return url.rstrip("/")


def _count(name: str, value: int, minimum: int) -> int:
    if type(value) is not int or value < minimum:
        raise ConfigurationError(f"{name}: must be an integer >= {minimum} (got {value!r})")
    return value


class DifyManagementClient(Namespaces):
    """Async client of the Dify Management API.

    ``base_url`` and ``token`` fall back to ``DIFY_MGMT_BASE_URL`` and ``DIFY_MGMT_TOKEN``.
    ``token`` may be an async callable returning the current token (called per request).

    ``timeout``: a number is the deadline in seconds for a whole call, retries and waits
    included; an ``httpx.Timeout`` sets per-attempt timeouts only (default: 10 s connect,
    60 s read/write, 30 s for a free connection).

    ``max_retries`` (default 2) bounds retries of 408/5xx/network errors, and
    ``max_rate_limit_retries`` (default 5) retries of 429; ``max_retries=0`` disables both.
    ``max_concurrency`` (default 64) bounds requests in flight across all tasks.

    Use it as ``async with DifyManagementClient(...) as dify:`` or call ``aclose()``;
    a client belongs to the event loop it is first used on.
    """

    datasets: DatasetsNamespace
    """Knowledge datasets and their documents, plus ``wait_for_indexing``."""

    def _bind_namespaces(self, core: Core) -> None:
        super()._bind_namespaces(core)
        self.datasets = DatasetsNamespace(core)  # the generated namespace plus hand-written helpers (_datasets)

    def __init__(
        self,
        base_url: str | None = None,
        token: str | TokenProvider | None = None,
        *,
        timeout: float | httpx.Timeout | None = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        max_rate_limit_retries: int | None = None,
        max_retry_wait: float = DEFAULT_MAX_RETRY_WAIT,
        max_concurrency: int = DEFAULT_MAX_CONCURRENCY,
        on_retry: Callable[[RetryEvent], object] | None = None,
        http_client: httpx.AsyncClient | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.base_url = _base_url(base_url)
        if token is None:
            token = os.environ.get(ENV_TOKEN)
            if not token:
                raise ConfigurationError(f"token: not given, and the environment variable {ENV_TOKEN} is not set")
        auth = BearerAuth(token)
        self._rate_limit_retries_given = max_rate_limit_retries  # None: derived from max_retries
        max_concurrency = _count("max_concurrency", max_concurrency, 1)
        options = RequestOptions(
            retry=self._retry_config(max_retries, max_rate_limit_retries, max_retry_wait),
            attempt_timeout=_timeouts(timeout)[0],
            deadline=_timeouts(timeout)[1],
            on_retry=on_retry,
        )
        if http_client is not None and transport is not None:
            raise ConfigurationError("http_client, transport: give one or the other")
        self._owns_http = http_client is None
        own_transport: httpx.AsyncBaseTransport | None = None
        if http_client is None:
            limits = httpx.Limits(max_connections=max_concurrency, max_keepalive_connections=max_concurrency)
            own_transport = transport or DefaultTransport(max_connections=max_concurrency)
            http_client = httpx.AsyncClient(
                transport=own_transport,
                limits=limits,
                timeout=options.attempt_timeout,
                headers={"User-Agent": USER_AGENT},
                follow_redirects=False,
            )
        self._http = http_client
        self._engine = RateLimitEngine(max_concurrency)
        self._core = Core(http_client, auth, self._engine, options, self.base_url, owner={}, transport=own_transport)
        self._bind_namespaces(self._core)

    @staticmethod
    def _retry_config(max_retries: int, max_rate_limit_retries: int | None, max_retry_wait: float) -> RetryConfig:
        max_retries = _count("max_retries", max_retries, 0)
        if max_rate_limit_retries is None:
            max_rate_limit_retries = 0 if max_retries == 0 else DEFAULT_MAX_RATE_LIMIT_RETRIES
        max_rate_limit_retries = _count("max_rate_limit_retries", max_rate_limit_retries, 0)
        if type(max_retry_wait) not in (int, float) or max_retry_wait < 0:
            raise ConfigurationError(f"max_retry_wait: must be a number of seconds >= 0 (got {max_retry_wait!r})")
        return RetryConfig(
            max_retries=max_retries,
            max_rate_limit_retries=max_rate_limit_retries,
            max_retry_wait=float(max_retry_wait),
        )

    def with_options(
        self,
        *,
        timeout: float | httpx.Timeout | object | None = _NOT_GIVEN,
        max_retries: int | None = None,
        max_rate_limit_retries: int | None = None,
        max_retry_wait: float | None = None,
        on_retry: Callable[[RetryEvent], object] | object | None = _NOT_GIVEN,
    ) -> DifyManagementClient:
        """A view with other retry/timeout settings that shares this client's connections, gate and limits.

        Closing the view does nothing; close the client it came from.
        """
        options = self._core.options
        retry = options.retry
        if max_retries is not None or max_rate_limit_retries is not None or max_retry_wait is not None:
            retries = retry.max_retries if max_retries is None else max_retries
            if max_rate_limit_retries is None:
                given = self._rate_limit_retries_given
                max_rate_limit_retries = (
                    0 if retries == 0 else (DEFAULT_MAX_RATE_LIMIT_RETRIES if given is None else given)
                )
            retry = self._retry_config(
                retries,
                max_rate_limit_retries,
                retry.max_retry_wait if max_retry_wait is None else max_retry_wait,
            )
        attempt_timeout, deadline = options.attempt_timeout, options.deadline
        if timeout is not _NOT_GIVEN:
            attempt_timeout, deadline = _timeouts(timeout)  # type: ignore[arg-type]
        hook = options.on_retry if on_retry is _NOT_GIVEN else on_retry
        view = copy.copy(self)
        view._owns_http = False
        if max_rate_limit_retries is not None:
            view._rate_limit_retries_given = max_rate_limit_retries
        view._core = Core(
            self._http,
            self._core.auth,
            self._engine,
            RequestOptions(retry=retry, attempt_timeout=attempt_timeout, deadline=deadline, on_retry=hook),  # type: ignore[arg-type]
            self.base_url,
            owner=self._core._owner,
            transport=self._core.transport,
        )
        view._bind_namespaces(view._core)
        return view

    @property
    def stats(self) -> Stats:
        """Requests, 429s, retries, cooldown seconds, the concurrency limit and the retry budget, client-wide."""
        return self._engine.stats()

    async def aclose(self) -> None:
        """Close the connection pool (unless it was passed in as ``http_client``)."""
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        return f"DifyManagementClient(base_url={self.base_url!r})"
