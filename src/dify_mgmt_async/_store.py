"""A rate-limit store shared by processes: the ``RateLimitStore`` protocol, and the engine's side of it.

With ``rate_limit_store=`` the numbers every process with the same token must agree on live in
the store (the Redis one by default, ``_redis_store.py``): the cooldown gate's resume time, the
learned server rate with the pacer's schedule (GCRA's theoretical arrival time), and an optional
global in-flight cap made of expiring leases. The policy stays in ``RateLimitEngine``; the store
only keeps the numbers, atomically.

``SharedState`` is the engine's adapter and the one place for faults: a store that raises or
answers slower than ``op_timeout`` is set aside with one warning, the engine carries on with its
in-process numbers, and the store is tried again every ``retry_interval`` seconds until it
answers (one more log line: rejoined). No request is lost or held because of the store.
"""

from __future__ import annotations

import asyncio
import collections
import hashlib
import itertools
import logging
import os
import secrets
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import anyio

from ._errors import ConfigurationError

__all__ = ["Admission", "RateLimitStore", "SharedState", "namespace_for"]

logger = logging.getLogger("dify_mgmt_async")

OP_TIMEOUT = 1.0
"""Seconds a store call may take before the store is set aside (it is well under a millisecond when
healthy; the margin is for an event loop or a machine that is very busy)."""
RETRY_INTERVAL = 1.0
"""Seconds between tries of a store set aside after a fault."""
FREE_FOR = 0.02
"""While the store answers "gate open, no rate learned, no window or cap", sends in the next this many
seconds go without asking it again (their successes ride on the next ask): an unthrottled client pays
one store call per 20 ms, not one per send. Another process's 429 is seen at most this late."""


@dataclass(frozen=True, slots=True)
class Admission:
    """A store's answer to ``admit``."""

    admitted: bool
    """True: a slot in the shared schedule (and a lease, with a cap) is taken; send after ``wait``.
    False: the gate is closed or the in-flight cap is full; ask again after ``wait``."""
    wait: float
    """Seconds to wait first."""
    rate: float | None = None
    """The shared learned rate (sends per second), None while no 429 was met."""
    leased: bool = False
    """True: ``lease`` was taken and must be given back by ``release`` when the send ends."""
    processes: int = 1
    """Processes using the namespace lately: after a fault each falls back to its share of ``rate``."""


@runtime_checkable
class RateLimitStore(Protocol):
    """Where the rate-limit numbers shared by processes live (``DifyManagementClient(rate_limit_store=...)``).

    ``namespace`` is a hash of the base URL and the token (never the token). Every method is one
    atomic step on the shared state; the client handles a store that raises or hangs.
    """

    async def admit(self, namespace: str, lease: str, successes: int, known_rate: float | None) -> Admission:
        """One send wants to go: count ``successes`` answers since the last report, check the gate and the
        in-flight window or cap, take the next slot of the pacing schedule. ``known_rate``: the rate this
        process last heard, to restore when the store has lost its state (a restart)."""
        ...

    async def release(self, namespace: str, lease: str | None, successes: int) -> None:
        """Give back ``lease`` (if any) and count ``successes`` answers (the rate is learned from them)."""
        ...

    async def rate_limited(self, namespace: str, wait: float) -> float | None:
        """A 429 asked for ``wait`` seconds: close the shared gate (a new cooldown relearns the rate)."""
        ...

    async def aclose(self) -> None:
        """Close the store's connections."""
        ...


def namespace_for(base_url: str, token: str | None) -> str:
    """The store's key for one server and token: a hash, so the token is never stored or logged.

    A token given as a callable (rotating) cannot be read up front: the base URL alone is used then.
    """
    material = base_url.rstrip("/") + "\n" + (token or "")
    return hashlib.sha256(material.encode()).hexdigest()[:32]


def _loop_time() -> float:
    return asyncio.get_running_loop().time()


