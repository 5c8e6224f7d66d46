"""Exact values of the one request path (``_core``): retry events, per-attempt timeouts, error messages.

Virtual time (trio MockClock), so deadlines and waits are exact.
"""

from __future__ import annotations

import gzip
import json
import logging
import random
import zlib
from pathlib import Path
from typing import Any

import httpx
import pytest

from dify_mgmt_async import (
    APIConnectionError,
    APIResponseValidationError,
    APITimeoutError,
    DifyError,
    InternalServerError,
    InvalidArgumentError,
    RetryEvent,
    __version__,
)
from dify_mgmt_async._core import CallExtras
from dify_mgmt_async._generated.api.apps import get_app
from tests.conftest import APP, BASE, DOCUMENT, TOKEN, Recorder, make_client

pytestmark = [pytest.mark.anyio, pytest.mark.virtual_time]


class Top(random.Random):
    def uniform(self, a: float, b: float) -> float:
        return b


class Script:
    """Answers or raises, in order; keeps every request."""

    def __init__(self, *steps: httpx.Response | type[httpx.RequestError] | httpx.RequestError) -> None:
        self.steps = list(steps)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        step = self.steps.pop(0) if self.steps else httpx.Response(200, json={})
        if isinstance(step, httpx.Response):
            return step
        if isinstance(step, type):
            raise step("boom", request=request)
        raise step


class Stream(httpx.AsyncByteStream):
    """A body that arrives over the network in chunks (not already read, as MockTransport's are)."""

    def __init__(self, data: bytes, chunk: int = 10_000) -> None:
        self.chunks = [data[i : i + chunk] for i in range(0, len(data), chunk)]
        self.pulled = 0

    def __aiter__(self) -> Stream:
        return self

    async def __anext__(self) -> bytes:  # not a generator: abandoning it mid-way needs no cleanup
        if not self.chunks:
            raise StopAsyncIteration
        self.pulled += 1
        return self.chunks.pop(0)


class Streaming(httpx.AsyncBaseTransport):
    """Answers every request with one streamed non-2xx answer."""

    def __init__(
        self,
        status: int,
        content: bytes,
        headers: dict[str, str] | None = None,
        *,
        chunk: int = 10_000,
        extensions: dict[str, Any] | None = None,
    ) -> None:
        self.status, self.content, self.headers = status, content, headers or {}
        self.chunk, self.extensions = chunk, extensions or {}
        self.streams: list[Stream] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.streams.append(Stream(self.content, self.chunk))
        return httpx.Response(
            self.status, headers=self.headers, stream=self.streams[-1], request=request, extensions=self.extensions
        )


async def test_retry_events_number_every_retry_and_say_why(monkeypatch: pytest.MonkeyPatch) -> None:
    from dify_mgmt_async import _core

    monkeypatch.setattr(_core.random, "Random", Top)
    events: list[RetryEvent] = []
    server = Script(httpx.Response(429, headers={"retry-after": "3"}), httpx.ConnectError, httpx.Response(502))
    async with make_client(server, on_retry=events.append) as client:
        response = await client._core.send("get", "/apps", params={"page": 2})
        assert client.stats.retries == 3
    assert response.status_code == 200
    assert events == [
        RetryEvent("GET", "/apps", 1, 3.0, "429 rate limited", 429),
        RetryEvent("GET", "/apps", 2, 0.5, "ConnectError before the request was sent", None),
        RetryEvent("GET", "/apps", 3, 1.0, "502 Bad Gateway", 502),
    ]
    assert [str(r.url) for r in server.requests] == [f"{BASE}/apps?page=2"] * 4


async def test_waits_between_retries_are_slept_in_full(monkeypatch: pytest.MonkeyPatch) -> None:
    import trio

    from dify_mgmt_async import _core

    monkeypatch.setattr(_core.random, "Random", Top)
    server = Script(httpx.Response(503), httpx.Response(503))
    async with make_client(server) as client:
        start = trio.current_time()
        await client._core.send("GET", "/apps")
        assert trio.current_time() - start == pytest.approx(1.5)


