"""What must hold after every fault: no slot lost, full concurrency left, no token in any exception."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import anyio

from dify_mgmt_async import DifyManagementClient
from tests.faultserver import FaultServer, gather

#: Distinctive, so a leak anywhere is found by a plain substring search.
TOKEN = "tok-S3CRET-7f3a9c1e5b"

_probes = itertools.count(1)


def exception_chain(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and every exception reachable through ``__cause__``, ``__context__`` and exception groups."""
    seen: set[int] = set()
    stack = [exc]
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        for linked in (current.__cause__, current.__context__):
            if linked is not None:
                stack.append(linked)
        if isinstance(current, BaseExceptionGroup):
            stack.extend(current.exceptions)


def assert_token_absent(exc: BaseException, token: str = TOKEN) -> None:
    """The token is in no ``repr``, ``str``, ``args`` or note of any exception of the chain."""
    for linked in exception_chain(exc):
        texts = [repr(linked), str(linked), repr(linked.args), *map(str, linked.args)]
        texts += [str(note) for note in getattr(linked, "__notes__", ())]
        for text in texts:
            assert token not in text, f"the token leaks through {type(linked).__qualname__}: {text[:500]}"


async def assert_full_concurrency(
    dify: DifyManagementClient, server: FaultServer, max_concurrency: int, *, wait: float = 3.0
) -> None:
    """``max_concurrency`` calls of the same client are in flight at the server at once, then all finish.

    The server holds each call until all of them arrived (or ``wait`` passed), so a lost slot shows
    as a peak below ``max_concurrency`` or, when every slot is lost, as a timeout.
    """
    probe = f"probe-{next(_probes)}"  # a fresh path per check, so an earlier peak does not count
    server.route(probe, gather(max_concurrency, timeout=wait))
    path = f"/api/management/apps/{probe}"
    with anyio.fail_after(wait + 2):
        async with anyio.create_task_group() as tg:
            for _ in range(max_concurrency):
                tg.start_soon(dify.apps.get, probe)
    assert server.peak(path) == max_concurrency, (
        f"only {server.peak(path)} of {max_concurrency} calls were in flight: a slot was lost"
    )
    assert dify.stats.in_flight == 0


async def assert_healthy(
    dify: DifyManagementClient, server: FaultServer, max_concurrency: int, exc: BaseException | None = None
) -> None:
    """The invariants after a fault: no slot held, every slot usable, and the token in no exception."""
    assert dify.stats.in_flight == 0
    if exc is not None:
        assert_token_absent(exc)
    await assert_full_concurrency(dify, server, max_concurrency)
