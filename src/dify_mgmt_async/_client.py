"""``DifyManagementClient``: configuration, lifecycle and the namespaces."""

from __future__ import annotations

import copy
import enum
import inspect
import os
import re
import warnings
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Final, Literal, Self, TypeVar, cast

import httpx

from . import _validation as _v
from ._auth import BearerAuth, TokenProvider
from ._constants import (
    DEFAULT_MAX_CONCURRENCY,
    DEFAULT_MAX_RATE_LIMIT_RETRIES,
    DEFAULT_MAX_RETRIES,
    DEFAULT_MAX_RETRY_WAIT,
    DEFAULT_TIMEOUT,
    ENV_BASE_URL,
    ENV_TOKEN,
)
from ._core import ClientState, Core, RawResponse, RequestOptions, RetryEvent, capture_raw, split_timeout
from ._datasets import DatasetsNamespace
from ._errors import ConfigurationError
from ._logs import setup_from_env
from ._netconfig import ProxyChooser, VerifyTypes, check_verify
from ._ratelimit import RateLimitEngine, Stats
from ._resources import Namespaces
from ._retry import RetryConfig
from ._store import RateLimitStore, SharedRateState, namespace_for
from ._transport import ClientTransport, DefaultTransport

__all__ = ["DifyManagementClient"]


class _NotGiven(enum.Enum):
    """A keyword left out of ``with_options`` (``None`` means something there: no deadline, no hook)."""

    NOT_GIVEN = enum.auto()


_NOT_GIVEN: Final = _NotGiven.NOT_GIVEN
T = TypeVar("T")

setup_from_env()  # DIFY_MGMT_LOG=debug turns the SDK's logging on without code


def _timeouts(timeout: object) -> tuple[httpx.Timeout, float | None]:
    return split_timeout("timeout", timeout, ConfigurationError)


def _without_credentials(url: str) -> tuple[str, bool]:
    """``url`` for a message, with nothing before its last ``@`` (a ``user:password@``, found however the URL is
    mistyped: without a scheme or its ``//``, or with a ``/``, ``#`` or ``?`` in the password); and whether its
    authority holds one (an ``@`` before the path, as RFC 3986 reads it)."""
    if "@" not in url:
        return url, False
    scheme, separator, rest = url.partition("://")
    if not separator or "/" in scheme:
        scheme, separator, rest = "", "", url.removeprefix("//")
    end = next((i for i, c in enumerate(rest) if c in "/?#"), len(rest))
    return f"{scheme}{separator}{url.rpartition('@')[2]}", "@" in rest[:end]


def _base_url(value: str | None) -> str:
    url = value if value is not None else os.environ.get(ENV_BASE_URL)
    if not url:
        raise ConfigurationError(f"base_url: not given, and the environment variable {ENV_BASE_URL} is not set")
    shown, credentials = _without_credentials(url)
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        # httpx's reason may quote the password ("Invalid port: 'pw'"): left out if it holds any piece of it
        secret = [piece for piece in re.split(r"[:/?#@]", url.rpartition("@")[0]) if piece]
        why = "" if any(piece in str(exc) for piece in secret) else f": {exc}"
        raise ConfigurationError(f"base_url: not a valid URL{why} (got {shown!r})") from None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise ConfigurationError(f"base_url: must be an http(s) URL such as https://dify.example.com (got {shown!r})")
    if credentials:
        # The API takes the bearer token; credentials in the URL would be a second Authorization (aiohttp refuses
        # the pair with a raw ValueError at the first call) and would show in every repr and log line.
        raise ConfigurationError(
            f"base_url: must not hold credentials (user:password@); the token authenticates (got {shown!r})"
        )
    return url.rstrip("/")


