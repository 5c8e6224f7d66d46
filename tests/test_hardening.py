"""Edge cases found in review: each test fails without the fix it names.

Async tests run on trio with a virtual clock (``MockClock``), like tests/test_retries.py.
"""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from typing import Any

import anyio
import anyio.lowlevel
import httpx
import pytest
import trio
import trio.testing

from dify_mgmt_async import (
    APIResponseValidationError,
    APITimeoutError,
    ConfigurationError,
    DifyManagementClient,
    InternalServerError,
    InvalidArgumentError,
    RateLimitError,
)
from dify_mgmt_async._ratelimit import RatePacer

BASE = "http://dify.test"
APP = {
    "id": "a1",
    "name": "n",
    "mode": "chat",
    "icon": None,
    "icon_background": None,
    "description": None,
    "created_at": 1,
}


@pytest.fixture
def anyio_backend() -> tuple[str, dict[str, Any]]:
    return ("trio", {"clock": trio.testing.MockClock(autojump_threshold=0)})


class Recorder:
    def __init__(self, *answers: httpx.Response) -> None:
        self.requests: list[tuple[float, httpx.Request]] = []
        self.answers = list(answers)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        request.read()
        self.requests.append((trio.current_time(), request))
        return self.answers.pop(0) if self.answers else httpx.Response(200, json=APP)


def client(server: Recorder, **kwargs: Any) -> DifyManagementClient:
    return DifyManagementClient(BASE, kwargs.pop("token", "tok"), transport=httpx.MockTransport(server), **kwargs)


# --- slots are never lost -------------------------------------------------------------------------


@pytest.mark.anyio
async def test_failing_token_provider_does_not_leak_slots() -> None:
    """A token provider that raises gives a ConfigurationError and its slot back: the 5th call still runs."""
    calls = 0

    async def flaky() -> str:
        nonlocal calls
        calls += 1
        if calls <= 4:
            raise OSError("vault unreachable")
        return "tok"

    server = Recorder()
    async with client(server, token=flaky, max_concurrency=4) as dify:
        for _ in range(4):
            with pytest.raises(ConfigurationError, match="token provider failed"):
                await dify.apps.get("a1")
        with anyio.fail_after(1):
            await dify.apps.get("a1")
        assert dify.stats.in_flight == 0
    assert len(server.requests) == 1


@pytest.mark.anyio
@pytest.mark.parametrize(
    "call",
    [
        lambda d: d.workspaces.update_current(plan_settings={"k": object()}),
        lambda d: d.model_providers.update_credentials("openai", credentials={"k": float("nan")}),
        lambda d: d.apps.create(name="\ud800", mode="chat"),
    ],
    ids=["not-json", "nan", "lone-surrogate"],
)
async def test_unsendable_values_are_refused_before_sending(call: Any) -> None:
    """Values JSON or UTF-8 cannot carry raise InvalidArgumentError up front, and no slot is lost."""
    server = Recorder()
    async with client(server, max_concurrency=1) as dify:
        with pytest.raises(InvalidArgumentError):
            await call(dify)
        await dify.apps.get("a1")
        assert dify.stats.in_flight == 0
    assert len(server.requests) == 1


@pytest.mark.anyio
@pytest.mark.parametrize("bad", [".", "..", " .. "])
async def test_dot_segments_are_refused(bad: str) -> None:
    """`..` would make `DELETE .../documents/..` delete the dataset: ids of `.`/`..` are refused."""
    server = Recorder()
    async with client(server) as dify:
        with pytest.raises(InvalidArgumentError, match="document_id"):
            await dify.datasets.delete_document("D1", bad)
        with pytest.raises(InvalidArgumentError, match="provider_name"):
            await dify.model_providers.update_credentials(bad, credentials={})
    assert server.requests == []


# --- the pacer gives back what cancelled waiters took --------------------------------------------------


@pytest.mark.anyio
async def test_cancelled_pacer_waiters_give_their_tokens_back() -> None:
    """50 waiters cancelled at 10/s: the next send waits ~0.1 s, not the 5 s they had booked."""
    pacer = RatePacer()
    pacer.rate = 10.0
    with anyio.move_on_after(0.05):
        async with anyio.create_task_group() as tg:
            for _ in range(50):
                tg.start_soon(pacer.wait, None)
    start = trio.current_time()
    await pacer.wait(None)
    assert trio.current_time() - start <= 0.2


