"""A rate-limit store shared by processes: the ``RateLimitStore`` protocol, and ``SharedRateState``, the
engine's ``RateState`` kept in such a store.

With ``rate_limit_store=`` the numbers every process with the same token must agree on live in the
store (the Redis one by default, ``_redis_store.py``): the cooldown gate's resume time, the pacing
schedule (GCRA's theoretical arrival time), a log of the events the rate is learned from, and the
slow-start window or a global in-flight cap made of expiring leases. The policy stays in
``RateLimitEngine``, the same with or without a store: every process replays the log's events (a 429,
with the successes of every process until then; a rate a server advertised) into its own estimator,
so each 429 teaches every process once, and all pace at one rate on one schedule.

``SharedRateState`` is also the one place for faults: a store that raises or answers slower than
``op_timeout`` is set aside with one warning, the engine carries on with the in-process numbers (at
this process's share of the rate), and the store is tried again every ``retry_interval`` seconds until
it answers (one more log line: rejoined). No request is lost or held because of the store.
"""

from __future__ import annotations

import asyncio
import collections
import hashlib
import itertools
import logging
import math
import os
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar, runtime_checkable

import anyio

from ._errors import ConfigurationError
from ._ratelimit import RateState

__all__ = ["Admission", "RateLimitStore", "Reply", "SharedRateState", "namespace_for"]

logger = logging.getLogger("dify_mgmt_async")

T = TypeVar("T")

OP_TIMEOUT = 1.0
"""Seconds a store call may take before the store is set aside (it is well under a millisecond when
healthy; the margin is for an event loop or a machine that is very busy)."""
RETRY_INTERVAL = 1.0
"""Seconds between tries of a store set aside after a fault."""
UNRETURNED_KEPT = 4096
"""Leases kept to give back once a store set aside answers again (they would expire with their TTL anyway):
the sends in flight when it failed, and those whose admit failed while it was tried again."""
_WAIT_TIMEOUT = "the per-call timeout would pass while waiting for the shared rate limit"
FREE_FOR = 0.02
"""While the store answers "gate open, no window or cap" and no rate is learned, sends in the next this
many seconds go without asking it again (their successes ride on the next ask): an unthrottled client
pays one store call per 20 ms, not one per send. While one send asks again, the others go on by the last
answer for one more FREE_FOR, then wait for the new one: another process's 429 is seen at most twice this
late."""
BOOK_AHEAD = 2
"""Slots of the shared schedule one process may hold booked ahead (more at high rates: ``BOOK_SECONDS``).
Every backlogged process then holds as many as every other, so the schedule serves them in turn
(FIFO-ish), whatever each one's own concurrency limit. Few: a rate cut leaves every booked slot unused, a
pause of P x BOOK_AHEAD slots (at P = 8 and R = 100/s, 4 gave 1.09-1.15x the ideal, 2 gave 1.05-1.11x)."""
BOOK_SECONDS = 0.02
KEEP_SLOTS = 2.0
"""Seconds after its time a slot booked on the store can still be given back (``unreserve``): a send gives
its slot back when it wakes for it, later than the slot by as long as the event loop was busy."""

Event = tuple[str, float, float]
"""What the engine learns from: ``("429", when, successes of every process then)``, ``("adopt", when, rate)``,
``("tried", when, the pacing rate that met the 429 logged next)``, or ``("start", when the first success of any
process was reported, 0)``, logged just before the first 429."""


@dataclass(frozen=True, slots=True)
class Reply:
    """What every store answer carries besides its own result, on the store's clock."""

    now: float
    resume_at: float
    """The shared gate's resume time."""
    rate: float | None
    """The pacing rate last reported by any process (None before any)."""
    head: int
    """Events logged so far."""
    processes: int
    """Processes using the namespace lately (0: not counted by this call)."""
    events: tuple[tuple[int, float, str, float], ...]
    """Events after the asker's last seen one, the oldest first: (sequence number, time, kind, value)."""


