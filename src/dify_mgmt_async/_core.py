"""The one request path every generated method goes through.

``request``/``paginate``/``upload`` take a generated operation module (``_generated.api...``)
and its keyword arguments. The module's ``_get_kwargs`` builds method, URL, query and JSON
body, so nothing endpoint-specific lives here. Then:

* ``send`` is the retry loop only: attempt, judge (``_retry.RetryPolicy``), wait, attempt;
* ``_attempt`` is one attempt, and every resource it takes is released by construction: the
  engine's slot (``_Slot``) and the upload's body (``_Body``) are ``async with`` blocks, the body
  closed only after the transport has let go of it, and a 429 closes the client-wide gate
  *before* the slot is given back, so no task queued behind it slips out during the cooldown;
* every transport, a caller's ``http_client`` included (``_transport.ClientTransport``), is
  reached through ``handle_async_request``; ``_exchange`` reads the answer: a 2xx whole, any
  other status only up to ``MAX_ERROR_BODY`` bytes and whatever its body's state;
* a non-2xx answer becomes an ``APIStatusError`` via ``_errors.from_response`` and never reaches
  the generated parser, which assumes JSON; a 2xx is parsed by the module's ``_parse_response``
  into the generated attrs model, and a body that does not fit raises ``APIResponseValidationError``.
"""

from __future__ import annotations

import contextvars
import dataclasses
import functools
import json as json_lib
import logging
import random
import zlib
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping
from contextlib import AbstractContextManager, aclosing
from dataclasses import dataclass, field
from types import ModuleType, TracebackType
from typing import Any, Generic, TypeVar, cast, overload

import anyio
import httpx

from ._auth import BearerAuth
from ._constants import DEADLINE_CONNECT_CAP, DEFAULT_TIMEOUT, MAX_ERROR_BODY, USER_AGENT
from ._errors import (
    APIConnectionError,
    APIError,
    APIResponseValidationError,
    APITimeoutError,
    DifyError,
    InvalidArgumentError,
    from_response,
    request_id,
    retry_after_hint,
)
from ._generated.client import Client as _GeneratedClient
from ._loop import loop_identity, loop_time
from ._pagination import AsyncPager
from ._ratelimit import RateLimitEngine, Stats
from ._response_check import ShapeMismatch, check
from ._retry import Decision, RetryBudget, RetryConfig, RetryPolicy
from ._shapes import FAST, SHAPES
from ._uploads import FileInput, MultipartBody, ProgressCallback, prepare_upload

__all__ = ["CallExtras", "ClientState", "Core", "RawResponse", "RequestOptions", "RetryEvent", "split_timeout"]

logger = logging.getLogger("dify_mgmt_async")

T = TypeVar("T")
_CLOSED = "this DifyManagementClient is closed; create a new one"
_PARSE_ERRORS = (ValueError, KeyError, TypeError, AttributeError, IndexError, RecursionError)
# Sent with every request; a caller's http_client adds its own defaults (ClientTransport).
_DEFAULT_HEADERS = (("Accept", "application/json"), ("Accept-Encoding", "gzip, deflate"), ("User-Agent", USER_AGENT))


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
    attempt_timeout: httpx.Timeout = field(default_factory=lambda: DEFAULT_TIMEOUT)
    #: Seconds for the whole call, all attempts and waits included; None for no overall deadline.
    deadline: float | None = None
    on_retry: Callable[[RetryEvent], object] | None = None


def split_timeout(
    name: str, timeout: object, error: type[DifyError] = InvalidArgumentError
) -> tuple[httpx.Timeout, float | None]:
    """(per-attempt timeouts, whole-call deadline) from a ``timeout`` argument.

    A number is the deadline in seconds for the whole call; an ``httpx.Timeout`` sets per-attempt
    timeouts only; ``None`` means the defaults with no deadline.
    """
    if isinstance(timeout, httpx.Timeout):
        return timeout, None
    if timeout is None:
        return DEFAULT_TIMEOUT, None
    if type(timeout) not in (int, float) or not 0 < timeout < float("inf"):  # type: ignore[operator]
        raise error(f"{name}: must be a positive number of seconds or an httpx.Timeout (got {timeout!r})")
    return DEFAULT_TIMEOUT, float(timeout)  # type: ignore[arg-type]