class SharedState:
    """The engine's link to a ``RateLimitStore``: leases, batched success counts, faults and fallback."""

    def __init__(
        self,
        store: RateLimitStore,
        namespace: str,
        *,
        owned: bool,
        op_timeout: float = OP_TIMEOUT,
        retry_interval: float = RETRY_INTERVAL,
    ) -> None:
        self.store = store
        self.namespace = namespace
        self.rate: float | None = None
        self.processes = 1
        self.fallbacks = 0  # sends that went by the in-process engine because the store was set aside
        self._owned = owned
        self._op_timeout = op_timeout
        self._retry_interval = retry_interval
        self._down_until: float | None = None  # None: the store is in use
        self._share_due = False  # set aside, and the in-process engine not yet told its share
        self._free_until = 0.0  # until then the store said: nothing limits sends (see FREE_FOR)
        self._leases: collections.deque[str] = collections.deque()
        self._successes = 0
        self._tasks: set[asyncio.Task[None]] = set()
        self._prefix = f"{os.getpid()}-{secrets.token_hex(4)}-"
        self._seq = itertools.count()

    @property
    def active(self) -> bool:
        return self._down_until is None

    def take_share(self) -> float | None:
        """Once per fault: this process's share of the learned rate, for the in-process engine to pace at."""
        if not self._share_due or self.rate is None:
            return None
        self._share_due = False
        return self.rate / self.processes

    async def admit(self, deadline: float | None) -> bool:
        """Wait for the shared gate, cap and schedule; True when one send may go, False to use the in-process engine."""
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            raise ConfigurationError(
                "rate_limit_store: a shared store runs under asyncio only (redis-py's asyncio client); "
                "under trio leave rate_limit_store unset"
            ) from None
        if _loop_time() < self._free_until:
            return True
        while True:
            if self._down_until is not None and _loop_time() < self._down_until:
                self.fallbacks += 1
                return False
            lease = self._prefix + str(next(self._seq))
            successes, self._successes = self._successes, 0
            try:
                async with asyncio.timeout(self._op_timeout):
                    answer = await self.store.admit(self.namespace, lease, successes, self.rate)
            except Exception as exc:  # any store failure: fall back, never fail the request
                self._set_aside(exc)
                self.fallbacks += 1
                return False
            self._rejoin()
            self.rate = answer.rate
            self.processes = max(1, answer.processes)
            if answer.leased:
                self._leases.append(lease)
            elif answer.admitted and answer.wait <= 0 and answer.rate is None:
                self._free_until = _loop_time() + FREE_FOR
            if answer.wait > 0:
                if deadline is not None and _loop_time() + answer.wait > deadline:
                    self._give_back(lease, answer.leased)
                    raise TimeoutError("the per-call timeout would pass while waiting for the shared rate limit")
                try:
                    await anyio.sleep(answer.wait)
                except BaseException:
                    self._give_back(lease, answer.leased)
                    raise
            if answer.admitted:
                return True

    def on_success(self) -> None:
        self._successes += 1

    def leave(self) -> None:
        """A send finished: give back a lease, if this process holds any, with the successes not yet reported.

        Without a lease the successes ride on the next ``admit``: one store call per send, not two.
        """
        if self._leases and self._down_until is None:
            successes, self._successes = self._successes, 0
            self._spawn(self.store.release(self.namespace, self._leases.popleft(), successes))

    def on_rate_limited(self, wait: float) -> None:
        self._free_until = 0.0
        if self._down_until is None:
            self._spawn(self._rate_limited(wait))

    async def _rate_limited(self, wait: float) -> None:
        self.rate = await self.store.rate_limited(self.namespace, wait)

    def _give_back(self, lease: str, leased: bool) -> None:
        if leased and lease in self._leases:
            self._leases.remove(lease)
            self._spawn(self.store.release(self.namespace, lease, 0))

    def _spawn(self, call: Coroutine[Any, Any, Any]) -> None:
        """Run a store update without holding up the caller (it runs in a finally, or before a retry)."""
        task = asyncio.get_running_loop().create_task(self._guarded(call))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _guarded(self, call: Coroutine[Any, Any, Any]) -> None:
        try:
            async with asyncio.timeout(self._op_timeout):
                await call
        except Exception as exc:
            self._set_aside(exc)

    def _set_aside(self, exc: BaseException) -> None:
        if self._down_until is None:
            logger.warning(
                "rate-limit store unavailable (%s: %s): this process uses its in-process rate limits, "
                "and tries the store again every %.1fs",
                type(exc).__name__,
                exc,
                self._retry_interval,
            )
            self._leases.clear()  # they expire in the store by their TTL
            self._successes = 0
            self._share_due = True
        self._down_until = _loop_time() + self._retry_interval

    def _rejoin(self) -> None:
        if self._down_until is not None:
            self._down_until = None
            logger.warning("rate-limit store reachable again: rejoined the shared rate limits")

    async def aclose(self) -> None:
        """Let pending updates finish (each is bounded by ``op_timeout``), then close a store the client opened."""
        if self._successes and self._down_until is None:
            self._spawn(self.store.release(self.namespace, None, self._successes))
            self._successes = 0
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._owned:
            await self.store.aclose()
