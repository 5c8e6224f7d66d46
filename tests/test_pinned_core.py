"""Exact values of the one request path (``_core``): retry events, per-attempt timeouts, error messages.

Virtual time (trio MockClock), so deadlines and waits are exact.
"""

from __future__ import annotations

import gzip
import random
import zlib
from typing import Any

import httpx
import pytest

from dify_mgmt_async import (
    APIConnectionError,
    APITimeoutError,
    DifyError,
    InternalServerError,
    RetryEvent,
    __version__,
)
from dify_mgmt_async._core import CallExtras
from tests.conftest import BASE, TOKEN, Recorder, make_client

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

    def __aiter__(self) -> Stream:
        return self

    async def __anext__(self) -> bytes:  # not a generator: abandoning it mid-way needs no cleanup
        if not self.chunks:
            raise StopAsyncIteration
        return self.chunks.pop(0)


class Streaming(httpx.AsyncBaseTransport):
    """Answers every request with one streamed non-2xx answer."""

    def __init__(self, status: int, content: bytes, headers: dict[str, str] | None = None) -> None:
        self.status, self.content, self.headers = status, content, headers or {}

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return httpx.Response(self.status, headers=self.headers, stream=Stream(self.content), request=request)


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


async def test_a_retry_gets_what_is_left_of_the_deadline(monkeypatch: pytest.MonkeyPatch) -> None:
    from dify_mgmt_async import _core

    monkeypatch.setattr(_core.random, "Random", Top)
    server = Script(httpx.Response(503))
    async with make_client(server) as client:
        await client._core.send("GET", "/apps", extra=CallExtras(timeout=(httpx.Timeout(60.0), 8.0)))
    assert [r.extensions["timeout"]["read"] for r in server.requests] == [8.0, 7.5]


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