async def test_default_headers_and_authorization() -> None:
    server = Recorder()
    async with make_client(server) as client:
        await client._core.send("GET", "/apps")
        await client._core.send("GET", "/apps", extra=CallExtras(headers=(("user-agent", "mine/1"), ("X-A", "b"))))
    first, second = server.requests
    assert first.headers["accept"] == "application/json"
    assert first.headers["accept-encoding"] == "gzip, deflate"
    assert first.headers["user-agent"] == f"dify-mgmt-async/{__version__}"
    assert first.headers["authorization"] == f"Bearer {TOKEN}"
    assert second.headers.get_list("user-agent") == ["mine/1"]
    assert second.headers["x-a"] == "b"
    assert second.headers["accept"] == "application/json"


@pytest.mark.parametrize(
    ("limits", "expected"),
    [
        (None, {"connect": 10.0, "read": 60.0, "write": 60.0, "pool": 30.0}),
        ((httpx.Timeout(60.0, connect=10.0, pool=30.0), 5.0), {"connect": 5.0, "read": 5.0, "write": 5.0, "pool": 5.0}),
        (
            (httpx.Timeout(60.0, connect=10.0, pool=30.0), 45.0),
            {"connect": 10.0, "read": 45.0, "write": 45.0, "pool": 30.0},
        ),
        ((httpx.Timeout(None), 20.0), {"connect": 10.0, "read": 20.0, "write": 20.0, "pool": 20.0}),
        (
            (httpx.Timeout(1.0, read=2.0, write=3.0, pool=4.0), 20.0),
            {"connect": 1.0, "read": 2.0, "write": 3.0, "pool": 4.0},
        ),
    ],
)
async def test_attempt_timeouts_are_cut_to_the_deadline(
    limits: tuple[httpx.Timeout, float] | None, expected: dict[str, float]
) -> None:
    server = Recorder()
    async with make_client(server) as client:
        await client._core.send("GET", "/apps", extra=CallExtras(timeout=limits) if limits else None)
    assert server.requests[0].extensions["timeout"] == expected


@pytest.mark.parametrize(
    ("deadline", "reads"),
    [(8.0, [8.0, 7.5]), (0.75, [0.75, 0.25])],
    ids=["seconds-left", "less-than-a-second-left"],
)
async def test_a_retry_gets_what_is_left_of_the_deadline(
    monkeypatch: pytest.MonkeyPatch, deadline: float, reads: list[float]
) -> None:
    """The retry after a 503's 0.5 s backoff gets the rest of the deadline, to the millisecond."""
    from dify_mgmt_async import _core

    monkeypatch.setattr(_core.random, "Random", Top)
    server = Script(httpx.Response(503))
    async with make_client(server) as client:
        await client._core.send("GET", "/apps", extra=CallExtras(timeout=(httpx.Timeout(60.0), deadline)))
    assert [r.extensions["timeout"]["read"] for r in server.requests] == reads


async def test_the_per_call_deadline_error_names_the_call() -> None:
    async def slow(request: httpx.Request) -> httpx.Response:
        import trio

        await trio.sleep(10)
        return httpx.Response(200, json={})

    async with make_client(httpx.MockTransport(slow)) as client:
        with pytest.raises(APITimeoutError) as caught:
            await client._core.send(
                "GET", "/apps", params={"q": "1"}, extra=CallExtras(timeout=(httpx.Timeout(60.0), 2.0))
            )
    assert str(caught.value) == (
        f"GET {BASE}/apps: no answer in time (timeout=2 s for the whole call, retries and waits included)"
    )
    assert caught.value.request is not None and caught.value.request.url.params["q"] == "1"


@pytest.mark.parametrize(
    ("error", "cls", "message"),
    [
        (httpx.ReadTimeout("slow"), APITimeoutError, f"POST {BASE}/apps: ReadTimeout"),
        (httpx.ReadError("reset by peer"), APIConnectionError, f"POST {BASE}/apps: reset by peer"),
        (httpx.ReadError(""), APIConnectionError, f"POST {BASE}/apps: ReadError"),
    ],
)
async def test_transport_error_messages(error: httpx.RequestError, cls: type[Exception], message: str) -> None:
    async with make_client(Script(error)) as client:
        with pytest.raises(cls) as caught:
            await client._core.send("POST", "/apps", params={"token": "x"})
    assert type(caught.value) is cls
    assert str(caught.value) == message
    assert caught.value.__cause__ is error
    assert caught.value.__notes__ == [f"{type(error).__name__} on POST after sending: not re-sent"]