def _shared_state(store: str | RateLimitStore | None, base_url: str, token: object) -> SharedRateState | None:
    """The engine's state in ``rate_limit_store``: a URL opens a Redis store the client owns."""
    if store is None:
        return None
    owned = isinstance(store, str)
    if isinstance(store, str):
        from ._redis_store import RedisRateLimitStore  # redis-py only when asked for

        store = RedisRateLimitStore(store)
    elif not isinstance(store, RateLimitStore):
        raise ConfigurationError(
            f"rate_limit_store: expected a redis:// URL or a RateLimitStore (got {type(store).__name__})"
        )
    else:
        try:
            inspect.signature(store.unreserve).bind("namespace", 0.1, 0.0)
        except TypeError:
            # (it would fail only when a send gives its slot back, and in place of that send's cancellation)
            raise ConfigurationError(
                f"rate_limit_store: {type(store).__name__}.unreserve must take (namespace, interval, slot): "
                "the slot given back, on the store's clock, became an argument after 0.1.0 (see the CHANGELOG)"
            ) from None
        except ValueError:
            pass  # no signature to read (a builtin): trust the protocol
    return SharedRateState(store, namespace_for(base_url, token if isinstance(token, str) else None), owned=owned)


def _hook(value: object) -> Callable[[RetryEvent], object] | None:
    """``on_retry``, checked when the client or a view is made (``_validation.callback``)."""
    _v.callback("on_retry", value, called_as="on_retry(event)", when="before each retry", error=ConfigurationError)
    return cast("Callable[[RetryEvent], object] | None", value)


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

    ``proxy`` (an ``http://`` or ``https://`` URL, credentials allowed), ``verify`` (``True``, ``False``,
    a CA bundle file or directory, or an ``ssl.SSLContext``) and ``trust_env`` (default ``True``:
    ``HTTPS_PROXY``, ``HTTP_PROXY``, ``ALL_PROXY``, ``NO_PROXY``, ``SSL_CERT_FILE``, ``SSL_CERT_DIR``)
    configure the default transport as they would ``httpx.AsyncClient``.

    ``rate_limit_store``: ``"redis://host:port/db"`` or a ``RateLimitStore`` shares the cooldown
    gate, the learned rate and the pacing schedule with every process using the same store, server
    and token (needs the ``[redis]`` extra; asyncio only). Default: this client's own, in-process.

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
        proxy: str | httpx.URL | None = None,
        verify: VerifyTypes = True,
        trust_env: bool = True,
        rate_limit_store: str | RateLimitStore | None = None,
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
            on_retry=_hook(on_retry),
        )
        if http_client is not None and transport is not None:
            raise ConfigurationError("http_client, transport: give one or the other")
        verify = check_verify(verify)
        if type(trust_env) is not bool:
            raise ConfigurationError(f"trust_env: must be True or False (got {trust_env!r})")
        if proxy is not None:
            ProxyChooser(proxy, trust_env)  # a bad proxy URL fails here, before anything is sent
        if (http_client is not None or transport is not None) and (
            proxy is not None or verify is not True or trust_env is not True
        ):
            raise ConfigurationError(
                "proxy, verify, trust_env: they configure the default transport; set them on your own "
                "transport or http_client instead"
            )
        # Every request takes one path, through a transport: ours by default, the caller's, or
        # the caller's http_client adapted to one. The client owns (and closes) all but the last.
        shared = _shared_state(rate_limit_store, self.base_url, token)  # checked before anything is opened
        self._owns_transport = http_client is None
        self._is_view = False
        chosen: httpx.AsyncBaseTransport
        if http_client is not None:
            chosen = ClientTransport(http_client)
        else:
            chosen = transport or DefaultTransport(
                max_connections=max_concurrency, proxy=proxy, verify=verify, trust_env=trust_env
            )
        engine = RateLimitEngine(max_concurrency, state=shared)
        self._state = ClientState(chosen, auth, engine, self.base_url)
        self._core = Core(self._state, options)
        self._parent: DifyManagementClient | None = None  # a with_options view keeps its client alive
        self._bind_namespaces(self._core)

    @staticmethod
    def _retry_config(max_retries: int, max_rate_limit_retries: int | None, max_retry_wait: float) -> RetryConfig:
        max_retries = _count("max_retries", max_retries, 0)
        if max_rate_limit_retries is None:
            max_rate_limit_retries = 0 if max_retries == 0 else DEFAULT_MAX_RATE_LIMIT_RETRIES
        max_rate_limit_retries = _count("max_rate_limit_retries", max_rate_limit_retries, 0)
        if type(max_retry_wait) not in (int, float) or not max_retry_wait >= 0:  # (NaN too)
            raise ConfigurationError(f"max_retry_wait: must be a number of seconds >= 0 (got {max_retry_wait!r})")
        return RetryConfig(
            max_retries=max_retries,
            max_rate_limit_retries=max_rate_limit_retries,
            max_retry_wait=float(max_retry_wait),
        )

    def with_options(
        self,
        *,
        timeout: float | httpx.Timeout | Literal[_NotGiven.NOT_GIVEN] | None = _NOT_GIVEN,
        max_retries: int | None = None,
        max_rate_limit_retries: int | None = None,
        max_retry_wait: float | None = None,
        on_retry: Callable[[RetryEvent], object] | Literal[_NotGiven.NOT_GIVEN] | None = _NOT_GIVEN,
    ) -> Self:
        """A view with other retry/timeout settings that shares this client's connections, gate and limits.

        Closing the view does nothing; close the client it came from.
        """
        options = self._core.options
        retry = options.retry
        asked_rate_limit_retries = max_rate_limit_retries  # (derived below when not given: not to be kept as given)
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
            attempt_timeout, deadline = _timeouts(timeout)
        hook = options.on_retry if on_retry is _NOT_GIVEN else _hook(on_retry)
        view = copy.copy(self)
        view._is_view = True
        view._parent = self  # the pool's owner lives (and is not collected as unclosed) while views do
        if asked_rate_limit_retries is not None:
            view._rate_limit_retries_given = asked_rate_limit_retries
        view._core = Core(
            self._state,
            RequestOptions(retry=retry, attempt_timeout=attempt_timeout, deadline=deadline, on_retry=hook),
        )
        view._bind_namespaces(view._core)
        return view

    async def with_raw_response(self, call: Awaitable[T]) -> RawResponse[T]:
        """Await one of this client's calls and return its result with the HTTP answer it came from.

        ``raw = await dify.with_raw_response(dify.apps.get(app_id))`` gives ``raw.parsed`` (the
        ``App``), ``raw.status_code``, ``raw.headers`` and ``raw.request_id``. It takes the
        call rather than mirroring every namespace, so the result stays precisely typed.
        For a paginated method it is the page that was fetched.
        """
        return await capture_raw(call)

    @property
    def stats(self) -> Stats:
        """Requests, 429s, retries, cooldown seconds, the concurrency limit and the retry budget, client-wide."""
        return self._state.stats()

    @property
    def is_closed(self) -> bool:
        """True once ``aclose`` was called on this client (or the client it was made from)."""
        return self._state.closed

    async def aclose(self) -> None:
        """Close the client: calls not yet sent fail, and the connection pool is closed.

        Calls in flight end with an error rather than being retried. A view from
        ``with_options`` closes nothing; a caller's ``http_client`` is left open (it is theirs).
        """
        if self._is_view:
            return
        self._state.closed = True
        if self._owns_transport:
            await self._state.transport.aclose()
        if isinstance(self._state.engine.state, SharedRateState):
            await self._state.engine.state.aclose()

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

    def __del__(self) -> None:
        # Collected without aclose(): close the default transport's pool quietly and say so once, in
        # our words, instead of aiohttp's "Unclosed client session" and "Unclosed connector".
        if getattr(self, "_is_view", True) or not getattr(self, "_owns_transport", False):
            return
        transport = self._state.transport
        if isinstance(transport, DefaultTransport) and transport.abandon():
            warnings.warn(
                f"{self!r} was garbage-collected without being closed; its connections were closed now. "
                "Use `async with DifyManagementClient(...) as dify:` or `await dify.aclose()`.",
                ResourceWarning,
                source=self,
                stacklevel=2,
            )
