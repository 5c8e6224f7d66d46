"""The client-wide rate-limit engine: one per client, shared by every task and every ``with_options`` view.

Three parts, all on the event loop's clock (so tests run them in virtual time):

* ``CooldownGate``: a 429 pauses every new send until the resume time; waiters are released
  with a small positive jitter so no herd forms.
* ``AdaptiveLimiter``: bounds requests in flight (``max_concurrency``); the effective limit
  shrinks ×0.7 on a 429, at most once per cooldown, and grows back by about one per window of
  successes while the client is busy (AIMD).
* ``RetryBudget``: a token bucket in the style of botocore's retry quota. A retry of a 5xx or
  network error costs tokens, a success refunds one, so when the server is down it sees about
  N requests instead of N x (retries + 1). 429 retries are not charged: the gate already
  makes the whole client back off, and the server asked for exactly that retry.
"""

from __future__ import annotations

import collections
import logging
import math
import random
from dataclasses import dataclass

import anyio

__all__ = ["AdaptiveLimiter", "CooldownGate", "RateLimitEngine", "RetryBudget", "Stats"]

logger = logging.getLogger("dify_mgmt_async")

DECREASE_FACTOR = 0.7
BUDGET_CAPACITY = 100.0
RETRY_COST = 5.0
TIMEOUT_RETRY_COST = 10.0
SUCCESS_REFUND = 1.0


@dataclass(frozen=True)
class Stats:
    """A snapshot of a client's traffic, from ``client.stats``."""

    requests: int
    """Attempts sent (retries included)."""
    rate_limited: int
    """429 answers received."""
    retries: int
    """Attempts that were retries."""
    cooldown_seconds: float
    """Total time the cooldown gate was closed."""
    concurrency_limit: int
    """The current effective limit on requests in flight."""
    in_flight: int
    """Requests in flight now."""
    budget_left: float
    """Retry budget tokens left (a retry costs 5, 10 after a timeout; a success refunds 1)."""


class CooldownGate:
    """Closed until ``resume_at`` (loop time) after a 429; every new send waits here first."""

    def __init__(self, rng: random.Random, max_jitter: float = 0.25) -> None:
        self.resume_at = 0.0
        self.cooldown_seconds = 0.0
        self.generation = 0  # bumped when a new cooldown starts (the gate was open)
        self._rng = rng
        self._max_jitter = max_jitter

    def is_closed(self) -> bool:
        return anyio.current_time() < self.resume_at

    def close_for(self, seconds: float) -> bool:
        """Push the resume time to now + ``seconds``; True if this started a new cooldown."""
        if not math.isfinite(seconds):
            return False
        now = anyio.current_time()
        until = now + max(seconds, 0.0)
        if until <= self.resume_at:
            return False
        started = self.resume_at <= now
        self.cooldown_seconds += until - max(self.resume_at, now)
        self.resume_at = until
        if started:
            self.generation += 1
        return started

    async def wait(self, deadline: float | None) -> float:
        """Wait until the gate opens (plus jitter); return the seconds waited. TimeoutError if past ``deadline``."""
        waited = 0.0
        while True:
            now = anyio.current_time()
            if now >= self.resume_at:
                return waited
            span = self.resume_at - now
            delay = span + self._rng.uniform(0.0, min(self._max_jitter, 0.1 * span + 0.01))
            if deadline is not None and now + span > deadline:
                raise TimeoutError("the per-call timeout would pass while waiting out a rate-limit cooldown")
            if deadline is not None:
                delay = min(delay, deadline - now)
            await anyio.sleep(delay)
            waited += delay


