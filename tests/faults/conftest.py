"""Fixtures of the fault-path tests: the fault server, a client per transport, and the no-leak checks.

Every test here runs under asyncio (the default transport is aiohttp there) against the raw-socket
``FaultServer``, once with the client's default transport and once with httpx's own.
"""

from __future__ import annotations

import gc
import logging
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from dify_mgmt_async import DifyManagementClient
from tests.faultserver import FaultServer

from .invariants import TOKEN

MakeClient = Callable[..., DifyManagementClient]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


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