@dataclass(frozen=True, slots=True)
class Admission:
    """A store's answer to ``admit``."""

    admitted: bool
    """True: the send may go after ``wait`` (a lease is held if ``leased``). False: ask again after ``wait``."""
    wait: float
    leased: bool
    """True: ``lease`` was taken and must be given back by ``release`` when the send ends."""
    limits: bool
    """True: a window, a cap or the gate applies, so every send must ask; False: only the schedule does."""
    reply: Reply


@runtime_checkable
class RateLimitStore(Protocol):
    """Where the rate-limit numbers shared by processes live (``DifyManagementClient(rate_limit_store=...)``).

    ``namespace`` is a hash of the base URL and the token (never the token); ``pid`` names the asking
    process; ``successes`` are its answers not yet reported; ``seen`` the last event it has. Every method is
    one atomic step on the shared state; the client handles a store that raises or hangs.
    """

    async def admit(self, namespace: str, lease: str, pid: str, successes: int, seen: int) -> Admission:
        """One send wants to go: check the gate and the slow-start window or in-flight cap (taking ``lease``)."""
        ...

    async def reserve(
        self, namespace: str, interval: float, pid: str, successes: int, seen: int, rate: float | None
    ) -> tuple[float, Reply]:
        """Book the next slot of the schedule, ``interval`` after the previous one, never before the gate
        opens; return its delay from this answer. ``rate``: the asker's pacing rate, kept for newcomers."""
        ...

    async def unreserve(self, namespace: str, interval: float, slot: float) -> None:
        """Give back the slot at ``slot`` (the store's clock: the answer's ``now`` plus the delay ``reserve``
        returned), booked ``interval`` long, for a send that did not happen. As in process, the schedule moves
        back only over slots given back at its end: one with a later slot still booked waits for that one."""
        ...

    async def close_for(self, namespace: str, seconds: float) -> None:
        """Push the gate's resume time to at least now + ``seconds``."""
        ...

    async def event(self, namespace: str, kind: str, value: float | None, pid: str, successes: int, seen: int) -> Reply:
        """Log an event: ``"429"`` (the store fills in every process's successes; ``value``, the pacing rate that
        met it or None, is logged just before it as ``"tried"``; the first 429 is preceded by ``"start"``,
        when the first success was reported) or ``"adopt"`` (``value``: a rate)."""
        ...

    async def release(self, namespace: str, lease: str | None, successes: int) -> None:
        """Give back ``lease`` (if any) and report ``successes``."""
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


