"""The one request path every generated method goes through.

``request``/``paginate``/``upload`` take a generated operation module (``_generated.api...``)
and its keyword arguments. The module's ``_get_kwargs`` builds method, URL, query and JSON
body (so nothing endpoint-specific lives here); ``send`` runs the attempt loop (gate, limiter,
auth, transport, retry policy); a non-2xx answer becomes an ``APIStatusError`` via
``_errors.from_response`` and never reaches the generated parser, which assumes JSON; a 2xx
answer is parsed by the module's ``_parse_response`` into the generated attrs model, and a body
that does not fit becomes ``APIResponseValidationError``.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import AsyncGenerator, Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any, TypeVar, overload

import anyio
import httpx

from ._auth import BearerAuth
from ._constants import USER_AGENT
from ._errors import (
    APIConnectionError,
    APIError,
    APIResponseValidationError,
    APITimeoutError,
    DifyError,
    from_response,
    retry_after_hint,
)
from ._generated.client import Client as _GeneratedClient
from ._pagination import AsyncPager
from ._ratelimit import RateLimitEngine, loop_time
from ._retry import Decision, RetryConfig, decide
from ._uploads import FileInput, MultipartBody, ProgressCallback, prepare_upload

__all__ = ["Core", "RequestOptions", "RetryEvent"]

logger = logging.getLogger("dify_mgmt_async")

T = TypeVar("T")
_PARSE_ERRORS = (ValueError, KeyError, TypeError, AttributeError, IndexError, RecursionError)
_CONNECT_CAP = 10.0


@dataclass(frozen=True)
class RetryEvent:
    """Passed to the ``on_retry`` hook before each retry."""

    method: str
    url: str
    attempt: int  # the retry's number, from 1
    wait: float  # seconds until it is sent (at the gate, for a 429)
    reason: str
    status_code: int | None


@dataclass(frozen=True)
class RequestOptions:
    """Per-view settings; ``with_options`` makes a copy with some of them changed."""

    retry: RetryConfig = field(default_factory=RetryConfig)
    #: Per-attempt httpx timeouts.
    attempt_timeout: httpx.Timeout = field(default_factory=lambda: httpx.Timeout(60.0, connect=10.0, pool=30.0))
    #: Seconds for the whole call, all attempts and waits included; None for no overall deadline.
    deadline: float | None = None
    on_retry: Callable[[RetryEvent], object] | None = None


def _loop_identity() -> object:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        import trio

        return trio.lowlevel.current_trio_token()


class Core:
    """Sends requests for one client view. Views made by ``with_options`` share ``http``, ``engine`` and ``auth``."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        auth: BearerAuth,
        engine: RateLimitEngine,
        options: RequestOptions,
        base_url: str,
        owner: dict[str, object],
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.http = http
        # With a transport (the client built ``http`` itself), requests skip httpx.AsyncClient.send:
        # no cookie jar, redirects or event hooks to run, which is most of httpx's cost per call.
        # A caller's own ``http_client`` goes through its ``send``, hooks and all.
        self.transport = transport
        self._headers = [(k, v) for k, v in http.headers.multi_items() if k.lower() != "host"]
        # A caller's own client keeps its User-Agent unless it is httpx's default; ours is sent per
        # request then, without changing their client.
        agent = http.headers.get("User-Agent", "")
        self._agent = {"User-Agent": USER_AGENT} if not agent or agent.startswith("python-httpx/") else None
        self.auth = auth
        self.engine = engine
        self.options = options
        self.base_url = base_url.rstrip("/")
        self._owner = owner  # shared by views: the event loop the client is bound to
        self._parse_client = _GeneratedClient(base_url=self.base_url, raise_on_unexpected_status=False)

    # --- the three entry points used by the generated namespaces -------------------------

    @overload
    async def request(self, op: ModuleType, kwargs: dict[str, Any], expect: type[T]) -> T: ...
    @overload
    async def request(self, op: ModuleType, kwargs: dict[str, Any], expect: None) -> None: ...
    async def request(self, op: ModuleType, kwargs: dict[str, Any], expect: type[T] | None) -> T | None:
        built = op._get_kwargs(**kwargs)
        response = await self.send(built["method"], built["url"], params=built.get("params"), json=built.get("json"))
        return self._parse(op, response, expect)

    def paginate(
        self, op: ModuleType, kwargs: dict[str, Any], page_type: type[T], item_type: type[Any]
    ) -> AsyncPager[Any, Any]:
        async def fetch(page_kwargs: dict[str, Any]) -> T:
            return await self.request(op, page_kwargs, page_type)

        return AsyncPager(fetch, kwargs)

    async def upload(
        self,
        op: ModuleType,
        kwargs: dict[str, Any],
        body_type: type[Any],
        expect: type[T],
        *,
        file: FileInput,
        file_field: str,
        parts: list[tuple[str, str, object]],
        filename: str | None,
        content_type: str | None,
        on_progress: ProgressCallback | None,
    ) -> T:
        from ._generated.types import File

        body = prepare_upload(
            file, field=file_field, parts=parts, filename=filename, content_type=content_type, on_progress=on_progress
        )
        # The generated request builder gives method and URL; the body is ours (streamed, random boundary).
        placeholder = body_type(**{file_field: File(payload=_EMPTY)})
        built = op._get_kwargs(**kwargs, body=placeholder)
        response = await self.send(built["method"], built["url"], upload=body)
        return self._parse(op, response, expect)

    # --- the attempt loop ------------------------------------------------------------------

    async def send(
        self,
        method: str,
        url: str,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
        upload: MultipartBody | None = None,
    ) -> httpx.Response:
        """Send with the client's limits and retry policy; return a 2xx response or raise a ``DifyError``."""
        self._check_loop()
        if self.http.is_closed:
            raise DifyError("this DifyManagementClient is closed; create a new one")
        method = method.upper()
        opts = self.options
        engine = self.engine
        full_url = self.base_url + url
        deadline = loop_time() + opts.deadline if opts.deadline is not None else None
        rate_limit_retries = other_retries = 0
        while True:
            try:
                await engine.enter(deadline)
            except TimeoutError as exc:
                raise APITimeoutError(f"{method} {url}: {exc}") from None
            response: httpx.Response | None = None
            error: Exception | None = None
            body: AsyncGenerator[bytes, None] | None = None
            # Everything between taking the slot and deciding about the answer sits in this try, so
            # the slot is given back whatever fails; and a 429 closes the gate *before* the slot is
            # released, so no task queued behind this one slips out during the cooldown.
            try:
                with self._deadline_scope(deadline):
                    # Read per attempt, so a rotating token provider is asked every time.
                    authorization = await self.auth.authorization() if self.transport is not None else ""
                    body = upload.stream() if upload is not None else None
                    request = self._build(method, full_url, params, json, upload, body, deadline, authorization)
                    try:
                        response = await self._dispatch(request)
                    except httpx.RequestError as exc:
                        error = exc
                if response is not None and response.is_success:
                    engine.on_success(was_retry=rate_limit_retries + other_retries > 0, headers=response.headers)
                    return response
                decision = decide(
                    method,
                    response=response,
                    error=error,
                    rate_limit_retries=rate_limit_retries,
                    other_retries=other_retries,
                    config=opts.retry,
                    rng=engine.rng,
                )
                if decision.kind == "rate_limited":
                    # Everyone pauses for the wait this task takes. A hint beyond max_retry_wait
                    # closes nothing: this call fails fast, and so will others if the server insists.
                    assert response is not None
                    hint = retry_after_hint(response.headers)
                    cooldown, kind = hint if hint is not None else (None, None)
                    if cooldown is not None and cooldown > opts.retry.max_retry_wait:
                        cooldown = None
                    engine.on_rate_limited(cooldown, kind)
            except TimeoutError:
                raise APITimeoutError(f"{method} {url}: the per-call timeout passed") from None
            finally:
                if body is not None:
                    with anyio.CancelScope(shield=True):
                        await body.aclose()  # close the file now, even when cancelled mid-upload
                engine.leave()
            if error is not None and upload is not None and upload.failure is not None:
                raise upload.failure from error  # the body itself failed (file changed, empty stream)
            if not decision.retry:
                raise self._error(request, response, error, decision.reason if decision.kind else None)
            refusal = self._refuse_retry(decision, upload, deadline, error)
            if refusal is not None:
                raise self._error(request, response, error, refusal)
            engine.retries += 1
            attempt = rate_limit_retries + other_retries + 1
            status = response.status_code if response is not None else None
            logger.info("retrying %s %s (retry %d) in %.2fs: %s", method, url, attempt, decision.wait, decision.reason)
            if opts.on_retry is not None:
                opts.on_retry(RetryEvent(method, url, attempt, decision.wait, decision.reason, status))
            if decision.kind == "rate_limited":
                rate_limit_retries += 1  # this request waits its own hint; the engine decides for the others
            else:
                other_retries += 1
            await anyio.sleep(decision.wait)

    def _refuse_retry(
        self, decision: Decision, upload: MultipartBody | None, deadline: float | None, error: Exception | None
    ) -> str | None:
        """Why a retry the policy wants must not happen, or None to go ahead."""
        if upload is not None and not upload.replayable:
            return f"{decision.reason}; not retried: the upload body is a one-shot stream that cannot be replayed"
        if deadline is not None and loop_time() + decision.wait > deadline:
            return f"{decision.reason}; not retried: the per-call timeout would pass"
        if decision.kind != "rate_limited" and not self.engine.budget.try_spend(
            timeout=isinstance(error, httpx.TimeoutException)
        ):
            return f"{decision.reason}; not retried: the client's retry budget is exhausted"
        return None

    def _build(
        self,
        method: str,
        url: str,
        params: dict[str, Any] | None,
        json: Any,
        upload: MultipartBody | None,
        body: AsyncGenerator[bytes, None] | None,
        deadline: float | None,
        authorization: str,
    ) -> httpx.Request:
        timeout = self.options.attempt_timeout
        if deadline is not None:
            left = max(deadline - loop_time(), 0.001)
            timeout = httpx.Timeout(
                connect=min(left, timeout.connect or _CONNECT_CAP),
                read=min(left, timeout.read or left),
                write=min(left, timeout.write or left),
                pool=min(left, timeout.pool or left),
            )
        if self.transport is None:
            agent = self._agent or {}
            if upload is not None:
                extra = {**upload.headers, **agent}
                return self.http.build_request(method, url, content=body, headers=extra, timeout=timeout)
            return self.http.build_request(method, url, params=params, json=json, timeout=timeout, headers=agent)
        extensions = {"timeout": timeout.as_dict()}
        fields = [*self._headers, ("Authorization", authorization)]
        if upload is not None:
            fields += list(upload.headers.items())
            return httpx.Request(method, _url(url, ()), headers=fields, content=body, extensions=extensions)
        query = tuple(params.items()) if params else ()
        return httpx.Request(method, _url(url, query), headers=fields, json=json, extensions=extensions)

    async def _dispatch(self, request: httpx.Request) -> httpx.Response:
        if self.transport is None:
            return await self.http.send(request, auth=self.auth)
        response = await self.transport.handle_async_request(request)
        response.request = request
        try:
            await response.aread()
        finally:
            await response.aclose()
        return response

    @staticmethod
    def _deadline_scope(deadline: float | None) -> AbstractContextManager[object]:
        if deadline is None:
            return nullcontext()
        return anyio.fail_after(max(deadline - loop_time(), 0.0))

    @staticmethod
    def _error(
        request: httpx.Request, response: httpx.Response | None, error: Exception | None, why: str | None
    ) -> APIError:
        if response is not None:
            exc: APIError = from_response(response)
        elif isinstance(error, httpx.TimeoutException):
            exc = APITimeoutError(
                f"{request.method} {request.url.copy_with(query=None)}: {type(error).__name__}", request=request
            )
        else:
            detail = str(error) or type(error).__name__
            exc = APIConnectionError(f"{request.method} {request.url.copy_with(query=None)}: {detail}", request=request)
        if why:
            exc.add_note(why)
        if error is not None:
            exc.__cause__ = error
        return exc

    @overload
    def _parse(self, op: ModuleType, response: httpx.Response, expect: type[T]) -> T: ...
    @overload
    def _parse(self, op: ModuleType, response: httpx.Response, expect: None) -> None: ...
    def _parse(self, op: ModuleType, response: httpx.Response, expect: type[T] | None) -> T | None:
        if expect is None:
            return None
        try:
            parsed = op._parse_response(client=self._parse_client, response=response)
        except _PARSE_ERRORS as exc:
            raise APIResponseValidationError(
                response, f"{response.status_code} answer does not match the spec's {expect.__name__}: {exc!r}"
            ) from exc
        if not isinstance(parsed, expect):
            raise APIResponseValidationError(
                response, f"{response.status_code} answer is not a {expect.__name__} (got {type(parsed).__name__})"
            )
        return parsed

    def _check_loop(self) -> None:
        current = _loop_identity()
        bound = self._owner.setdefault("loop", current)
        if bound is not current:
            raise DifyError(
                "this DifyManagementClient is bound to another event loop; create one client per event loop "
                "(for example inside the async function that uses it)"
            )


@functools.lru_cache(maxsize=1024)
def _url(url: str, query: tuple[tuple[str, Any], ...]) -> httpx.URL:
    """Parsed URLs, cached: parsing is a large part of httpx's cost, and bulk jobs repeat URLs."""
    return httpx.URL(url, params=query) if query else httpx.URL(url)


class _Empty:
    """A zero-byte binary stand-in, only to let the generated builder produce the URL."""

    def read(self, size: int = -1) -> bytes:
        return b""


_EMPTY: Any = _Empty()
