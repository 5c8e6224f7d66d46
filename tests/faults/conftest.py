"""Fixtures of the fault-path tests: the fault server, a client per transport, and the no-leak checks.

Every test here is marked ``asyncio_only`` (the default transport is aiohttp there) and runs against
the raw-socket ``FaultServer``, once with the client's default transport and once with httpx's own.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import warnings
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import aiohttp
import httpx
import pytest

from dify_mgmt_async import DifyManagementClient
from tests.faultserver import FaultServer

from .invariants import TOKEN

MakeClient = Callable[..., DifyManagementClient]


@pytest.fixture
def server() -> Iterator[FaultServer]:
    with FaultServer() as fault_server:
        yield fault_server
    assert fault_server.errors == []


@pytest.fixture(params=["default", "httpx"])
def transport_kind(request: pytest.FixtureRequest) -> str:
    """``default``: the client builds its own transport (aiohttp under asyncio); ``httpx``: httpx's own."""
    return str(request.param)


@pytest.fixture
def make_client(transport_kind: str) -> MakeClient:
    """``make_client(url, **kwargs)``: a client on that transport, with the test token."""

    def make(url: str, **kwargs: Any) -> DifyManagementClient:
        if transport_kind == "httpx":
            kwargs["transport"] = httpx.AsyncHTTPTransport()
        return DifyManagementClient(url, TOKEN, **kwargs)

    return make


class _Unclosed(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if "nclosed" in message:
            self.messages.append(message)


@pytest.fixture(autouse=True)
def no_unclosed_resources() -> Iterator[None]:
    """After the test: nothing reports an unclosed session, connector, transport or socket.

    aiohttp reports an unclosed session through the loop's exception handler (the ``asyncio``
    logger) as well as a ResourceWarning; both only when the object is collected, hence the
    ``gc.collect()``.
    """
    # Only what this test creates is collected below: the rest of the heap (a full collection of it
    # costs a quarter of a second) and what earlier tests left behind are not this test's.
    gc.freeze()
    handler = _Unclosed()
    logger = logging.getLogger("asyncio")
    logger.addHandler(handler)
    try:
        yield
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            gc.collect()
        found = [
            str(w.message) for w in caught if issubclass(w.category, ResourceWarning) or "nclosed" in str(w.message)
        ]
        assert found == [], f"resources left open: {found}"
        assert handler.messages == [], f"resources left open: {handler.messages}"
    finally:
        logger.removeHandler(handler)
        gc.unfreeze()


@pytest.fixture(autouse=True)
async def aiohttp_orphaned_futures() -> AsyncIterator[list[BaseException]]:
    """Keep aiohttp's own orphaned "Connection lost" futures out of the test's verdict, and list them.

    When a peer resets a connection aiohttp has already given up on (a stalled write cut off by
    our watchdog, a reset mid-body), aiohttp may set ``ConnectionError("Connection lost")`` on its
    internal drain/closed futures that nobody awaits any more; asyncio reports them as "Future
    exception was never retrieved" when they are collected, and anyio's test runner turns that into
    a failure, depending on when the garbage collector runs. It is aiohttp's bookkeeping, not a
    leak of ours (the no-leak checks above still run); anything else still fails the test.
    """
    loop = asyncio.get_running_loop()
    previous = loop.get_exception_handler()
    ignored: list[BaseException] = []

    def handler(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        exc = context.get("exception")
        orphan = context.get("message") == "Future exception was never retrieved"
        if orphan and isinstance(exc, ConnectionError | aiohttp.ClientConnectionError):
            ignored.append(exc)
            return
        if previous is not None:
            previous(loop, context)
        else:
            loop.default_exception_handler(context)

    loop.set_exception_handler(handler)
    try:
        yield ignored
    finally:
        loop.set_exception_handler(previous)