class SharedRateState(RateState):
    """The engine's ``RateState`` in a ``RateLimitStore``; its own fields are the local mirror, and the
    in-process numbers while the store is set aside."""

    shared = True

    def __init__(
        self,
        store: RateLimitStore,
        namespace: str,
        *,
        owned: bool,
        op_timeout: float = OP_TIMEOUT,
        retry_interval: float = RETRY_INTERVAL,
    ) -> None:
        super().__init__()
        self.store = store
        self.namespace = namespace
        self.listener: Callable[[str, float, float], None] | None = None  # the engine: learns from events
        self.processes = 1
        self.fallbacks = 0  # sends that went by the in-process numbers because the store was set aside
        self._owned = owned
        self._op_timeout = op_timeout
        self._retry_interval = retry_interval
        self._down_until: float | None = None  # None: the store is in use
        self._free_until = 0.0  # until then the store said: nothing limits sends (see FREE_FOR)
        self._limits = True  # the last admit said a window, cap or gate applies
        self._renewal: asyncio.Event | None = None  # set when a send asking again after a free answer has one
        self._seen = -1  # the last event replayed; -1: none asked yet (a newcomer skips the history)
        self._successes = 0
        # leases a send gave back while the store was set aside (or that an admit may have taken before its
        # answer was lost): given back once it answers again, so they do not hold the shared cap until their TTL
        self._unreturned: collections.deque[str] = collections.deque(maxlen=UNRETURNED_KEPT)
        self._booked = 0
        self._booking: collections.deque[asyncio.Future[None]] = collections.deque()
        # slot on our clock (as the engine computes it, to the bit) -> (slot on the store's, interval booked),
        # for ``unreserve``; in booking order
        self._slots: dict[float, tuple[float, float]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._pid = f"{os.getpid()}-{secrets.token_hex(4)}"
        self._seq = itertools.count()

    @property
    def active(self) -> bool:
        return self._down_until is None

    @property
    def sharers(self) -> int:
        """The processes present lately; 1 while the store is set aside (this process paces at its share then)."""
        return max(1, self.processes) if self.active else 1

    # --- the RateState operations -------------------------------------------------------------------

    def close_until(self, until: float) -> float:
        before = super().close_until(until)
        if until > before and self._down_until is None:
            self._spawn(self.store.close_for(self.namespace, until - _loop_time()))
        return before

    async def reserve(self, now: float, interval: float) -> float:
        if not self._usable():
            return await super().reserve(now, interval)
        rate = self.rate
        await self._book()
        if not self._usable():
            # Set aside while this send waited its turn to book (a call ahead of it failed): asking the store
            # now would cost a hanging store another op_timeout.
            return await self._book_in_process(now, interval)
        if rate and self.rate and self.rate != rate:
            # The rate changed while this send waited its turn (a cut heard meanwhile): book at the new spacing.
            interval *= rate / self.rate
        successes, self._successes = self._successes, 0
        try:
            answer = await self._call(
                self.store.reserve(self.namespace, interval, self._pid, successes, max(self._seen, 0), self.rate)
            )
        except BaseException:
            self._unbook()
            raise
        if answer is None:
            # Set aside (now or at an earlier fault: then the in-process schedule is in use and stays booked).
            return await self._book_in_process(now, interval)
        delay, reply = answer
        self._apply(reply)
        answered = _loop_time()
        waited = answered + delay - now  # the store's delay counts from its answer; ours from ``now``
        slots = self._slots
        while slots and (oldest := next(iter(slots))) < answered - KEEP_SLOTS:
            del slots[oldest]
        slots[now + waited] = (reply.now + delay, interval)  # the engine's ``asked + delay``
        if delay > 0:
            asyncio.get_running_loop().call_later(delay, self._unbook)  # the slot is no longer ahead then
        else:
            self._unbook()
        return waited

    async def _book_in_process(self, now: float, interval: float) -> float:
        """Give back this send's turn to book on the store, and book on the in-process schedule instead.

        The slot is booked from the time the store's failure is known, not from ``now``: a store that hung
        until ``op_timeout`` would otherwise book a slot already that far past, and the send after it would
        follow it closer than ``interval``."""
        self._unbook()
        answered = _loop_time()
        return answered - now + await super().reserve(answered, interval)

    def unreserve(self, interval: float, at: float) -> None:
        if self._down_until is not None:
            super().unreserve(interval, at)
            return
        # The store's own time for the slot, and the interval it was booked with (rescaled if the rate changed
        # while the send waited its turn). A slot booked in process before a rejoin is in no shared schedule.
        booking = self._slots.pop(at, None)
        if booking is not None:
            self._spawn(self.store.unreserve(self.namespace, booking[1], booking[0]))

    def note(self, kind: str, at: float, value: float) -> tuple[Event, ...]:
        """Log the event for every process; the engine learns from it when the store's answer brings it back."""
        if self._down_until is not None:
            return ((kind, at, value),)
        self._spawn(self._event(kind, self.rate if kind == "429" else value))  # a 429's: the rate that met it
        return ()

    # --- admission, leases, successes -----------------------------------------------------------------

    async def admit(self, deadline: float | None) -> str | None:
        """Wait for the shared gate and the slow-start window or cap; return the lease held, if any."""
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            raise ConfigurationError(
                "rate_limit_store: a shared store runs under asyncio only (redis-py's asyncio client); "
                "under trio leave rate_limit_store unset"
            ) from None
        if not self._usable():
            self.fallbacks += 1
            return None
        if (self.rate is not None and not self._limits) or _loop_time() < self._free_until:
            return None  # only the schedule limits sends: reserve() asks the store
        renewal = self._renewal
        if renewal is not None and not self._limits:
            # Another send is asking again after a "nothing limits" answer: go on by that answer for one more
            # FREE_FOR, then wait for the new one. One send per FREE_FOR pays the store's round trip, not
            # every send in it (with 5 ms to Redis, each asking on its own took a third of the throughput).
            if _loop_time() < self._free_until + FREE_FOR:
                return None
            try:
                with anyio.fail_after(None if deadline is None else max(deadline - _loop_time(), 0.0)):
                    await renewal.wait()
            except TimeoutError:
                raise TimeoutError(_WAIT_TIMEOUT) from None
            return await self.admit(deadline)
        if not self._limits:
            self._renewal = renewal = asyncio.Event()
        try:
            return await self._admit(deadline, renewal)
        finally:
            self._renewed(renewal)

    def _renewed(self, renewal: asyncio.Event | None) -> None:
        """The store answered the send asking again (or it gave up): the others ask, or go by the answer."""
        if renewal is not None:
            renewal.set()
            if self._renewal is renewal:
                self._renewal = None

    async def _admit(self, deadline: float | None, renewal: asyncio.Event | None) -> str | None:
        while True:
            lease = f"{self._pid}-{next(self._seq)}"
            successes, self._successes = self._successes, 0
            try:
                answer = await self._call(
                    self.store.admit(self.namespace, lease, self._pid, successes, max(self._seen, 0))
                )
            except BaseException:
                self.release(lease)  # cancelled while the store was asked: it may have taken the lease already
                raise
            self._renewed(renewal)  # from its first answer on, this send waits like any other
            renewal = None
            if answer is None:
                self.release(lease)  # the call failed or timed out, maybe after the store took the lease
                self.fallbacks += 1
                return None
            self._apply(answer.reply)
            self._limits = answer.limits
            if answer.admitted and not answer.limits and self.rate is None:
                self._free_until = _loop_time() + FREE_FOR
            if answer.wait > 0:
                if deadline is not None and _loop_time() + answer.wait > deadline:
                    self.release(lease if answer.leased else None)
                    raise TimeoutError(_WAIT_TIMEOUT)
                try:
                    await anyio.sleep(answer.wait)
                except BaseException:
                    self.release(lease if answer.leased else None)
                    raise
            if answer.admitted:
                return lease if answer.leased else None

    def release(self, lease: str | None) -> None:
        """A send ended: give back the lease it held (if any), with the successes not yet reported.

        Without a lease the successes ride on the next call: one store call per send, not two. While the store
        is set aside the lease waits to be given back when it answers again (``_rejoin``).
        """
        if lease is None:
            return
        if self._down_until is not None:
            self._unreturned.append(lease)
            return
        successes, self._successes = self._successes, 0
        self._spawn(self.store.release(self.namespace, lease, successes))

    def succeeded(self) -> None:
        self._successes += 1

    # --- faults, the mirror, the booking cap ----------------------------------------------------------

    def _usable(self) -> bool:
        return self._down_until is None or _loop_time() >= self._down_until

    async def _call(self, call: Awaitable[T]) -> T | None:
        try:
            async with asyncio.timeout(self._op_timeout):
                result = await call
        except Exception as exc:  # any store failure: fall back, never fail the request
            self._set_aside(exc)
            return None
        self._rejoin()
        return result

    def _apply(self, reply: Reply) -> None:
        """Bring the mirror up to date, and replay the events this process has not seen into the engine."""
        offset = _loop_time() - reply.now  # the store's clock to ours (the answer's trip back is ignored)
        if reply.resume_at + offset > self.resume_at:
            self.resume_at = reply.resume_at + offset
        if reply.processes:
            self.processes = reply.processes
        listener = self.listener
        if self._seen < 0 or reply.head < self._seen:  # first contact, rejoin or a store restarted
            if self.rate is None and self._holds_whole_log(reply):
                # A newcomer (a job's processes rarely start together): learn it all, as the others did,
                # rather than adopt a rate that may be a start-up guess no 429 has measured yet.
                self._seen = 0
            else:  # otherwise the log is history: start from the rate last reported
                self._seen = reply.head
                if reply.rate is not None and listener is not None:
                    listener("adopt", _loop_time(), reply.rate)
                return
        for seq, at, kind, value in reply.events:
            if seq > self._seen:
                self._seen = seq
                if listener is not None:
                    listener(kind, at + offset, value)

    @staticmethod
    def _holds_whole_log(reply: Reply) -> bool:
        """Does the answer carry every event logged so far (none trimmed yet)?"""
        events = reply.events
        return bool(events) and events[0][0] == 1 and len(events) == reply.head

    async def _event(self, kind: str, value: float | None) -> None:
        successes, self._successes = self._successes, 0
        reply = await self.store.event(self.namespace, kind, value, self._pid, successes, max(self._seen, 0))
        self._apply(reply)

    def _cap(self) -> int:
        rate = self.rate
        return BOOK_AHEAD if rate is None else max(BOOK_AHEAD, math.ceil(rate * BOOK_SECONDS))

    async def _book(self) -> None:
        if self._booked < self._cap() and not self._booking:
            self._booked += 1
            return
        turn = asyncio.get_running_loop().create_future()
        self._booking.append(turn)
        try:
            await turn
        except BaseException:
            if turn.done() and not turn.cancelled():
                self._unbook()  # handed to us as we were cancelled: pass it on
            elif turn in self._booking:  # (an ``_unbook`` in the same loop turn may have passed over it already)
                self._booking.remove(turn)
            raise

    def _unbook(self) -> None:
        self._booked -= 1
        while self._booking and self._booked < self._cap():
            turn = self._booking.popleft()
            if not turn.done():
                self._booked += 1
                turn.set_result(None)

    def _spawn(self, call: Awaitable[Any]) -> None:
        """Run a store update without holding up the caller (it runs in a finally, or before a retry)."""
        task = asyncio.get_running_loop().create_task(self._guarded(call))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _guarded(self, call: Awaitable[Any]) -> None:
        try:
            async with asyncio.timeout(self._op_timeout):
                await call
        except Exception as exc:
            self._set_aside(exc)

    def _set_aside(self, exc: BaseException) -> None:
        if self._down_until is None:
            logger.warning(
                "rate-limit store unavailable (%s: %s): this process uses its in-process rate limits, "
                "and tries the store again every %gs",
                type(exc).__name__,
                exc,
                self._retry_interval,
            )
            self._successes = 0
            self.drop_schedule()
            self._slots.clear()  # the shared schedule's slots: given back after a rejoin, they might not be ours
            if self.rate is not None and self.listener is not None:  # pace at this process's share
                self.listener("adopt", _loop_time(), self.rate / max(1, self.processes))
        self._down_until = _loop_time() + self._retry_interval

    def _rejoin(self) -> None:
        if self._down_until is not None:
            self._down_until = None
            self._seen = -1  # what was logged meanwhile is history: adopt the store's rate instead
            self._limits = True
            logger.warning("rate-limit store reachable again: rejoined the shared rate limits")
            if self._unreturned:
                task = asyncio.get_running_loop().create_task(self._return_leases())
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)

    async def _return_leases(self) -> None:
        """Give back the leases kept while the store was set aside, one call at a time: all at once, they would
        queue for its connections ahead of the sends asking it now, and time those out."""
        while self._unreturned and self._down_until is None:
            lease = self._unreturned.popleft()
            await self._call(self.store.release(self.namespace, lease, 0))
            if self._down_until is not None:  # the call failed: the store is set aside again, the lease kept
                self._unreturned.appendleft(lease)

    async def aclose(self) -> None:
        """Let pending updates finish (each is bounded by ``op_timeout``), then close a store the client opened."""
        if self._successes and self._down_until is None:
            self._spawn(self.store.release(self.namespace, None, self._successes))
            self._successes = 0
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._owned:
            await self.store.aclose()
