"""Retries on 429, the shared cooldown gate, the retry budget and deadlines, in virtual time.

The module is marked ``virtual_time`` (tests/conftest.py): async tests run on trio with
``MockClock(autojump_threshold=0)``; whenever every task is blocked the clock jumps to the next
deadline, so a 2 s ``Retry-After`` costs no real time and elapsed times are exact.
"""

from __future__ import annotations

import contextlib
import email.utils
import hashlib
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
import trio

from dify_mgmt_async import (
    APIConnectionError,
    APITimeoutError,
    DifyError,
    DifyManagementClient,
    InternalServerError,
    RateLimitError,
    RetryEvent,
    bulk,
)
from dify_mgmt_async._errors import parse_retry_after
from dify_mgmt_async._ratelimit import RateLimitEngine
from tests.conftest import Handler, Recorder, make_client

UPLOADED = {
    "id": "d",
    "name": "f.txt",
    "created_at": 1,
    "status": "enabled",
    "indexing_status": "waiting",
    "word_count": 0,
}  # the document an upload test's server answers with

pytestmark = pytest.mark.virtual_time


def app_json(name: str = "a") -> dict[str, Any]:
    return {
        "id": f"id-{name}",
        "name": name,
        "mode": "chat",
        "icon": None,
        "icon_background": None,
        "description": None,
        "created_at": 1,
    }


# --- Retry-After parsing ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"retry-after": "2"}, 2.0),
        ({"retry-after": "1.5"}, 1.5),
        ({"retry-after-ms": "250"}, 0.25),
        ({"retry-after-ms": "250", "retry-after": "9"}, 0.25),
        ({"retry-after": "-3"}, 0.0),
        ({"retry-after": "soon"}, None),
        ({"retry-after": ""}, None),
        ({"retry-after": "nan"}, None),
        ({}, None),
    ],
)
def test_parse_retry_after(headers: dict[str, str], expected: float | None) -> None:
    """Delta-seconds, retry-after-ms (preferred), negative → 0, garbage → None."""
    assert parse_retry_after(httpx.Headers(headers)) == expected


def test_parse_retry_after_http_date() -> None:
    """An HTTP-date is turned into seconds from now; a past date means 0."""
    now = time.time()
    future = email.utils.formatdate(now + 30, usegmt=True)
    assert parse_retry_after(httpx.Headers({"retry-after": future}), now=now) == pytest.approx(30, abs=1)
    past = email.utils.formatdate(now - 30, usegmt=True)
    assert parse_retry_after(httpx.Headers({"retry-after": past}), now=now) == 0.0


# --- 429 ------------------------------------------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("header", "wait"),
    [({"Retry-After": "2"}, 2.0), ({"retry-after-ms": "1500"}, 1.5), ({"Retry-After": "-1"}, 0.0)],
)
async def test_429_is_retried_after_the_hint(header: dict[str, str], wait: float) -> None:
    """A 429 on a POST is retried after the server's wait; the create happens once."""
    calls: list[float] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(trio.current_time())
        if len(calls) == 1:
            return httpx.Response(429, headers=header, json={"error_code": "rate_limited", "error": "slow down"})
        return httpx.Response(201, json=app_json())

    async with make_client(handler) as dify:
        start = trio.current_time()
        app = await dify.apps.create(name="a", mode="chat")
    assert app.name == "a"
    assert len(calls) == 2
    assert wait <= calls[1] - start <= wait + 0.3  # + the gate's small positive jitter


@pytest.mark.anyio
async def test_429_with_http_date_is_honoured() -> None:
    """Retry-After as an HTTP-date (wall clock) is honoured."""
    calls: list[float] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(trio.current_time())
        if len(calls) == 1:
            date = email.utils.formatdate(time.time() + 3, usegmt=True)
            return httpx.Response(429, headers={"Retry-After": date})
        return httpx.Response(200, json=app_json())

    async with make_client(handler) as dify:
        await dify.apps.get("x")
    assert len(calls) == 2
    assert 1.5 <= calls[1] - calls[0] <= 3.5


