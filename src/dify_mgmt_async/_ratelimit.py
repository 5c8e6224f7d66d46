"""The client-wide rate-limit engine: one per client, shared by every task and every ``with_options`` view.

Three parts, all on the event loop's clock (so tests run them in virtual time):

* ``CooldownGate``: a 429 pauses every new send until the resume time; waiters are released
  with a small positive jitter so no herd forms.
* ``AdaptiveLimiter``: bounds requests in flight (``max_concurrency``); the effective limit
  shrinks ×0.7 on a 429, at most once per cooldown, and grows back by about one per window of
  successes while the client is busy (AIMD).
* ``RatePacer``: after a 429, sends are paced just under the rate the server let through, so
  the next cooldown comes late and with few 429s (see its docstring).

The core reaches the engine only through ``enter``/``leave`` (a slot), ``on_success`` and
``on_rate_limited``; the retry budget lives with the retry policy (``_retry.RetryBudget``).
"""

from __future__ import annotations

import collections
import logging
import math
import random
from dataclasses import dataclass

import anyio

from ._loop import loop_time

__all__ = ["AdaptiveLimiter", "CooldownGate", "RateLimitEngine", "Stats"]

logger = logging.getLogger("dify_mgmt_async")


DECREASE_FACTOR = 0.7
DECREASE_INTERVAL = 1.0


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
    pacing_rate: float | None
    """Sends per second the client paces itself to after 429s; None until the first 429."""


class CooldownGate:
    """Closed until ``resume_at`` (loop time) after a 429; every new send waits here first."""

    def __init__(self, rng: random.Random, max_jitter: float = 0.25) -> None:
        self.resume_at = 0.0
        self.cooldown_seconds = 0.0
        self.generation = 0  # bumped when a new cooldown starts (the gate was open)
        self._rng = rng
        self._max_jitter = max_jitter

    def is_closed(self) -> bool:
        return loop_time() < self.resume_at

    def close_for(self, seconds: float) -> bool:
        """Push the resume time to now + ``seconds``; True if this started a new cooldown."""
        if not math.isfinite(seconds):
            return False
        now = loop_time()
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
            now = loop_time()
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


class RatePacer:
    """Paces sends once the server has rate-limited us: a client-side token bucket at ``rate``/s.

    Inactive (``rate`` None) until the first 429. A token-bucket server that answers 429 has
    spent what it had banked, so the successes *since the previous 429* (while we kept pushing)
    measure its rate: when a cooldown starts at least 0.1 s after the previous one, the rate
    becomes 0.9 x that measurement. 429s in quick succession are the same episode's stragglers
    and change nothing. The first estimate is successes since the first request (over at least
    0.25 s); it may include the server's banked burst and is corrected by the next episode. A
    sub-second hint (``retry-after-ms``) is the time to the server's next token and caps it.
    While no 429 comes the rate grows 1 % a second, up to 5 % the longer it stays quiet, to find
    capacity the server gains. The pacer's own bucket holds only 50 ms of tokens: bigger bursts
    would meet a server running near its limit with 429s.
    """

    WINDOW = 1.0
    MIN_EPISODE_SPAN = 0.1
    FIRST_SPAN = 0.25
    HEADROOM = 0.9
    GROWTH_PER_SECOND = 0.01
    MAX_GROWTH_PER_SECOND = 0.05
    BURST_SECONDS = 0.05
    MIN_RATE = 0.5

    def __init__(self) -> None:
        self.rate: float | None = None
        self._tokens = 0.0
        self._stamp = 0.0
        self._first: float | None = None
        self._last_cooldown: float | None = None
        self._successes: collections.deque[float] = collections.deque()
        self._total = 0

    def on_success(self) -> None:
        self._total += 1
        if self._first is None:
            self._first = loop_time()
        if self._last_cooldown is None:
            return  # never rate limited: the first estimate needs only the count
        now = loop_time()
        self._successes.append(now)
        while self._successes[0] < now - self.WINDOW:
            self._successes.popleft()
        if self.rate is not None:
            self._refill(now)

    def _measure(self, now: float) -> float | None:
        """What the server let through: per second since the previous 429 (or since the start)."""
        if self._first is None:
            return None
        if self._last_cooldown is None:
            return self._total / max(now - self._first, self.FIRST_SPAN)
        since = max(self._last_cooldown, now - self.WINDOW)
        if now - since < self.MIN_EPISODE_SPAN:
            return None  # a straggler of the same episode
        while self._successes and self._successes[0] <= since:
            self._successes.popleft()
        return len(self._successes) / (now - since)

    def on_cooldown(self, now: float, hint: float) -> None:
        """A new cooldown of ``hint`` seconds started: pace just under what the server let through."""
        measured = self._measure(now)
        if self.rate is None and measured is not None and 0.0 < hint < 1.0:
            # The first 429's sub-second hint (retry-after-ms) is the time to the server's next token.
            measured = min(measured, 1.0 / hint)
        if measured is not None:
            if self.rate is not None:
                self._refill(now)
            self.rate = max(self.MIN_RATE, self.HEADROOM * measured)
            self._tokens = min(self._tokens, 0.0)  # drop banked tokens, keep sends already scheduled
            self._stamp = now
            self._last_cooldown = now
        elif self._last_cooldown is None:
            self._last_cooldown = now

    def _refill(self, now: float) -> None:
        assert self.rate is not None
        elapsed = max(now - self._stamp, 0.0)
        quiet = now - (self._last_cooldown or now)
        growth = min(self.MAX_GROWTH_PER_SECOND, self.GROWTH_PER_SECOND * (1.0 + quiet))
        self.rate *= 1.0 + growth * elapsed
        self._tokens = min(max(1.0, self.rate * self.BURST_SECONDS), self._tokens + elapsed * self.rate)
        self._stamp = now

    async def wait(self, deadline: float | None) -> None:
        """Take one send's token, waiting for it if the bucket is empty."""
        if self.rate is None:
            return
        now = loop_time()
        self._refill(now)
        self._tokens -= 1.0
        if self._tokens >= 0:
            return
        delay = -self._tokens / self.rate
        if deadline is not None and now + delay > deadline:
            self.refund()
            raise TimeoutError("the per-call timeout would pass while pacing sends after rate limiting")
        try:
            await anyio.sleep(delay)
        except BaseException:
            self.refund()  # cancelled while waiting: the slot in the schedule goes back
            raise

    def refund(self) -> None:
        """Give back a token taken by ``wait`` for a send that did not happen."""
        if self.rate is not None:
            self._tokens += 1.0


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