# --- answers that used to escape as raw errors -----------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize(("status", "error"), [(200, APIResponseValidationError), (500, InternalServerError)])
async def test_deeply_nested_json_is_an_sdk_error(status: int, error: type[Exception]) -> None:
    """JSON nested past the recursion limit becomes the SDK's error, not a RecursionError."""
    server = Recorder(httpx.Response(status, content=b"[" * 200_000, headers={"Content-Type": "application/json"}))
    async with client(server, max_retries=0) as dify:
        with pytest.raises(error):
            await dify.apps.get("a1")


# --- configuration --------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_with_options_restores_default_429_retries() -> None:
    """max_retries=0 on the client, with_options(max_retries=3) on the view: 429 retries are back to 5."""
    server = Recorder(*[httpx.Response(429, headers={"Retry-After": "1"}) for _ in range(6)])
    async with client(server, max_retries=0) as dify:
        with pytest.raises(RateLimitError):
            await dify.with_options(max_retries=3).apps.get("a1")
    assert len(server.requests) == 6


@pytest.mark.anyio
async def test_pattern_does_not_accept_a_trailing_newline() -> None:
    """`#fff\\n` is not a hex colour (JSON Schema's `$` is the end of the string)."""
    server = Recorder()
    async with client(server) as dify:
        with pytest.raises(InvalidArgumentError, match="icon_background"):
            await dify.apps.create(name="n", mode="chat", icon_background="#fff\n")
    assert server.requests == []


@pytest.mark.anyio
async def test_given_http_client_gets_our_user_agent_without_being_changed() -> None:
    """A caller's client with httpx's default User-Agent sends ours per request; its own headers stay."""
    server = Recorder()
    http = httpx.AsyncClient(transport=httpx.MockTransport(server))
    before = http.headers["User-Agent"]
    async with DifyManagementClient(BASE, "tok", http_client=http) as dify:
        await dify.apps.get("a1")
    assert server.requests[0][1].headers["User-Agent"].startswith("dify-mgmt-async/")
    assert http.headers["User-Agent"] == before
    await http.aclose()


# --- uploads --------------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_empty_async_iterable_is_refused() -> None:
    """An async iterable that yields nothing is an empty file: InvalidArgumentError, as for an empty path."""

    async def nothing() -> AsyncIterator[bytes]:
        for _ in ():
            yield b""

    async with client(Recorder()) as dify:
        with pytest.raises(InvalidArgumentError, match="empty"):
            await dify.datasets.upload_document("ds", nothing(), filename="a.txt")


class WrappingTransport(httpx.AsyncBaseTransport):
    """Reads the body and, like the aiohttp transport, reports any failure while sending it as a
    transport error (aiohttp wraps it as "Failed to send bytes")."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            await request.aread()
        except Exception as exc:
            raise httpx.WriteError("Failed to send bytes into the underlying connection", request=request) from exc
        return httpx.Response(201, json={"id": "d", "name": "a.txt"})


@pytest.mark.anyio
async def test_file_shrinking_mid_upload_reports_why() -> None:
    """A file that yields fewer bytes than measured raises InvalidArgumentError naming the change,
    not the transport's "failed to send" error that wraps it."""

    class Shrinking(io.BytesIO):
        def read(self, size: int | None = -1) -> bytes:
            data = super().read(size)
            return data[: len(data) // 2]

    async with DifyManagementClient(BASE, "tok", transport=WrappingTransport()) as dify:
        with pytest.raises(InvalidArgumentError, match="changed while uploading"):
            await dify.datasets.upload_document("ds", Shrinking(b"y" * 1000), filename="a.txt")


@pytest.mark.anyio
@pytest.mark.parametrize("bad", ["text/plain\r\nX-Injected: 1", "text plain", "text/plain; a=b\n"])
async def test_content_type_must_be_a_media_type(bad: str) -> None:
    """A content_type with line breaks (part-header injection) or no type/subtype is refused."""
    server = Recorder()
    async with client(server) as dify:
        with pytest.raises(InvalidArgumentError, match="content_type"):
            await dify.datasets.upload_document("ds", b"data", filename="a.txt", content_type=bad)
    assert server.requests == []


@pytest.mark.anyio
async def test_slow_token_provider_counts_against_the_deadline() -> None:
    """A token provider taking 3 s cannot stretch a timeout=1 call: APITimeoutError after 1 s."""

    async def slow() -> str:
        await anyio.sleep(3)
        return "tok"

    server = Recorder()
    async with client(server, token=slow, timeout=1.0) as dify:
        start = trio.current_time()
        with pytest.raises(APITimeoutError):
            await dify.apps.get("a1")
        assert trio.current_time() - start <= 1.0
        assert dify.stats.in_flight == 0
    assert server.requests == []