@pytest.mark.anyio
async def test_429_without_hint_uses_jittered_backoff() -> None:
    """Garbage Retry-After: exponential backoff with full jitter (≤ 0.5 s, then ≤ 1 s...)."""
    calls: list[float] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(trio.current_time())
        if len(calls) <= 2:
            return httpx.Response(429, headers={"Retry-After": "whenever"})
        return httpx.Response(200, json=app_json())

    async with make_client(handler) as dify:
        await dify.apps.get("x")
    assert len(calls) == 3
    assert calls[1] - calls[0] <= 0.5 + 0.3
    assert calls[2] - calls[1] <= 1.0 + 0.3


@pytest.mark.anyio
async def test_429_asking_longer_than_max_retry_wait_raises_at_once() -> None:
    """Retry-After: 3600 > max_retry_wait (120 s): RateLimitError at once, carrying retry_after."""
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        return httpx.Response(429, headers={"Retry-After": "3600"}, json={"error_code": "rate_limited", "error": "x"})

    async with make_client(handler) as dify:
        start = trio.current_time()
        with pytest.raises(RateLimitError) as caught:
            await dify.apps.create(name="a", mode="chat")
    assert calls == 1
    assert caught.value.retry_after == 3600
    assert trio.current_time() - start < 0.01
    assert "max_retry_wait" in "".join(caught.value.__notes__)


@pytest.mark.anyio
async def test_429_retries_are_bounded() -> None:
    """After max_rate_limit_retries (5) the 429 is raised: 6 requests in all."""
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        return httpx.Response(429, headers={"Retry-After": "1"})

    async with make_client(handler) as dify:
        with pytest.raises(RateLimitError):
            await dify.apps.get("x")
    assert calls == 6


@pytest.mark.anyio
async def test_max_retries_zero_disables_retries() -> None:
    """max_retries=0 turns off 429 retries too."""
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        return httpx.Response(429, headers={"Retry-After": "1"})

    async with make_client(handler, max_retries=0) as dify:
        with pytest.raises(RateLimitError):
            await dify.apps.get("x")
    assert calls == 1


@pytest.mark.anyio
async def test_429_storm_no_duplicates_and_no_retry_before_its_hint() -> None:
    """2,000 concurrent creates, the first half 429'd with Retry-After 2: all succeed, exactly 2,000
    creates, and no request is sent again before the 2 s its own 429 asked for."""
    throttled_at: dict[str, float] = {}
    retried_after: dict[str, float] = {}
    created: dict[str, int] = {}

    def handler(request: httpx.Request) -> httpx.Response:
        now = trio.current_time()
        name = json.loads(request.content)["name"]
        if name in throttled_at:
            retried_after.setdefault(name, now - throttled_at[name])
        elif int(name.split("-")[1]) < 1000:
            throttled_at[name] = now
            return httpx.Response(429, headers={"Retry-After": "2"}, json={"error_code": "rate_limited", "error": "x"})
        created[name] = created.get(name, 0) + 1
        return httpx.Response(201, json=app_json(name))

    names = [f"app-{i}" for i in range(2000)]
    async with make_client(handler, max_concurrency=64) as dify:
        results = await bulk.map(lambda n: dify.apps.create(name=n, mode="chat"), names, concurrency=2000)
        stats = dify.stats
    assert all(not isinstance(r, Exception) for r in results)
    assert [r.name for r in results if not isinstance(r, Exception)] == names
    assert len(created) == 2000 and set(created.values()) == {1}
    assert stats.rate_limited == len(throttled_at) == 1000
    assert stats.in_flight == 0
    assert len(retried_after) == 1000
    assert min(retried_after.values()) >= 2.0
    assert stats.concurrency_limit < 64  # shrank on 429s


# --- other statuses and network errors ----------------------------------------------------------


@pytest.mark.anyio
async def test_500_on_post_is_not_retried() -> None:
    """A create answered 500 may have happened: never re-sent."""
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        return httpx.Response(500, json={"error_code": "internal_server_error", "error": "boom"})

    async with make_client(handler) as dify:
        with pytest.raises(InternalServerError):
            await dify.datasets.create(name="d")
    assert calls == 1