@dataclass(frozen=True)
class CallExtras:
    """Per-call ``timeout=``, ``extra_headers=``, ``extra_query=`` and ``extra_body=``, checked before sending."""

    timeout: tuple[httpx.Timeout, float | None] | None = None
    headers: tuple[tuple[str, str], ...] = ()
    query: tuple[tuple[str, Any], ...] = ()
    body: dict[str, Any] | None = None

    @staticmethod
    def of(
        timeout: float | httpx.Timeout | None,
        extra_headers: Mapping[str, str] | None,
        extra_query: Mapping[str, object] | None,
        extra_body: Mapping[str, object] | None = None,
    ) -> CallExtras | None:
        """The checked options, or None when none was given (the common case, which costs nothing)."""
        if timeout is None and extra_headers is None and extra_query is None and extra_body is None:
            return None
        return CallExtras(
            timeout=None if timeout is None else split_timeout("timeout", timeout),
            headers=_extra_headers(extra_headers),
            query=_extra_query(extra_query),
            body=_extra_body(extra_body),
        )


def _extra_headers(headers: object) -> tuple[tuple[str, str], ...]:
    if headers is None:
        return ()
    if not isinstance(headers, Mapping):
        raise InvalidArgumentError(f"extra_headers: must be a mapping of header names to values (got {headers!r})")
    checked = []
    for name, value in headers.items():
        if not isinstance(name, str) or not isinstance(value, str):
            raise InvalidArgumentError(f"extra_headers: names and values must be str (got {name!r}: {value!r})")
        if not name or any(c in name for c in " \t\r\n:\0") or any(c in value for c in "\r\n\0"):
            raise InvalidArgumentError(f"extra_headers: {name!r} is not a valid header line")
        if not (name + value).isascii():
            raise InvalidArgumentError(f"extra_headers: {name!r} must be ASCII, name and value (got {value!r:.80})")
        if name.lower() in ("authorization", "host", "content-length", "transfer-encoding"):
            raise InvalidArgumentError(f"extra_headers: {name} is set by the client and cannot be overridden")
        checked.append((name, value))
    return tuple(checked)


def with_headers(extra: CallExtras | None, headers: Mapping[str, Any]) -> CallExtras:
    """``extra`` with an operation's header parameters added before the caller's own extra headers."""
    pairs = tuple((str(k), str(v)) for k, v in headers.items())
    if extra is None:
        return CallExtras(headers=pairs)
    return dataclasses.replace(extra, headers=pairs + extra.headers)


def _extra_query(query: object) -> tuple[tuple[str, Any], ...]:
    if query is None:
        return ()
    if not isinstance(query, Mapping):
        raise InvalidArgumentError(f"extra_query: must be a mapping of parameter names to values (got {query!r})")
    for name, value in query.items():
        if not isinstance(name, str) or not isinstance(value, str | int | float | bool):
            raise InvalidArgumentError(f"extra_query: {name!r} must map a str to a str, int, float or bool")
        try:
            (name + value if isinstance(value, str) else name).encode("utf-8")
        except UnicodeEncodeError:
            raise InvalidArgumentError(f"extra_query: {name!r} holds a lone surrogate, not valid Unicode") from None
    return tuple(query.items())


def _extra_body(body: object) -> dict[str, Any] | None:
    if body is None:
        return None
    if not isinstance(body, Mapping) or not all(isinstance(k, str) for k in body):
        raise InvalidArgumentError(f"extra_body: must be a mapping with str keys (got {body!r})")
    try:
        json_lib.dumps(body, allow_nan=False)
    except (TypeError, ValueError, RecursionError) as exc:
        raise InvalidArgumentError(f"extra_body: must hold only JSON values: {exc}") from None
    return dict(body)


#: Set by ``with_raw_response`` for the duration of one call: the 2xx answers it got.
_CAPTURE: contextvars.ContextVar[list[httpx.Response] | None] = contextvars.ContextVar("dify_capture", default=None)