async def test_closed_client_refuses_to_send() -> None:
    client = make_client(Recorder())
    await client.aclose()
    with pytest.raises(DifyError) as caught:
        await client._core.send("GET", "/apps")
    assert str(caught.value) == "this DifyManagementClient is closed; create a new one"


@pytest.mark.parametrize(
    ("encoding", "encode"),
    [
        ("gzip", gzip.compress),
        ("x-gzip", gzip.compress),
        (" GZIP ", gzip.compress),
        ("deflate", zlib.compress),
    ],
)
async def test_compressed_error_bodies_are_decoded(encoding: str, encode: Any) -> None:
    body = b'{"error_code": "boom", "error": "exploded"}'
    answer = Streaming(500, encode(body), {"content-encoding": encoding, "content-length": "1"})
    async with make_client(answer, max_retries=0) as client:
        with pytest.raises(InternalServerError) as caught:
            await client._core.send("GET", "/apps")
    assert (caught.value.error_code, caught.value.message) == ("boom", "exploded")
    assert "content-encoding" not in caught.value.headers
    assert caught.value.headers["content-length"] == str(len(body))  # the decoded length, not the wire length


async def test_broken_gzip_error_body_is_kept_raw() -> None:
    answer = Streaming(500, b"not gzip", {"content-encoding": "gzip", "x-id": "1"})
    async with make_client(answer, max_retries=0) as client:
        with pytest.raises(InternalServerError) as caught:
            await client._core.send("GET", "/apps")
    assert caught.value.body == "not gzip"
    assert caught.value.headers["x-id"] == "1"


@pytest.mark.parametrize(("size", "kept"), [(65535, 65535), (65536, 65536), (200_000, 65536)])
async def test_error_bodies_are_capped_at_64_kib(size: int, kept: int) -> None:
    answer = Streaming(500, b"e" * size)
    async with make_client(answer, max_retries=0) as client:
        with pytest.raises(InternalServerError) as caught:
            await client._core.send("GET", "/apps")
    assert len(caught.value.response.content) == kept


async def test_gzip_error_bodies_are_capped_after_decoding() -> None:
    answer = Streaming(500, gzip.compress(b"z" * 500_000), {"content-encoding": "gzip"})
    async with make_client(answer, max_retries=0) as client:
        with pytest.raises(InternalServerError) as caught:
            await client._core.send("GET", "/apps")
    assert caught.value.response.content == b"z" * 65536


async def test_an_error_body_is_not_read_past_64_kib() -> None:
    """Reading stops at the chunk that reaches the cap: a body that goes on (or never ends) is not pulled further."""
    answer = Streaming(500, b"e" * 65536 * 2, chunk=16384)
    async with make_client(answer, max_retries=0) as client:
        with pytest.raises(InternalServerError) as caught:
            await client._core.send("GET", "/apps")
    assert answer.streams[0].pulled == 4
    assert len(caught.value.response.content) == 65536


async def test_error_answers_keep_the_servers_reason_phrase_and_lose_only_the_framing_headers() -> None:
    """The rebuilt error answer keeps status line details; the body's framing headers describe the wire, not it."""
    answer = Streaming(
        520,
        b"",
        {"transfer-encoding": "chunked", "content-length": "0", "x-keep": "1"},
        extensions={"reason_phrase": b"Origin Went Away", "http_version": b"HTTP/1.1"},
    )
    async with make_client(answer, max_retries=0) as client:
        with pytest.raises(InternalServerError) as caught:
            await client._core.send("GET", "/apps")
    assert caught.value.message == "Origin Went Away"
    assert caught.value.response.reason_phrase == "Origin Went Away"
    assert caught.value.response.http_version == "HTTP/1.1"
    assert "transfer-encoding" not in caught.value.headers
    assert caught.value.headers["x-keep"] == "1"


async def test_an_error_body_without_content_encoding_is_kept_as_sent_even_if_it_inflates() -> None:
    """Only a declared gzip/deflate encoding is decoded; zlib-looking bytes without one are the body as sent."""
    packed = zlib.compress(b'{"error_code": "hidden"}')
    async with make_client(Streaming(500, packed), max_retries=0) as client:
        with pytest.raises(InternalServerError) as caught:
            await client._core.send("GET", "/apps")
    assert caught.value.response.content == packed
    assert caught.value.error_code is None