@pytest.mark.anyio
async def test_503_on_get_is_retried() -> None:
    """GET is idempotent: 503, 503, then 200 succeeds with 3 requests, and the hook sees both retries."""
    calls = 0
    events: list[RetryEvent] = []

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        if calls < 3:
            return httpx.Response(503, text="<html>busy</html>")
        return httpx.Response(200, json=app_json())

    async with make_client(handler, on_retry=events.append) as dify:
        await dify.apps.get("x")
    assert calls == 3
    assert [e.attempt for e in events] == [1, 2]
    assert all(e.status_code == 503 for e in events)


@pytest.mark.anyio
async def test_connection_refused_on_post_is_retried() -> None:
    """A connect failure means nothing was sent: even a create is retried, and created once."""
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise httpx.ConnectError("connection refused", request=request)
        return httpx.Response(201, json=app_json())

    async with make_client(handler) as dify:
        await dify.apps.create(name="a", mode="chat")
    assert calls == 2


@pytest.mark.anyio
async def test_disconnect_after_post_is_not_retried() -> None:
    """The server dropped the connection after the create was sent: not re-sent, APIConnectionError."""
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        raise httpx.RemoteProtocolError("Server disconnected without sending a response.", request=request)

    async with make_client(handler) as dify:
        with pytest.raises(APIConnectionError) as caught:
            await dify.apps.create(name="a", mode="chat")
    assert calls == 1
    assert "not re-sent" in "".join(caught.value.__notes__)


@pytest.mark.anyio
async def test_outage_budget_stops_retry_multiplication() -> None:
    """100 % 503 for 200 GETs: the budget (100 tokens, 5 per retry) allows 20 retries, not 400."""
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        return httpx.Response(503)

    async with make_client(handler) as dify:
        results = await bulk.map(lambda i: dify.apps.get(f"a{i}"), range(200), concurrency=16)
        stats = dify.stats
    assert all(isinstance(r, InternalServerError) for r in results)
    assert calls == 200 + 20
    assert stats.budget_left < 5
    assert any("retry budget" in note for r in results for note in getattr(r, "__notes__", []))


@pytest.mark.anyio
async def test_deadline_covers_all_attempts() -> None:
    """timeout=3 s: the call gives up within 3 s of virtual time, never sleeping past it."""

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(429, headers={"Retry-After": "2"})

    async with make_client(handler, timeout=3.0) as dify:
        start = trio.current_time()
        with pytest.raises((RateLimitError, APITimeoutError)):
            await dify.apps.get("x")
        assert trio.current_time() - start <= 3.0


@pytest.mark.anyio
async def test_slow_token_provider_counts_against_the_deadline() -> None:
    """A token provider taking 3 s cannot stretch a timeout=1 call: APITimeoutError after 1 s."""

    async def slow() -> str:
        await anyio.sleep(3)
        return "tok"

    server = Recorder()
    async with make_client(server, token=slow, timeout=1.0) as dify:
        start = trio.current_time()
        with pytest.raises(APITimeoutError):
            await dify.apps.get("a1")
        assert trio.current_time() - start <= 1.0
        assert dify.stats.in_flight == 0
    assert server.requests == []


# --- uploads --------------------------------------------------------------------------------------


def upload_server(received: list[str]) -> Handler:
    """429 on the first attempt, then record the file part's sha256."""

    def handler(request: httpx.Request) -> httpx.Response:
        body = request.read()
        if not received and body and len(received) == 0 and not getattr(handler, "throttled", False):
            handler.throttled = True  # type: ignore[attr-defined]
            return httpx.Response(429, headers={"Retry-After": "1"})
        boundary = request.headers["content-type"].split("boundary=")[1].encode()
        part = next(p for p in body.split(b"--" + boundary) if b'name="file"' in p)
        payload = part.split(b"\r\n\r\n", 1)[1][:-2]
        received.append(hashlib.sha256(payload).hexdigest())
        return httpx.Response(201, json=UPLOADED)

    return handler


