"""``_loop``: the one place that tells asyncio from trio. Unmarked, so every test runs on both."""

from __future__ import annotations

import asyncio

import anyio
import pytest

from dify_mgmt_async._loop import loop_event, loop_identity, loop_time
from dify_mgmt_async._ratelimit import AdaptiveLimiter


@pytest.mark.anyio
async def test_the_loop_helpers_answer_for_the_running_backend(anyio_backend: str) -> None:
    event = loop_event()
    assert isinstance(event, asyncio.Event) == (anyio_backend == "asyncio")
    assert isinstance(event, anyio.Event) == (anyio_backend == "trio")
    assert loop_time() == pytest.approx(anyio.current_time(), abs=0.01)
    assert loop_identity() is loop_identity()


@pytest.mark.anyio
async def test_queued_tasks_wait_on_the_loops_own_event_and_a_cancelled_one_leaves(anyio_backend: str) -> None:
    """asyncio's own event under asyncio (anyio's looks its backend up at every construction, a third of what a
    queued task cost before its first send), anyio's under trio; on both a freed slot goes to the first waiter
    still waiting, and a cancelled waiter leaves the queue."""
    limiter = AdaptiveLimiter(1)
    await limiter.acquire()
    got: list[str] = []
    scopes: dict[str, anyio.CancelScope] = {}

    async def take(tag: str) -> None:
        with anyio.CancelScope() as scopes[tag]:
            await limiter.acquire()
            got.append(tag)

    async with anyio.create_task_group() as tg:
        tg.start_soon(take, "first")
        await anyio.wait_all_tasks_blocked()
        tg.start_soon(take, "second")
        await anyio.wait_all_tasks_blocked()
        kind = asyncio.Event if anyio_backend == "asyncio" else anyio.Event
        assert len(limiter._waiters) == 2 and all(isinstance(w, kind) for w in limiter._waiters)
        scopes["first"].cancel()
        await anyio.wait_all_tasks_blocked()
        assert len(limiter._waiters) == 1
        limiter.release()
    assert (got, limiter.in_flight, len(limiter._waiters)) == (["second"], 1, 0)


@pytest.mark.anyio
async def test_a_slot_handed_to_a_waiter_is_kept_when_its_scope_is_cancelled_before_it_runs(anyio_backend: str) -> None:
    """The freed slot is set on the waiter's event; a cancellation that comes before the waiter runs loses to the
    wake-up on either loop's event, so the waiter holds the slot (and gives it back as usual): never lost."""
    limiter = AdaptiveLimiter(1)
    await limiter.acquire()
    scope = anyio.CancelScope()
    outcome: list[str] = []

    async def wait() -> None:
        with scope:
            await limiter.acquire()
            outcome.append("got it")

    async with anyio.create_task_group() as tg:
        tg.start_soon(wait)
        await anyio.wait_all_tasks_blocked()
        limiter.release()  # handed over: in flight stays 1, the waiter's event is set
        assert (limiter.in_flight, len(limiter._waiters)) == (1, 0)
        scope.cancel()  # before the waiter runs
    assert (outcome, limiter.in_flight) == (["got it"], 1)
    limiter.release()
    assert limiter.in_flight == 0