@pytest.mark.parametrize(("expect", "body"), [(str, "plain text, é"), (bytes, b"\x00\x01binary")])
async def test_text_and_binary_answers_are_returned_as_str_and_bytes(expect: type, body: str | bytes) -> None:
    """An operation whose answer is text/* (``str``) or binary (``bytes``) gets the body, not a parsed model."""
    content = body.encode() if isinstance(body, str) else body
    server = Script(httpx.Response(200, content=content, headers={"content-type": "text/plain; charset=utf-8"}))
    async with make_client(server) as client:
        result = await client._core.request(get_app, {"app_id": "a1"}, expect)
    assert type(result) is expect
    assert result == body


async def test_a_transports_own_timeout_error_is_an_api_timeout_error_naming_the_call() -> None:
    """A transport raising the builtin TimeoutError (no per-call deadline) gives APITimeoutError, not a raw error."""

    def stalls(request: httpx.Request) -> httpx.Response:
        raise TimeoutError

    async with make_client(httpx.MockTransport(stalls)) as client:
        with pytest.raises(APITimeoutError) as caught:
            await client._core.send("GET", "/apps", params={"q": "1"})
    assert str(caught.value) == f"GET {BASE}/apps: no answer in time (timed out)"
    assert caught.value.request is not None and str(caught.value.request.url) == f"{BASE}/apps?q=1"


@pytest.mark.parametrize(
    ("error", "cls"), [(httpx.ReadTimeout("slow"), APITimeoutError), (httpx.ReadError("reset"), APIConnectionError)]
)
async def test_transport_errors_carry_the_request_that_was_sent(error: httpx.RequestError, cls: type) -> None:
    server = Script(error)
    async with make_client(server) as client:
        with pytest.raises(cls) as caught:
            await client._core.send("POST", "/apps", params={"q": "1"})
    assert caught.value.request is server.requests[0]


async def test_each_retry_is_logged_at_info_with_method_path_number_wait_and_reason(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from dify_mgmt_async import _core

    monkeypatch.setattr(_core.random, "Random", Top)
    caplog.set_level(logging.INFO, logger="dify_mgmt_async")
    async with make_client(Script(httpx.ConnectError, httpx.Response(502))) as client:
        await client._core.send("GET", "/apps")
    assert [r.getMessage() for r in caplog.records if r.levelno == logging.INFO] == [
        "retrying GET /apps (retry 1) in 0.50s: ConnectError before the request was sent",
        "retrying GET /apps (retry 2) in 1.00s: 502 Bad Gateway",
    ]


async def test_debug_lines_name_a_transport_error_and_a_final_refusal(caplog: pytest.LogCaptureFixture) -> None:
    """The per-attempt DEBUG line says which transport error it was, and "not retried" when the call gives up."""
    caplog.set_level(logging.DEBUG, logger="dify_mgmt_async")
    async with make_client(Script(httpx.ConnectError, httpx.Response(404)), max_retries=1) as client:
        with pytest.raises(DifyError):
            await client._core.send("GET", "/apps")
    lines = [r.getMessage() for r in caplog.records if r.levelno == logging.DEBUG]
    assert lines == [
        f"GET {BASE}/apps -> ConnectError in 0.000s (attempt 1, retried)",
        f"GET {BASE}/apps -> 404 in 0.000s (attempt 2, not retried)",
    ]


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("", "v"),
        ("X A", "v"),
        ("X:A", "v"),
        ("X\tA", "v"),
        ("X\0A", "v"),
        ("X-A", "a\nb"),
        ("X-A", "a\rb"),
        ("X-A", "a\0b"),
    ],
)
async def test_extra_headers_that_are_not_a_header_line_are_refused(name: str, value: str) -> None:
    with pytest.raises(InvalidArgumentError) as caught:
        CallExtras.of(None, {name: value}, None)
    assert str(caught.value) == f"extra_headers: {name!r} is not a valid header line"