class RateLimitEngine:
    """Gate, limiter, pacer and counters of one client; ``with_options`` views share it."""

    def __init__(self, max_concurrency: int, *, rng: random.Random | None = None) -> None:
        self.rng = rng or random.Random()
        self.gate = CooldownGate(self.rng)
        self.limiter = AdaptiveLimiter(max_concurrency)
        self.pacer = RatePacer()
        self.requests = 0
        self.rate_limited = 0
        self._decreased_in = -1  # the gate generation in which the limit last shrank
        self._decreased_at = -math.inf

    async def enter(self, deadline: float | None) -> None:
        """Take a slot, then wait for the gate; on return one request may be sent (call ``leave`` after).

        The slot is taken first so that during a cooldown only ``limit`` tasks wait at the gate
        and the rest queue quietly at the limiter: a long storm costs O(limit) wake-ups per
        cooldown, not O(tasks).
        """
        if deadline is None:
            await self.limiter.acquire()
        else:
            with anyio.fail_after(max(deadline - loop_time(), 0.0)):
                await self.limiter.acquire()
        if self.pacer.rate is None and loop_time() >= self.gate.resume_at:
            self.requests += 1  # the common case: never rate limited, gate open
            return
        try:
            while True:
                await self.gate.wait(deadline)
                await self.pacer.wait(deadline)
                if not self.gate.is_closed():
                    break
                self.pacer.refund()  # a cooldown began while pacing: wait it out, then take a token again
        except BaseException:
            self.limiter.release()
            raise
        self.requests += 1

    def leave(self) -> None:
        self.limiter.release()

    def on_success(self) -> None:
        self.limiter.increase()
        self.pacer.on_success()

    def on_rate_limited(self, wait: float | None) -> None:
        """A 429 arrived: close the gate for ``wait`` seconds (None: count only); shrink the limit once per cooldown."""
        self.rate_limited += 1
        if wait is None:
            return
        started = self.gate.close_for(wait)
        now = loop_time()
        if started:
            self.pacer.on_cooldown(now, wait)
        # At most once per cooldown, and at most once a second (as TCP cuts once per round trip):
        # a server sending many millisecond cooldowns must not collapse the limit to 1.
        if self._decreased_in != self.gate.generation and now - self._decreased_at >= DECREASE_INTERVAL:
            self._decreased_in = self.gate.generation
            self._decreased_at = now
            self.limiter.decrease()
        if started:
            logger.info(
                "rate limited: cooldown %.2fs for every task; concurrency limit now %d, pacing at %.1f/s",
                wait,
                self.limiter.current,
                self.pacer.rate or 0.0,
            )

    def stats(self, *, retries: int, budget_left: float) -> Stats:
        """The engine's numbers, with the retry counters the core keeps."""
        return Stats(
            requests=self.requests,
            rate_limited=self.rate_limited,
            retries=retries,
            cooldown_seconds=round(self.gate.cooldown_seconds, 6),
            concurrency_limit=self.limiter.current,
            in_flight=self.limiter.in_flight,
            budget_left=budget_left,
            pacing_rate=None if self.pacer.rate is None else round(self.pacer.rate, 3),
        )
