"""Which event loop is running, and its clock: the one place that tells asyncio from trio."""

from __future__ import annotations

import asyncio
from typing import Protocol

import anyio

__all__ = ["Event", "asyncio_running", "loop_event", "loop_identity", "loop_time"]


class Event(Protocol):
    """What ``loop_event`` returns: asyncio's or anyio's event."""

    def set(self) -> None: ...

    def is_set(self) -> bool: ...

    async def wait(self) -> object: ...


def asyncio_running() -> bool:
    """True under asyncio, False under trio (or outside any loop)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def loop_time() -> float:
    """The event loop's clock (what anyio's sleeps use), cheaply: this runs several times per request."""
    try:
        return asyncio.get_running_loop().time()
    except RuntimeError:
        return anyio.current_time()  # trio (or its MockClock in tests)


def loop_event() -> Event:
    """An event for the running loop, cheaply: asyncio's own under asyncio (anyio's looks the backend up on every
    construction, a third of what a queued task costs before its first send), anyio's under trio."""
    return asyncio.Event() if asyncio_running() else anyio.Event()


def loop_identity() -> object:
    """An object that identifies the running event loop (asyncio's loop, or trio's token)."""
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        import trio

        return trio.lowlevel.current_trio_token()