@pytest.mark.parametrize(
    "name", ["Authorization", "Host", "HOST", "Content-Length", "content-length", "Transfer-Encoding"]
)
async def test_extra_headers_the_client_sets_cannot_be_overridden(name: str) -> None:
    with pytest.raises(InvalidArgumentError) as caught:
        CallExtras.of(None, {name: "x"}, None)
    assert str(caught.value) == f"extra_headers: {name} is set by the client and cannot be overridden"


async def test_extra_headers_with_any_printable_value_are_sent() -> None:
    extras = CallExtras.of(None, {"X-Trace": "XX: yes, a value with X and spaces"}, None)
    assert extras is not None and extras.headers == (("X-Trace", "XX: yes, a value with X and spaces"),)


async def test_extra_query_that_is_not_a_mapping_is_refused_by_name() -> None:
    with pytest.raises(InvalidArgumentError) as caught:
        CallExtras.of(None, None, ["a"])  # type: ignore[arg-type]
    assert str(caught.value) == "extra_query: must be a mapping of parameter names to values (got ['a'])"


async def test_with_raw_response_of_something_else_says_what_to_pass() -> None:
    async def nothing() -> int:
        return 1

    async with make_client(Recorder()) as client:
        with pytest.raises(DifyError) as caught:
            await client.with_raw_response(nothing())
    assert str(caught.value) == "with_raw_response: the call sent no request (pass a method of this client)"


async def test_an_upload_takes_the_per_call_options(tmp_path: Path) -> None:
    """extra_headers, extra_query and timeout= reach an upload's request as they reach any other."""
    path = tmp_path / "a.txt"
    path.write_bytes(b"hello")
    server = Recorder(body=DOCUMENT)
    async with make_client(server) as client:
        await client.datasets.upload_document(
            "d1", path, extra_headers={"X-Trace": "t1"}, extra_query={"q": "1"}, timeout=httpx.Timeout(7.0)
        )
    request = server.requests[0]
    assert request.headers["x-trace"] == "t1"
    assert request.url.params["q"] == "1"
    assert request.extensions["timeout"] == {"connect": 7.0, "read": 7.0, "write": 7.0, "pool": 7.0}


# --- deadlines, queued calls, closing, and the generated parser's path -------------------------------------


def test_an_infinite_timeout_is_refused_by_name() -> None:
    with pytest.raises(InvalidArgumentError) as caught:
        CallExtras.of(float("inf"), None, None)
    assert str(caught.value) == "timeout: must be a positive number of seconds or an httpx.Timeout (got inf)"


async def test_per_call_options_without_a_timeout_keep_the_clients_timeouts() -> None:
    server = Recorder()
    async with make_client(server, timeout=httpx.Timeout(5.0)) as client:
        await client._core.send("GET", "/apps", extra=CallExtras.of(None, {"X-A": "b"}, None))
    assert server.requests[0].extensions["timeout"] == {"connect": 5.0, "read": 5.0, "write": 5.0, "pool": 5.0}


async def test_a_deadline_under_a_second_is_kept_to_the_millisecond() -> None:
    import trio

    async def slow(request: httpx.Request) -> httpx.Response:
        await trio.sleep(10)
        return httpx.Response(200, json={})

    async with make_client(httpx.MockTransport(slow)) as client:
        start = trio.current_time()
        with pytest.raises(APITimeoutError):
            await client._core.send("GET", "/apps", extra=CallExtras(timeout=(httpx.Timeout(60.0), 0.25)))
        assert trio.current_time() - start == pytest.approx(0.25)


async def test_a_call_queued_behind_a_slow_one_times_out_at_its_own_deadline() -> None:
    """Waiting for a free slot counts against the call's deadline: it does not wait for the slow call to end."""
    import trio

    async def slow(request: httpx.Request) -> httpx.Response:
        await trio.sleep(10)
        return httpx.Response(200, json={})

    async with make_client(httpx.MockTransport(slow), max_concurrency=1) as client:
        failures: list[tuple[str, float]] = []

        async def queued() -> None:
            start = trio.current_time()
            try:
                await client._core.send("GET", "/second", extra=CallExtras(timeout=(httpx.Timeout(60.0), 1.0)))
            except APITimeoutError as exc:
                failures.append((str(exc), trio.current_time() - start))

        async with trio.open_nursery() as nursery:
            nursery.start_soon(client._core.send, "GET", "/first")
            await trio.sleep(0.1)
            nursery.start_soon(queued)
    assert failures == [
        (f"GET {BASE}/second: no answer in time (timeout=1 s for the whole call, retries and waits included)", 1.0)
    ]