@dataclass(frozen=True)
class RawResponse(Generic[T]):
    """A call's parsed result together with the HTTP answer it came from (``with_raw_response``)."""

    parsed: T
    http_response: httpx.Response

    @property
    def status_code(self) -> int:
        return self.http_response.status_code

    @property
    def headers(self) -> httpx.Headers:
        return self.http_response.headers

    @property
    def request_id(self) -> str | None:
        """The server's ``X-Request-Id`` (or ``Request-Id``), if it sent one."""
        return request_id(self.http_response.headers)


async def capture_raw(call: Awaitable[T]) -> RawResponse[T]:
    """Await ``call`` (a client method's result) and keep the last 2xx answer it was parsed from."""
    box: list[httpx.Response] = []
    token = _CAPTURE.set(box)
    try:
        parsed = await call
    finally:
        _CAPTURE.reset(token)
    if not box:
        raise DifyError("with_raw_response: the call sent no request (pass a method of this client)")
    return RawResponse(parsed, box[-1])


class ClientState:
    """What a client and all its ``with_options`` views share: transport, auth, engine, budget, lifecycle."""

    def __init__(
        self, transport: httpx.AsyncBaseTransport, auth: BearerAuth, engine: RateLimitEngine, base_url: str
    ) -> None:
        self.transport = transport
        self.auth = auth
        self.engine = engine
        self.base_url = base_url.rstrip("/")
        self.budget = RetryBudget()
        self.rng = random.Random()
        self.retries = 0
        self.closed = False
        self._loop: object | None = None

    def check_usable(self) -> None:
        """Raise if the client is closed or this is not the event loop it is bound to."""
        if self.closed:
            raise DifyError(_CLOSED)
        current = loop_identity()
        if self._loop is None:
            self._loop = current
        elif self._loop is not current:
            raise DifyError(
                "this DifyManagementClient is bound to another event loop; create one client per event loop "
                "(for example inside the async function that uses it)"
            )

    def stats(self) -> Stats:
        return self.engine.stats(retries=self.retries, budget_left=self.budget.tokens)


@dataclass
class _Call:
    """One call's fixed facts, shared by its attempts."""

    method: str
    path: str
    url: str
    params: dict[str, Any] | None
    json: Any
    upload: MultipartBody | None
    deadline: float | None
    attempt_timeout: httpx.Timeout
    extra_headers: tuple[tuple[str, str], ...] = ()
    rate_limit_retries: int = 0
    other_retries: int = 0
    limit: float | None = None  # the whole-call timeout in seconds, for the message when it passes

    @property
    def retried(self) -> bool:
        return self.rate_limit_retries + self.other_retries > 0


@dataclass
class _Outcome:
    """What one attempt produced: a response or a transport error, and the policy's word on it."""

    request: httpx.Request
    response: httpx.Response | None = None
    error: httpx.RequestError | None = None
    decision: Decision | None = None


class _Slot:
    """The engine's slot for one attempt: taken on entry (gate and limiter), given back on exit."""

    __slots__ = ("_deadline", "_engine", "_lease")

    def __init__(self, engine: RateLimitEngine, deadline: float | None) -> None:
        self._engine = engine
        self._deadline = deadline
        self._lease: str | None = None

    async def __aenter__(self) -> None:
        self._lease = await self._engine.enter(self._deadline)

    async def __aexit__(self, *exc: object) -> None:
        self._engine.leave(self._lease)  # a shared store's lease: the one this attempt held


class _Body:
    """One attempt's upload stream; closed on exit, shielded, even when the attempt was cancelled.

    Transports return only after they stopped reading the stream, so closing it cannot meet a
    running generator; if a caller's transport breaks that promise, the close is skipped (the
    generator closes when collected) rather than the slot being leaked.
    """

    __slots__ = ("_upload", "stream")

    def __init__(self, upload: MultipartBody | None) -> None:
        self._upload = upload
        self.stream: AsyncGenerator[bytes, None] | None = None

    async def __aenter__(self) -> AsyncGenerator[bytes, None] | None:
        if self._upload is not None:
            self.stream = self._upload.stream()
        return self.stream

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self.stream is None:
            return
        with anyio.CancelScope(shield=True):
            try:
                await self.stream.aclose()
            except RuntimeError as failure:  # "asynchronous generator is already running"
                logger.warning("upload body not closed: %s", failure)