@pytest.mark.anyio
@pytest.mark.parametrize("kind", ["path", "bytes", "fileobj"])
async def test_upload_retried_after_429_is_identical(kind: str, tmp_path: Path) -> None:
    """After a 429 the body is replayed exactly: same sha256 at the server, never 0 bytes or truncated."""
    data = bytes(range(256)) * 5000
    path = tmp_path / "f.txt"
    path.write_bytes(data)
    received: list[str] = []
    async with make_client(upload_server(received)) as dify:
        if kind == "path":
            await dify.datasets.upload_document("ds", path)
        elif kind == "bytes":
            await dify.datasets.upload_document("ds", data, filename="f.txt")
        else:
            with path.open("rb") as handle:
                await dify.datasets.upload_document("ds", handle)
    assert received == [hashlib.sha256(data).hexdigest()]


@pytest.mark.anyio
async def test_one_shot_iterable_upload_is_not_retried() -> None:
    """An async iterable cannot be replayed: the 429 is raised with a note saying why."""
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        request.read()
        return httpx.Response(429, headers={"Retry-After": "1"})

    async def chunks() -> AsyncIterator[bytes]:
        yield b"hello "
        yield b"world"

    async with make_client(handler) as dify:
        with pytest.raises(RateLimitError) as caught:
            await dify.datasets.upload_document("ds", chunks(), filename="a.txt")
    assert calls == 1
    assert "cannot be replayed" in "".join(caught.value.__notes__)


# --- cancellation -------------------------------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize("where", ["backoff", "gate"])
async def test_cancel_during_wait_leaks_nothing(where: str) -> None:
    """Tasks cancelled in backoff or at the gate leave no request in flight and no queued waiter."""

    def handler(request: httpx.Request) -> httpx.Response:
        if where == "backoff":
            return httpx.Response(503)
        return httpx.Response(429, headers={"Retry-After": "30"})

    async def get(dify: DifyManagementClient, app_id: str) -> None:
        with contextlib.suppress(DifyError):  # a task may use up its retries before the cancel
            await dify.apps.get(app_id)

    async with make_client(handler, max_concurrency=4) as dify:
        with anyio.move_on_after(0.2) as scope:
            async with anyio.create_task_group() as tg:
                for i in range(8):
                    tg.start_soon(get, dify, f"a{i}")
        assert scope.cancelled_caught
        assert dify.stats.in_flight == 0
        assert not dify._state.engine.limiter._waiters