async def test_extra_body_is_the_whole_body_of_an_operation_without_one() -> None:
    server = Recorder()
    async with make_client(server) as client:
        await client._core.send("POST", "/apps", extra=CallExtras(body={"a": 1}))
    assert json.loads(server.requests[0].content) == {"a": 1}


async def test_extra_body_cannot_be_merged_into_a_body_that_is_not_an_object() -> None:
    server = Recorder()
    async with make_client(server) as client:
        with pytest.raises(InvalidArgumentError) as caught:
            await client._core.send("POST", "/apps", json=[1], extra=CallExtras(body={"a": 1}))
    assert str(caught.value) == "extra_body: this operation's body is not a JSON object"
    assert server.requests == []


async def test_an_array_parameter_is_sent_as_repeated_keys() -> None:
    server = Recorder()
    async with make_client(server) as client:
        await client._core.send("GET", "/apps", params={"tag": ["a", "b"], "page": 2})
    assert str(server.requests[0].url) == f"{BASE}/apps?tag=a&tag=b&page=2"


async def test_a_retryable_answer_after_the_client_was_closed_is_not_retried_and_says_why() -> None:
    client = make_client(max_retries=2)

    class ClosesFirst(httpx.AsyncBaseTransport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            await client.aclose()
            return httpx.Response(503, request=request)

    client = make_client(ClosesFirst(), max_retries=2)
    with pytest.raises(InternalServerError) as caught:
        await client._core.send("GET", "/apps")
    assert caught.value.status_code == 503
    assert caught.value.request is not None and str(caught.value.request.url) == f"{BASE}/apps"
    assert caught.value.__notes__ == ["503 Service Unavailable; not retried: the client was closed"]


def test_a_client_used_from_a_second_event_loop_says_to_make_one_per_loop() -> None:
    import trio

    client = make_client(Recorder())

    async def use() -> None:
        await client._core.send("GET", "/apps")

    trio.run(use)
    with pytest.raises(DifyError) as caught:
        trio.run(use)
    assert str(caught.value) == (
        "this DifyManagementClient is bound to another event loop; create one client per event loop "
        "(for example inside the async function that uses it)"
    )


async def test_an_answer_type_without_a_spec_shape_is_parsed_by_the_generated_parser() -> None:
    """The generated parser's result is checked for type; an undocumented 2xx gives None, not an exception."""
    from dify_mgmt_async._generated.models import App, Error

    server = Script(
        httpx.Response(200, json=APP),
        httpx.Response(200, json=APP),
        httpx.Response(202, json={}),
        httpx.Response(200, content=b"not json"),
    )
    async with make_client(server) as client:
        app = await client._core.request(get_app, {"app_id": "a1"}, App)
        assert app.id == APP["id"]
        with pytest.raises(APIResponseValidationError) as wrong_type:
            await client._core.request(get_app, {"app_id": "a1"}, Error)
        with pytest.raises(APIResponseValidationError) as undocumented:
            await client._core.request(get_app, {"app_id": "a1"}, Error)
        with pytest.raises(APIResponseValidationError) as not_json:
            await client._core.request(get_app, {"app_id": "a1"}, Error)
    assert str(wrong_type.value) == "200 answer is not a Error (got App)"
    assert wrong_type.value.response.status_code == 200
    assert str(undocumented.value) == "202 answer is not a Error (got NoneType)"
    assert str(not_json.value).startswith("200 answer does not match the spec's Error: JSONDecodeError(")
    assert not_json.value.status_code == 200


async def test_a_transport_still_reading_an_upload_leaves_it_open_and_says_so(caplog: pytest.LogCaptureFixture) -> None:
    """Transports return only once they stopped reading the body; one that does not gets a warning, not a crash."""
    import trio

    gate = trio.Event()

    async def source() -> Any:
        yield b"a"
        await gate.wait()
        yield b"b"

    class StillReading(httpx.AsyncBaseTransport):
        def __init__(self, nursery: trio.Nursery) -> None:
            self.nursery = nursery

        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            async def read() -> None:
                async for _ in request.stream:  # type: ignore[union-attr]
                    pass

            self.nursery.start_soon(read)
            await trio.sleep(0.01)  # the reader is inside the body now, waiting for its second chunk
            return httpx.Response(200, json=DOCUMENT)

    caplog.set_level(logging.WARNING, logger="dify_mgmt_async")
    async with trio.open_nursery() as nursery:
        async with make_client(StillReading(nursery)) as client:
            document = await client.datasets.upload_document("d1", source(), filename="a.txt")
        gate.set()
    assert document.id == DOCUMENT["id"]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert warnings[0].startswith("upload body not closed: ")
    assert "already running" in warnings[0]


async def test_a_base_url_path_is_kept_whatever_it_ends_with() -> None:
    server = Recorder()
    async with make_client(server, base_url="https://dify.example.com/proxiX") as client:
        await client._core.send("GET", "/apps")
    assert str(server.requests[0].url) == "https://dify.example.com/proxiX/apps"


# --- uploads: what the stream itself finds (mutants of _uploads) ---------------------------------------------


async def test_an_async_iterable_that_yields_nothing_is_refused_as_empty() -> None:
    async def nothing() -> Any:
        return
        yield b""

    server = Recorder(body=DOCUMENT)
    async with make_client(server) as client:
        with pytest.raises(InvalidArgumentError) as caught:
            await client.datasets.upload_document("d1", nothing(), filename="a.txt")
    assert str(caught.value) == "file: is empty (0 bytes)"


async def test_a_progress_callbacks_own_error_is_raised_as_it_is() -> None:
    mine = LookupError("my progress bar broke")

    def progress(sent: int, total: int | None) -> None:
        raise mine

    async with make_client(Recorder(body=DOCUMENT)) as client:
        with pytest.raises(LookupError) as caught:
            await client.datasets.upload_document("d1", b"hello", filename="a.txt", on_progress=progress)
    assert caught.value is mine


async def test_a_reader_without_seekable_is_uploaded_as_a_stream() -> None:
    class Reader:
        def __init__(self) -> None:
            self.data = [b"hel", b"lo"]

        def read(self, size: int = -1) -> bytes:
            return self.data.pop(0) if self.data else b""

    server = Recorder(body=DOCUMENT)
    async with make_client(server) as client:
        await client.datasets.upload_document("d1", Reader(), filename="a.txt")  # type: ignore[arg-type]
    assert server.parts()["file"].get_content() == "hello"  # text/plain, from the file name


@pytest.mark.parametrize("filename", ["X-ray.txt", "..x", "a b.txt"])
async def test_file_names_with_any_other_characters_are_sent(filename: str) -> None:
    server = Recorder(body=DOCUMENT)
    async with make_client(server) as client:
        await client.datasets.upload_document("d1", b"hello", filename=filename)
    assert server.parts()["file"].get_filename() == filename


async def test_a_call_queued_when_the_client_is_closed_fails_saying_so() -> None:
    import trio

    async def slow(request: httpx.Request) -> httpx.Response:
        await trio.sleep(1)
        return httpx.Response(200, json={})

    client = make_client(httpx.MockTransport(slow), max_concurrency=1)
    failures: list[str] = []

    async def queued() -> None:
        try:
            await client._core.send("GET", "/second")
        except DifyError as exc:
            failures.append(str(exc))

    async with trio.open_nursery() as nursery:
        nursery.start_soon(client._core.send, "GET", "/first")
        await trio.sleep(0.1)
        nursery.start_soon(queued)
        await trio.sleep(0.1)
        await client.aclose()
    assert failures == ["this DifyManagementClient is closed; create a new one"]


async def test_a_2xx_that_is_not_json_names_the_expected_model() -> None:
    from dify_mgmt_async._generated.models import App

    async with make_client(Script(httpx.Response(200, content=b"<html>"))) as client:
        with pytest.raises(APIResponseValidationError) as caught:
            await client._core.request(get_app, {"app_id": "a1"}, App)
    assert str(caught.value).startswith("200 answer does not match the spec's App: JSONDecodeError(")