class Core:
    """Sends requests for one client view. Views made by ``with_options`` share one ``ClientState``."""

    def __init__(self, state: ClientState, options: RequestOptions) -> None:
        self.state = state
        self.options = options
        self.policy = RetryPolicy(options.retry, state.budget, state.rng)
        self._parse_client = _GeneratedClient(base_url=state.base_url, raise_on_unexpected_status=False)

    # --- the three entry points used by the generated namespaces -------------------------

    @overload
    async def request(
        self, op: ModuleType, kwargs: dict[str, Any], expect: type[T], extra: CallExtras | None = None
    ) -> T: ...
    @overload
    async def request(
        self, op: ModuleType, kwargs: dict[str, Any], expect: None, extra: CallExtras | None = None
    ) -> None: ...
    async def request(
        self, op: ModuleType, kwargs: dict[str, Any], expect: type[T] | None, extra: CallExtras | None = None
    ) -> T | None:
        built = op._get_kwargs(**kwargs)
        if "headers" in built:  # header parameters of the operation
            extra = with_headers(extra, built["headers"])
        response = await self.send(
            built["method"], built["url"], params=built.get("params"), json=built.get("json"), extra=extra
        )
        return self._parse(op, response, expect)

    def paginate(
        self, op: ModuleType, kwargs: dict[str, Any], page_type: type[T], extra: CallExtras | None = None
    ) -> AsyncPager[Any, Any]:
        async def fetch(page_kwargs: dict[str, Any]) -> T:
            return await self.request(op, page_kwargs, page_type, extra)

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
        extra: CallExtras | None = None,
    ) -> T:
        from ._generated.types import File

        body = prepare_upload(
            file, field=file_field, parts=parts, filename=filename, content_type=content_type, on_progress=on_progress
        )
        # The generated request builder gives method and URL; the body is ours (streamed, random boundary).
        placeholder = body_type(**{file_field: File(payload=_EMPTY)})
        built = op._get_kwargs(**kwargs, body=placeholder)
        response = await self.send(built["method"], built["url"], upload=body, extra=extra)
        return self._parse(op, response, expect)

    # --- the retry loop ----------------------------------------------------------------------

    async def send(
        self,
        method: str,
        url: str,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
        upload: MultipartBody | None = None,
        extra: CallExtras | None = None,
    ) -> httpx.Response:
        """Send with the client's limits and retry policy; return a 2xx response or raise a ``DifyError``."""
        self.state.check_usable()
        attempt_timeout, deadline_seconds = self.options.attempt_timeout, self.options.deadline
        headers: tuple[tuple[str, str], ...] = ()
        if extra is not None:
            if extra.timeout is not None:
                attempt_timeout, deadline_seconds = extra.timeout
            if extra.query:
                params = {**(params or {}), **dict(extra.query)}
            if extra.body is not None:
                if json is not None and not isinstance(json, dict):
                    raise InvalidArgumentError("extra_body: this operation's body is not a JSON object")
                json = {**(json or {}), **extra.body}
            headers = extra.headers
        deadline = loop_time() + deadline_seconds if deadline_seconds is not None else None
        call = _Call(
            method.upper(), url, self.state.base_url + url, params, json, upload, deadline, attempt_timeout, headers
        )
        call.limit = deadline_seconds
        while True:
            outcome = await self._attempt(call)
            if outcome.decision is None:
                assert outcome.response is not None
                capture = _CAPTURE.get()
                if capture is not None:
                    capture.append(outcome.response)
                return outcome.response
            if outcome.error is not None and upload is not None and upload.failure is not None:
                raise upload.failure from outcome.error  # the body itself failed (file changed, a progress hook)
            decision = outcome.decision
            if not decision.retry:
                raise self._error(outcome, decision.reason if decision.kind else None)
            if self.state.closed:
                raise self._error(outcome, f"{decision.reason}; not retried: the client was closed")
            self._before_retry(call, outcome, decision)
            if decision.kind == "rate_limited":
                call.rate_limit_retries += 1  # this request waits its own hint; the engine paces the others
            else:
                call.other_retries += 1
            await anyio.sleep(decision.wait)

    def _before_retry(self, call: _Call, outcome: _Outcome, decision: Decision) -> None:
        self.state.retries += 1
        attempt = call.rate_limit_retries + call.other_retries + 1
        status = outcome.response.status_code if outcome.response is not None else None
        logger.info(
            "retrying %s %s (retry %d) in %.2fs: %s", call.method, call.path, attempt, decision.wait, decision.reason
        )
        if self.options.on_retry is not None:
            self.options.on_retry(RetryEvent(call.method, call.path, attempt, decision.wait, decision.reason, status))

    # --- one attempt ---------------------------------------------------------------------------

    async def _attempt(self, call: _Call) -> _Outcome:
        """One attempt: slot, auth, body, exchange, and the engine told about the answer before the slot goes back."""
        state = self.state
        outcome: _Outcome | None = None
        try:
            async with _Slot(state.engine, call.deadline):
                with _deadline_scope(call.deadline):
                    if state.closed:  # closed while this call was queued
                        raise DifyError(_CLOSED)
                    authorization = await state.auth.authorization()  # per attempt: a rotating token
                    async with _Body(call.upload) as stream:
                        outcome = _Outcome(self._build(call, stream, authorization))
                        started = loop_time()
                        try:
                            outcome.response = await self._exchange(outcome.request)
                        except httpx.RequestError as exc:
                            outcome.error = exc
                assert outcome is not None
                self._judge(call, outcome)
                if logger.isEnabledFor(logging.DEBUG):
                    _log_attempt(call, outcome, loop_time() - started)
                return outcome
        except TimeoutError:
            # The request as it was (or would have been) sent, so the error says where it went.
            request = outcome.request if outcome is not None else httpx.Request(call.method, call.url)
            raise APITimeoutError(
                f"{call.method} {call.url}: no answer in time ({_limit(call.limit)})", request=request
            ) from None

    def _judge(self, call: _Call, outcome: _Outcome) -> None:
        """Tell the engine and the budget about the answer; set ``outcome.decision`` unless it is a success."""
        response = outcome.response
        if response is not None and response.is_success:
            self.state.engine.on_success(headers=response.headers)
            if not call.retried:
                self.state.budget.refund()
            return
        time_left = call.deadline - loop_time() if call.deadline is not None else None
        decision = self.policy.judge(
            call.method,
            response=response,
            error=outcome.error,
            rate_limit_retries=call.rate_limit_retries,
            other_retries=call.other_retries,
            replayable=call.upload is None or call.upload.replayable,
            time_left=time_left,
        )
        if decision.kind == "rate_limited":
            hint = retry_after_hint(response.headers) if response is not None else None
            # The hint (within max_retry_wait) and how precise it is; the engine decides what others do.
            self.state.engine.on_rate_limited(decision.cooldown if hint else None, hint[1] if hint else None)
        outcome.decision = decision

    def _build(self, call: _Call, stream: AsyncGenerator[bytes, None] | None, authorization: str) -> httpx.Request:
        extensions = {"timeout": _timeouts(call)}
        headers = [*_DEFAULT_HEADERS, ("Authorization", authorization)]
        if call.extra_headers:
            names = {name.lower() for name, _ in call.extra_headers}
            headers = [h for h in headers if h[0].lower() not in names] + list(call.extra_headers)
        # An array parameter (a list) is sent as repeated keys, as pairs the parsed-URL cache can hash.
        query = (
            tuple((k, e) for k, v in call.params.items() for e in (v if isinstance(v, list) else (v,)))
            if call.params
            else ()
        )
        if call.upload is not None:  # its query is only extra_query's
            headers += call.upload.headers.items()
            return httpx.Request(
                call.method, _url(call.url, query), headers=headers, content=stream, extensions=extensions
            )
        if call.json is None:
            return bodiless_request(call.method, _url(call.url, query), headers, extensions)
        return httpx.Request(call.method, _url(call.url, query), headers=headers, json=call.json, extensions=extensions)

    async def _exchange(self, request: httpx.Request) -> httpx.Response:
        """Hand the request to the transport and read the answer: a 2xx whole, an error's body capped."""
        response = await self.state.transport.handle_async_request(request)
        response.request = request
        if not response.is_success:
            return await _read_error(response)
        try:
            await response.aread()
        except httpx.DecodingError as exc:
            # An answer came (so no connection error, and nothing to retry): its body is unreadable.
            encoding = response.headers.get("content-encoding", "")
            raise APIResponseValidationError(
                response,
                f"{response.status_code} answer's body cannot be decoded (Content-Encoding: {encoding}): {exc}",
            ) from exc
        finally:
            await response.aclose()
        return response

    def _error(self, outcome: _Outcome, why: str | None) -> APIError:
        request, response, error = outcome.request, outcome.response, outcome.error
        where = f"{request.method} {request.url.copy_with(query=None)}"
        if response is not None:
            exc: APIError = from_response(response)
        elif isinstance(error, httpx.TimeoutException):
            exc = APITimeoutError(f"{where}: {type(error).__name__}", request=request)
        else:
            detail = str(error) or type(error).__name__
            exc = APIConnectionError(f"{where}: {detail}", request=request)
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
        if expect is str or expect is bytes:  # text/* and binary answers
            return response.text if expect is str else response.content  # type: ignore[return-value]
        name = expect.__name__
        shape = SHAPES.get(name)
        if shape is not None:  # checked against the spec first, so a mismatch names its field
            try:
                data = json_lib.loads(response.content)
                check(shape, data, FAST[name])
                return expect.from_dict(data)  # type: ignore[attr-defined,no-any-return]
            except ShapeMismatch as exc:
                raise APIResponseValidationError(
                    response,
                    f"{response.status_code} answer does not match the spec's {expect.__name__}: "
                    f"{exc.path}: {exc.problem}",
                ) from None
            except (*_PARSE_ERRORS, UnicodeDecodeError) as exc:
                raise APIResponseValidationError(
                    response, f"{response.status_code} answer does not match the spec's {expect.__name__}: {exc!r}"
                ) from exc
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