@pytest.mark.anyio
async def test_cancel_mid_upload_releases_the_slot(tmp_path: Path) -> None:
    """Cancelling an upload while its body streams frees its slot."""
    started = anyio.Event()

    class SlowTransport(httpx.AsyncBaseTransport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            assert isinstance(request.stream, httpx.AsyncByteStream)
            chunks = aiter(request.stream)
            try:
                async for _ in chunks:
                    started.set()
                    await anyio.sleep(10)
            finally:
                await chunks.aclose()  # type: ignore[attr-defined]
            return httpx.Response(201, json=UPLOADED)

    path = tmp_path / "f.txt"
    path.write_bytes(b"x" * 1_000_000)
    dify = make_client(SlowTransport())
    async with anyio.create_task_group() as tg:
        tg.start_soon(dify.datasets.upload_document, "ds", path)
        await started.wait()
        tg.cancel_scope.cancel()
    assert dify.stats.in_flight == 0
    await dify.aclose()


# --- bulk helper ------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_bulk_map_order_errors_progress_and_bound() -> None:
    """Results in input order, errors kept in place, progress reported, at most `concurrency` in flight."""
    in_flight = peak = 0
    progress: list[tuple[int, int | None]] = []

    async def work(i: int) -> int:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await anyio.sleep(0.01 * (i % 3))
        in_flight -= 1
        if i == 5:
            raise ValueError("five")
        return i * 2

    def lazy() -> Any:
        yield from range(20)

    results = await bulk.map(work, lazy(), concurrency=4, on_progress=lambda d, t: progress.append((d, t)))
    assert peak == 4
    assert [r for r in results if not isinstance(r, Exception)] == [i * 2 for i in range(20) if i != 5]
    assert isinstance(results[5], ValueError)
    assert progress[-1] == (20, None)
    with pytest.raises(ValueError, match="five"):
        await bulk.map(work, range(20), concurrency=4, fail_fast=True)


@pytest.mark.anyio
async def test_bulk_map_raises_the_input_iterators_error_and_on_progress_s_as_themselves() -> None:
    """Neither is a call's outcome to keep in place: each stops the map and is raised as it is, not wrapped in an
    ExceptionGroup from the task group inside."""

    async def work(i: int) -> int:
        return i

    def broken() -> Any:
        yield from range(3)
        raise LookupError("row 3 is unreadable")

    with pytest.raises(LookupError, match=r"^row 3 is unreadable$"):
        await bulk.map(work, broken(), concurrency=4)

    def progress(done: int, total: int | None) -> None:
        raise RuntimeError("the progress bar broke")

    with pytest.raises(RuntimeError, match=r"^the progress bar broke$"):
        await bulk.map(work, range(5), concurrency=2, on_progress=progress)


# --- pacing after 429s --------------------------------------------------------------------------


def token_bucket_server(rate: float, burst: int, created: dict[str, int], precise: bool) -> Handler:
    """A server limiting creates to ``rate``/s (bucket of ``burst``), answering 429 like the emulator."""
    bucket = {"tokens": float(burst), "at": 0.0}

    def handler(request: httpx.Request) -> httpx.Response:
        now = trio.current_time()
        bucket["tokens"] = min(burst, bucket["tokens"] + (now - bucket["at"]) * rate)
        bucket["at"] = now
        if bucket["tokens"] < 1:
            exact = (1 - bucket["tokens"]) / rate
            headers = {"Retry-After": str(max(1, int(exact) + 1))}
            if precise:
                headers["retry-after-ms"] = str(int(exact * 1000) + 1)
            return httpx.Response(429, headers=headers, json={"error_code": "rate_limited", "error": "x"})
        bucket["tokens"] -= 1
        name = json.loads(request.content)["name"]
        created[name] = created.get(name, 0) + 1
        return httpx.Response(201, json=app_json(name))

    return handler


@pytest.mark.anyio
@pytest.mark.parametrize("precise", [True, False], ids=["retry-after-ms", "whole-seconds"])
async def test_pacing_keeps_429s_rare_against_a_token_bucket(precise: bool) -> None:
    """1,000 creates at 256 in flight against 50/s: every create once, few 429s, close to the ideal N/R."""
    created: dict[str, int] = {}
    rate, n = 50.0, 1000
    async with make_client(token_bucket_server(rate, 50, created, precise), max_concurrency=256) as dify:
        start = trio.current_time()
        results = await bulk.map(lambda i: dify.apps.create(name=f"a-{i}", mode="chat"), range(n), concurrency=256)
        elapsed = trio.current_time() - start
        stats = dify.stats
    assert not [r for r in results if isinstance(r, Exception)]
    assert len(created) == n and set(created.values()) == {1}
    assert stats.pacing_rate is not None
    assert stats.rate_limited <= 0.05 * n
    assert elapsed <= 1.2 * n / rate


@pytest.mark.anyio
async def test_cancelled_pacer_waiters_give_their_tokens_back() -> None:
    """50 waiters cancelled at 10/s: the next send waits ~0.1 s, not the 5 s they had booked."""
    engine = RateLimitEngine(100)
    engine.state.set_rate(10.0)
    with anyio.move_on_after(0.05):
        async with anyio.create_task_group() as tg:
            for _ in range(50):
                tg.start_soon(engine.enter, None)
    assert engine.limiter.in_flight == 1  # only the first, sent at once, holds a slot
    start = trio.current_time()
    await engine.enter(None)
    assert 0.05 <= trio.current_time() - start <= 0.1 + 1e-9
