"""Which event loop is running, and its clock: the one place that tells asyncio from trio."""

from __future__ import annotations

import asyncio

import anyio

__all__ = ["asyncio_running", "loop_identity", "loop_time"]


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


def loop_identity() -> object:
    """An object that identifies the running event loop (asyncio's loop, or trio's token)."""
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        import trio

        return trio.lowlevel.current_trio_token()