_EMPTY_BODY_METHODS = ("POST", "PUT", "PATCH")  # httpx gives these Content-Length: 0 when there is no body


def bodiless_request(
    method: str, url: httpx.URL, headers: list[tuple[str, str]], extensions: dict[str, Any]
) -> httpx.Request:
    """``httpx.Request(method, url, headers=headers, extensions=extensions)``, built in one pass.

    For a request without a body httpx normalises the headers twice and searches them three
    times to put ``Host`` and (POST, PUT, PATCH) ``Content-Length: 0`` before them: about a tenth
    of a list call's client CPU. This adds the same headers, in the same order, to one
    ``httpx.Headers`` (tests/test_request_building.py compares the two for every case).
    """
    auto: list[tuple[str, str]] = []
    names = {name.lower() for name, _ in headers}
    if "host" not in names and url.host:
        auto.append(("Host", url.netloc.decode("ascii")))  # httpx's netloc is ASCII (IDNA-encoded)
    if method in _EMPTY_BODY_METHODS and "content-length" not in names and "transfer-encoding" not in names:
        auto.append(("Content-Length", "0"))
    request = httpx.Request(
        method, url, headers=httpx.Headers([*auto, *headers]), stream=httpx.ByteStream(b""), extensions=extensions
    )
    request.read()
    return request