class AdaptiveLimiter:
    """Requests in flight, bounded by an effective limit between 1 and ``maximum`` (AIMD)."""

    def __init__(self, maximum: int) -> None:
        self.maximum = maximum
        self.limit = float(maximum)
        self.in_flight = 0
        self._waiters: collections.deque[anyio.Event] = collections.deque()

    @property
    def current(self) -> int:
        return max(1, int(self.limit))

    async def acquire(self) -> None:
        if not self._waiters and self.in_flight < self.current:
            self.in_flight += 1
            return
        granted = anyio.Event()
        self._waiters.append(granted)
        try:
            await granted.wait()
        except BaseException:
            if granted.is_set():
                self.release()  # the slot was handed to us as we were cancelled: pass it on
            else:
                self._waiters.remove(granted)
            raise

    def release(self) -> None:
        self.in_flight -= 1
        self._wake()

    def _wake(self) -> None:
        while self._waiters and self.in_flight < self.current:
            self.in_flight += 1
            self._waiters.popleft().set()

    def decrease(self) -> None:
        self.limit = max(1.0, self.limit * DECREASE_FACTOR)

    def increase(self) -> None:
        """Additive increase: about +1 per ``limit`` successes, only while the client is using its limit."""
        if self.limit < self.maximum and self.in_flight + len(self._waiters) >= self.current - 1:
            self.limit = min(float(self.maximum), self.limit + 1.0 / self.limit)
            self._wake()


class RetryBudget:
    """A token bucket capping retries of 5xx and network errors client-wide."""

    def __init__(self, capacity: float = BUDGET_CAPACITY) -> None:
        self.capacity = capacity
        self.tokens = capacity

    def try_spend(self, *, timeout: bool) -> bool:
        cost = TIMEOUT_RETRY_COST if timeout else RETRY_COST
        if self.tokens < cost:
            return False
        self.tokens -= cost
        return True

    def refund(self) -> None:
        self.tokens = min(self.capacity, self.tokens + SUCCESS_REFUND)


class RateLimitEngine:
    """Gate, limiter, budget and counters of one client; ``with_options`` views share it."""

    def __init__(self, max_concurrency: int, *, rng: random.Random | None = None) -> None:
        self.rng = rng or random.Random()
        self.gate = CooldownGate(self.rng)
        self.limiter = AdaptiveLimiter(max_concurrency)
        self.budget = RetryBudget()
        self.requests = 0
        self.rate_limited = 0
        self.retries = 0
        self._decreased_in = -1  # the gate generation in which the limit last shrank

    async def enter(self, deadline: float | None) -> None:
        """Take a slot, then wait for the gate; on return one request may be sent (call ``leave`` after).

        The slot is taken first so that during a cooldown only ``limit`` tasks wait at the gate
        and the rest queue quietly at the limiter: a long storm costs O(limit) wake-ups per
        cooldown, not O(tasks).
        """
        if deadline is None:
            await self.limiter.acquire()
        else:
            with anyio.fail_after(max(deadline - anyio.current_time(), 0.0)):
                await self.limiter.acquire()
        try:
            await self.gate.wait(deadline)
        except BaseException:
            self.limiter.release()
            raise
        self.requests += 1

    def leave(self) -> None:
        self.limiter.release()

    def on_success(self, *, was_retry: bool) -> None:
        self.limiter.increase()
        if not was_retry:
            self.budget.refund()

    def on_rate_limited(self, wait: float | None) -> None:
        """A 429 arrived: close the gate for ``wait`` seconds (None: count only); shrink the limit once per cooldown."""
        self.rate_limited += 1
        if wait is None:
            return
        started = self.gate.close_for(wait)
        if self._decreased_in != self.gate.generation:
            self._decreased_in = self.gate.generation
            self.limiter.decrease()
        if started:
            logger.info(
                "rate limited: cooldown %.2fs for every task; concurrency limit now %d",
                wait,
                self.limiter.current,
            )

    def stats(self) -> Stats:
        return Stats(
            requests=self.requests,
            rate_limited=self.rate_limited,
            retries=self.retries,
            cooldown_seconds=round(self.gate.cooldown_seconds, 6),
            concurrency_limit=self.limiter.current,
            in_flight=self.limiter.in_flight,
            budget_left=self.budget.tokens,
        )