def _timeouts(call: _Call) -> dict[str, float | None]:
    """The attempt's httpx timeouts, each cut to what is left of the call's deadline."""
    timeout = call.attempt_timeout
    if call.deadline is None:
        return timeout.as_dict()
    left = max(call.deadline - loop_time(), 0.001)
    return {
        "connect": min(left, timeout.connect or DEADLINE_CONNECT_CAP),
        "read": min(left, timeout.read or left),
        "write": min(left, timeout.write or left),
        "pool": min(left, timeout.pool or left),
    }


_SECRET_QUERY = ("token", "key", "secret", "password", "signature")


def _log_attempt(call: _Call, outcome: _Outcome, elapsed: float) -> None:
    """One DEBUG line per attempt: what was sent where, what came back, and what happens next."""
    url = outcome.request.url
    if url.query:
        params = [
            (k, "<redacted>" if any(s in k.lower() for s in _SECRET_QUERY) else v) for k, v in url.params.multi_items()
        ]
        url = url.copy_with(params=params)
    result = str(outcome.response.status_code) if outcome.response is not None else type(outcome.error).__name__
    decision = outcome.decision
    then = "done" if decision is None else ("retried" if decision.retry else "not retried")
    logger.debug(
        "%s %s -> %s in %.3fs (attempt %d, %s)",
        call.method,
        url,
        result,
        elapsed,
        call.rate_limit_retries + call.other_retries + 1,
        then,
    )


def _deadline_scope(deadline: float | None) -> AbstractContextManager[object]:
    return anyio.fail_after(max(deadline - loop_time(), 0.0)) if deadline is not None else _NO_SCOPE


class _NoScope:
    """A do-nothing stand-in for ``fail_after`` when the call has no deadline (cheaper than nullcontext)."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


_NO_SCOPE: Any = _NoScope()


async def _read_error(response: httpx.Response) -> httpx.Response:
    """A non-2xx answer with at most ``MAX_ERROR_BODY`` bytes of its body, decoded if possible.

    A body that breaks off, or whose gzip is invalid, still leaves the status to act on: a 429
    is still retried and still closes the gate.
    """
    raw = bytearray()
    try:
        if response.is_stream_consumed:
            return response  # a test double's already-read answer
        # Closed when we stop early, not when collected (trio warns of an unfinalised generator).
        raw_chunks = cast("AsyncGenerator[bytes, None]", response.aiter_raw())  # httpx's is an async generator
        async with aclosing(raw_chunks) as chunks:
            async for chunk in chunks:
                raw += chunk
                if len(raw) >= MAX_ERROR_BODY:
                    break
    except (httpx.TransportError, httpx.StreamError):
        pass  # keep what arrived
    finally:
        await response.aclose()
    content = _decode(bytes(raw[:MAX_ERROR_BODY]), response.headers.get("content-encoding", ""))
    headers = [
        (k, v)
        for k, v in response.headers.multi_items()
        if k.lower() not in ("content-encoding", "content-length", "transfer-encoding")
    ]
    return httpx.Response(
        response.status_code,
        headers=headers,
        content=content,
        request=response.request,
        extensions=response.extensions,
    )


def _decode(raw: bytes, encoding: str) -> bytes:
    """``raw`` gzip/deflate-decoded up to ``MAX_ERROR_BODY`` bytes, or as it is when it is not."""
    encoding = encoding.strip().lower()
    if not raw or encoding not in ("gzip", "x-gzip", "deflate"):
        return raw
    # deflate is zlib-wrapped by the RFC, raw by some servers (httpx reads both, so do we)
    for bits in (zlib.MAX_WBITS | 16,) if "gzip" in encoding else (zlib.MAX_WBITS, -zlib.MAX_WBITS):
        try:
            return zlib.decompressobj(bits).decompress(raw, MAX_ERROR_BODY)
        except zlib.error:
            continue
    return raw


def _limit(seconds: float | None) -> str:
    """The whole-call timeout, as the message of an ``APITimeoutError`` states it."""
    return f"timeout={seconds:g} s for the whole call, retries and waits included" if seconds else "timed out"


@functools.lru_cache(maxsize=1024)
def _url(url: str, query: tuple[tuple[str, Any], ...]) -> httpx.URL:
    """Parsed URLs, cached: parsing is a large part of httpx's cost, and bulk jobs repeat URLs."""
    return httpx.URL(url, params=query) if query else httpx.URL(url)


class _Empty:
    """A zero-byte binary stand-in, only to let the generated builder produce the URL."""

    def read(self, size: int = -1) -> bytes:
        return b""


_EMPTY: Any = _Empty()
