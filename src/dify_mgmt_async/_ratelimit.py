"""The client-wide rate-limit engine: one per client, shared by every task and every ``with_options`` view.

All on the event loop's clock (so tests run them in virtual time):

* ``CooldownGate``: closed, every new send waits until the resume time (an exact ``retry-after-ms``,
  or short probe gaps while 429s keep coming with no success); waiters are released with a small jitter.
* ``RateEstimator``: learns the rate the server lets through from this client's own successes and 429s.
* the pacer: sends spaced ``1/rate`` apart on a GCRA schedule (``RateState.reserve``).
* ``AdaptiveLimiter``: bounds requests in flight (``max_concurrency``), slow start then AIMD.
* ``RateState``: the numbers a shared store holds (resume time, rate, schedule, the events the rate is
  learned from); ``_store.SharedRateState`` keeps them in one (``rate_limit_store=``), and the policy
  here stays the same.

The core reaches the engine only through ``enter``/``leave`` (a slot), ``on_success`` and
``on_rate_limited``; the retry budget lives with the retry policy (``_retry.RetryBudget``).
"""

from __future__ import annotations

import bisect
import collections
import logging
import math
import random
import re
import time
from dataclasses import dataclass
from typing import Any, Literal

import anyio

from ._loop import Event, loop_event, loop_time

__all__ = [
    "AdaptiveLimiter",
    "CooldownGate",
    "HintKind",
    "RateEstimator",
    "RateLimitEngine",
    "RateState",
    "Stats",
]

logger = logging.getLogger("dify_mgmt_async")


DECREASE_FACTOR = 0.7
DECREASE_INTERVAL = 1.0
_SAME_TIME = 1e-6  # seconds: a slot's end and the schedule's, equal but for float rounding
_PACING_TIMEOUT = "the per-call timeout would pass while pacing sends after rate limiting"


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


class RateState:
    """The engine's shared numbers, in this process: the gate's resume time, the learned rate and the pacing
    schedule (GCRA's theoretical arrival time). ``_store.SharedRateState`` keeps them in a store shared by
    processes (Redis), atomically; the policy that decides what to write stays in the engine.

    ``reserve`` is async (a store is asked); it runs only while pacing, so an unthrottled client pays nothing.
    """

    shared = False
    """True: ``admit``/``release``/``succeeded`` are asked too (a shared store's window, cap and counts)."""

    def __init__(self) -> None:
        self.resume_at = 0.0
        self.rate: float | None = None
        self.tat = 0.0
        self._holes: list[tuple[float, float]] = []  # (time, length) of slots given back before the last, sorted

    @property
    def sharers(self) -> int:
        """Processes taking turns on this schedule at this rate: 1 in process."""
        return 1

    def close_until(self, until: float) -> float:
        """Push the resume time to at least ``until``; return the resume time before."""
        before = self.resume_at
        if until > before:
            self.resume_at = until
        return before

    def set_rate(self, rate: float | None) -> None:
        self.rate = rate

    async def reserve(self, now: float, interval: float) -> float:
        """Book the next send slot ``interval`` after the previous one (never in the past); its delay from ``now``,
        the time asked (a shared store's answer may come later: the delay still counts from ``now``)."""
        if self._holes:
            del self._holes[: bisect.bisect_right(self._holes, (now, math.inf))]  # past holes can go back no more
        at = self.tat if self.tat > now else now
        self.tat = at + interval
        return at - now

    def unreserve(self, interval: float, at: float) -> None:
        """Give back the slot at ``at`` (booked by ``reserve``) for a send that did not happen.

        The schedule moves back only over slots given back at its end. A slot with a later one still booked
        stays a hole until that one is given back too: moving back at once would give the next booking a later
        task's slot, two sends at once, which a small burst refuses.
        """
        holes = self._holes
        bisect.insort(holes, (at, interval))
        while holes:
            start, length = holes[-1]  # the latest hole: if any hole ends where the schedule does, this one
            if abs(self.tat - (start + length)) > _SAME_TIME:
                break
            self.tat = start
            holes.pop()

    def drop_schedule(self) -> None:
        """Forget every booked slot and hole (the schedule they belong to is gone: a store set aside)."""
        self.tat = 0.0
        self._holes.clear()

    def rebook(self, now: float, interval: float) -> None:
        """Drop every booked slot past the next one: the rate was cut, and they were booked at the old one."""
        self.tat = min(self.tat, now + interval)
        self._holes.clear()

    def note(self, kind: str, at: float, value: float) -> tuple[tuple[str, float, float], ...]:
        """An event to learn from (``"429"``, successes then; ``"adopt"``, a rate): the ones to learn from now.

        Here: this one. A shared state logs it for every process and hands it to ``RateLimitEngine.learn``
        when the store answers, in the store's order, with the successes of every process.
        """
        return ((kind, at, value),)

    async def admit(self, deadline: float | None) -> str | None:
        """A shared store's slow-start window or in-flight cap; the lease held (asked only when ``shared``)."""
        return None

    def release(self, lease: str | None) -> None:
        """Give back what ``admit`` returned (asked only when ``shared``)."""

    def succeeded(self) -> None:
        """Count a success (asked only when ``shared``)."""


class CooldownGate:
    """Closed until the state's ``resume_at`` (loop time); every new send waits here first."""

    def __init__(self, state: RateState, rng: random.Random, max_jitter: float = 0.25) -> None:
        self.state = state
        self.cooldown_seconds = 0.0
        self.generation = 0  # bumped when a new cooldown starts (the gate was open)
        self._rng = rng
        self._max_jitter = max_jitter

    @property
    def resume_at(self) -> float:
        return self.state.resume_at

    def is_closed(self) -> bool:
        return loop_time() < self.state.resume_at

    def close_for(self, seconds: float) -> bool:
        """Push the resume time to now + ``seconds``; True if this started a new cooldown."""
        if not math.isfinite(seconds):
            return False
        now = loop_time()
        until = now + max(seconds, 0.0)
        before = self.state.close_until(until)
        if until <= before:
            return False
        self.cooldown_seconds += until - max(before, now)
        started = before <= now
        if started:
            self.generation += 1
        return started

    async def wait(self, deadline: float | None) -> float:
        """Wait until the gate opens (plus jitter); return the seconds waited. TimeoutError if past ``deadline``."""
        waited = 0.0
        while True:
            now = loop_time()
            resume_at = self.state.resume_at
            if now >= resume_at:
                return waited
            span = resume_at - now
            delay = span + self._rng.uniform(0.0, min(self._max_jitter, 0.1 * span + 0.01))
            if deadline is not None and now + span > deadline:
                raise TimeoutError("the per-call timeout would pass while waiting out a rate-limit cooldown")
            if deadline is not None:
                delay = min(delay, deadline - now)
            await anyio.sleep(delay)
            waited += delay


_PARAM = re.compile(r"(?:^|;)\s*([a-z]+)\s*=\s*([0-9.]+)")


def _params(value: str) -> dict[str, float]:
    """``q``/``w``/``r``/``t`` of the first item of an IETF ``RateLimit``/``RateLimit-Policy`` field."""
    first = value.split(",", 1)[0]
    found = {k: float(v) for k, v in _PARAM.findall(first)}
    bare = first.split(";", 1)[0].strip()  # an older draft's policy: ``100;w=60``
    if bare.replace(".", "", 1).isdigit():
        found.setdefault("q", float(bare))
    return found


def policy_rate(headers: Any) -> float | None:
    """The sustainable rate a ``RateLimit-Policy`` field states (its first policy's quota/window), if any."""
    try:
        policy = _params(headers.get("ratelimit-policy") or "")
    except ValueError:  # a number such as "1.2.3"
        return None
    quota, window = policy.get("q"), policy.get("w")
    if not quota or not window:
        return None
    rate = quota / window
    return rate if math.isfinite(rate) and rate > 0 else None  # (a 400-digit window makes it 0.0, or nan)


def advertised_rate(headers: Any, room: int) -> float | None:
    """The rate to pace at once a server's rate-limit fields say fewer than ``room`` requests are left: its
    policy's quota/window (the sustainable rate), else what is left spread over the time to the reset.

    Read: the IETF draft's ``RateLimit: "p";r=<remaining>;t=<seconds>`` with ``RateLimit-Policy: "p";q=<quota>;w=
    <window>``, the older ``RateLimit-Remaining``/``-Reset`` (and ``-Policy``), and the common
    ``X-RateLimit-Remaining``/``X-RateLimit-Reset`` (seconds, or a Unix time in seconds or milliseconds); with
    ``-Limit`` and no window the reset time stands for it, unless it is 1 in whole seconds (rounded up: it says
    nothing finer).
    """
    try:
        current = headers.get("ratelimit")
        if current is not None:
            fields = _params(current)
            remaining, reset = fields.get("r"), fields.get("t")
        else:
            prefix = "ratelimit-" if headers.get("ratelimit-remaining") is not None else "x-ratelimit-"
            raw_remaining = headers.get(prefix + "remaining")
            if raw_remaining is None:
                return None
            remaining = float(raw_remaining)
            raw_reset = headers.get(prefix + "reset")
            reset = float(raw_reset) if raw_reset is not None else None
            if reset is not None and not math.isfinite(reset):
                return None  # (a 400-digit reset is infinity, which no clock arithmetic survives)
            if reset is not None and reset > 1e11:
                reset /= 1000.0  # a Unix time in milliseconds (as seconds it would be past the year 5000)
            if reset is not None and reset > 1e9:
                # A Unix time (GitHub's style): whole seconds too, so a second or less left is as coarse.
                whole = reset == math.floor(reset)
                reset -= time.time()
                if whole and reset <= 1:
                    return None
    except ValueError:
        return None
    if remaining is None or not math.isfinite(remaining) or remaining > room:
        return None
    stated = policy_rate(headers)
    if stated is not None:
        return stated
    if reset is None or not math.isfinite(reset) or reset <= 0 or reset == 1:
        # A reset of 1 in whole seconds is rounded up from anything down to a millisecond: what is left over it
        # could pace a sub-second window's server at a tenth of its rate. 429s teach instead.
        return None
    rate = max(remaining, 1.0) / reset
    return rate if math.isfinite(rate) else None  # a reset of 1e-320 would pace at infinity, beyond any cut


_ADVERTISING = ("ratelimit", "ratelimit-policy", "ratelimit-remaining", "x-ratelimit-remaining")

HintKind = Literal["ms", "seconds", "date"]
"""How precise a 429's hint is: ``retry-after-ms``, or ``Retry-After`` whole seconds or HTTP-date."""


class RateEstimator:
    """Learns the rate a server lets through from this client's own successes and 429s.

    A 429 means the server's allowance is used up at that instant. Between two such instants the server let
    through exactly what it refilled, whatever our own sending pattern, as long as we kept it busy: so
    successes counted between two 429s at least ``span`` apart (along 429s never ``SATURATED_GAP`` apart, so the
    server was kept at its limit) measure its rate. That holds for token buckets and GCRA exactly and for
    fixed windows and sliding logs on average, needs no hint, and a coarse hint cannot bias it.

    * A 429 long after the previous one is a probe reaching the top: the peak becomes the rate tried (or
      what got through, if less, but at least ``BACKOFF`` x), and the rate drops to ``BACKOFF`` x the peak,
      so that a token bucket refills a little. One under ``UNDER_PEAK`` x the peak says the limit is a little
      under the peak, or that our sends bunched: the rate drops only to ``GENTLE_BACKOFF`` x the rate tried,
      and the peak comes down halfway between the two (fast convergence: 0.975 x the rate tried).
    * The first measurement sets the rate, but not the peak: that stays the rate tried, since after a start-up
      burst a window limiter makes the first span measure low.
    * Spans with fewer than ``MIN_SUCCESSES`` (a blip answering 429 to everything) change nothing.
    * Until the first measurement (``rate`` unknown, or only the first guess) the rate grows fast (x(1 +
      ``START_GROWTH`` dt): a first guess from a burst of 1 is far too low, one from a large burst too high); after
      it, while held back by the pacer, it climbs CUBIC's concave curve from the last back-off quickly back
      up to the rate that met the 429 (``peak``), flat near it, so that a drop that was too deep (an unlucky
      span) is undone within about a second; past the peak it grows by ``GROWTH`` x the seconds since per
      second, to find new capacity.
    * Past the peak the step is a share of the server's whole rate when exact hints state it (``stated_rate``),
      not of this client's own: processes sharing one token then grow by the same amount, not in proportion
      to what each has, and the 429s that cut the larger ones more bring them to equal shares (TCP's AIMD).
      Before the first measurement the rate is at least ``STATED_START`` x the stated rate, so that every
      process starts from the same rate whatever share of the start-up burst it got.
    * After an idle gap the server may have refilled: the next span starts afresh at the next 429.
    """

    MIN_SPAN = 0.1
    MAX_SPAN = 2.0
    MIN_SUCCESSES = 5
    START_SUCCESSES = 2
    SATURATED_GAP = 0.25
    DROP = 0.5
    BACKOFF = 0.9
    UNDER_PEAK = 0.99
    GENTLE_BACKOFF = 0.95
    CUBIC = 0.2
    GROWTH = 0.03
    MAX_GROWTH = 0.5
    START_GROWTH = 1.5
    BRACKET = 1.25
    FIRST_SPAN = 0.1
    MIN_RATE = 0.5
    IDLE = 1.0
    HINTS_KEPT = 5.0
    MIN_HINTS = 3
    STATED_START = 0.5

    def __init__(self) -> None:
        self.rate: float | None = None
        self.successes = 0
        self.measured = False
        self._first: float | None = None
        self._grown_at = 0.0
        # CUBIC's curve: rate(t) = peak * (1 + CUBIC * (t - epoch - k)^3), from the last back-off at ``epoch``
        self._peak = 0.0
        self._epoch = 0.0
        self._k = 0.0
        self._last_send = -math.inf
        self._rate_at_mark = 0.0
        self._floor = (0.0, -math.inf)
        # (time, successes then, settled) of recent 429s, the oldest first; ``settled``: recorded once the rate
        # was measured. The start-up's marks come while many successes are still on their way back to us, so
        # the count then lags the server's, and a span from them measures too high.
        self._marks: collections.deque[tuple[float, int, bool]] = collections.deque()
        # (time, exact hint) of the latest 429s, for stated_rate: a few dozen are plenty for the longest
        self._hints: collections.deque[tuple[float, float]] = collections.deque(maxlen=32)
        self.ceiling: float | None = None  # a rate the server states it allows (RateLimit-Policy): never grown past

    def on_send(self, now: float) -> None:
        if now - self._last_send > self.IDLE:
            self._marks.clear()  # the server refilled meanwhile: no span may straddle the gap
            self._grown_at = now
            if self.rate is not None:
                self._restart_curve(self.rate, self.rate, now)  # probe upward from here at once
        self._last_send = now

    def on_success(self, now: float) -> None:
        self.successes += 1
        if self._first is None:
            self._first = now

    def started(self, at: float) -> None:
        """The first success of every process sharing the limit came at ``at`` (a shared store says so).

        The first estimate divides every process's successes by the time since the first of them; from
        this process's own first success, a process that started later would guess a rate several times R.
        """
        if self.rate is None:
            self._first = at if self._first is None else min(self._first, at)

    def on_rate_limited(self, now: float) -> float:
        """A 429 at ``now``: update and return the rate to pace at."""
        marks = self._marks
        self._last_send = max(self._last_send, now)  # it was sent just now: no idle gap before it
        while marks and marks[0][0] < now - 5.0:
            marks.popleft()
        rate = self.rate
        # CUBIC's peak after this 429: the rate it met (a probe), the rate a chain measured, or None to keep
        # the last one (nothing got through since the previous 429: a blip teaches nothing)
        peak: float | None = None
        if rate is None:
            first = self._first if self._first is not None else now
            rate = max(1, self.successes) / max(now - first, self.FIRST_SPAN)
        elif marks and self.successes == marks[-1][1]:
            # Nothing got through since the previous 429 (a blip, or the gate's probes): nothing learned. The
            # peak stays, so after a blip the rate climbs back to it within about a second.
            pass
        elif not marks or now - marks[-1][0] > self.SATURATED_GAP:
            # The first 429 after a quiet spell: a probe reached the top. What got through since the
            # previous 429 is a lower bound (we may not have kept the server busy all along).
            measured = 0.0
            if marks and self.successes - marks[-1][1] >= self.MIN_SUCCESSES:
                measured = (self.successes - marks[-1][1]) / (now - marks[-1][0])
            peak = rate
            if self.measured and rate < self.UNDER_PEAK * self._peak:
                # Under the peak: the limit is a little lower than the peak (others' load grew, or the last
                # probe set the peak high), or our own sends bunched (a sliding log refuses a bunch at 0.85 x
                # its rate). The back-off is gentler, and the peak comes down to the rate that met the 429
                # (then halfway to the new rate: fast convergence).
                # The span since the last 429 is not used: with our own back-off's dip in it, every such
                # 429 would cut near 20 %. A limit that did drop far brings a chain of 429s, which measures it.
                rate = self.GENTLE_BACKOFF * rate
            elif self.measured:
                # The peak is the rate tried, or less if less got through (never below BACKOFF x: a stall of
                # our own makes a span measure low). Back off under it, so a token bucket refills a little:
                # CUBIC's climb brings the rate back to the peak within about a second.
                if measured:
                    peak = max(min(rate, measured), self.BACKOFF * rate)
                rate = self.BACKOFF * peak
            else:
                # Still ramping up from the first guess: bisect (geometrically) between what passed and
                # what did not, growing fast again from there, until the two are within BRACKET.
                low = max(self._rate_at_mark, measured, self.MIN_RATE)
                self.measured = rate <= low * self.BRACKET
                rate = max(self.BACKOFF * rate, measured) if self.measured else math.sqrt(low * rate)
        else:
            # 429s keep coming: the server is held at its limit. The oldest earlier 429 (at most MAX_SPAN back,
            # along a chain of 429s never SATURATED_GAP apart) at least MIN_SPAN back with MIN_SUCCESSES
            # since gives its rate.
            later, ref, settled_ref = now, None, False
            # Before the first measurement the rate is a guess, maybe far too high: fewer successes will do.
            enough = self.MIN_SUCCESSES if self.measured else self.START_SUCCESSES
            for at, count, settled in reversed(marks):
                if later - at > self.SATURATED_GAP or now - at > self.MAX_SPAN:
                    break
                long_enough = now - at >= self.MIN_SPAN and self.successes - count >= enough
                if long_enough and (settled or not settled_ref):
                    # the longest span along the chain measures most precisely; from a settled mark if any
                    ref, settled_ref = (at, count), settled
                later = at
            if ref is not None:
                # At most DROP x per MIN_SPAN: a limiter with a burst of 1 drops more than its rate of
                # requests sent between R and 2R, and one short span can be unlucky.
                measured = (self.successes - ref[1]) / (now - ref[0])
                if now - self._floor[1] >= self.MIN_SPAN:
                    floor = self.DROP * rate
                    if not self.measured:
                        # The first guess may be ten times too high. An even pacer above R gets at least R / 2
                        # through any limiter (burst 1: every other request), so R is at most measured / DROP.
                        # (Later, bunched sends of our own can make a span measure lower than that.)
                        floor = min(floor, measured / self.DROP)
                    self._floor = (floor, now)
                if not self.measured:
                    # The first measurement may be low: after a start-up burst a window limiter (sliding log,
                    # fixed window) lets nothing through until the window moves on, and then only what an even
                    # pacer sends. The peak stays the rate tried (at most twice what was measured, or the floor
                    # held the rate up): CUBIC climbs back towards it within about a second and a half, and a
                    # 429 there is a probe. (As the peak, a low first measurement took 6 s of probing to leave.)
                    peak = rate  # (or what was measured, if more: see _restart_curve)
                elif measured >= self._floor[0]:
                    peak = measured  # a measurement above the floor is trustworthy
                else:
                    peak = min(self._peak or rate, rate)  # under it, the rate that met this 429 was too much
                rate = max(measured, self._floor[0])
                self.measured = True
            else:
                peak = min(self._peak or rate, rate)  # nothing measured, but this rate met a 429
        if not self.measured:
            # Before the first measurement, pace at least at STATED_START x the rate exact hints state: each
            # process on a shared token guesses from its own share of the start-up burst (one paced at ten
            # times another's rate), and from one starting rate the first measurements split the server evenly.
            # The raise counts as passed for the bisection (a failed probe ends at BACKOFF x it, and a chain
            # of 429s measures from there): that holds every process at one rate, which is the point.
            stated = self.stated_rate(now)
            if stated is not None:
                rate = max(rate, self.STATED_START * stated)
        marks.append((now, self.successes, self.measured and rate is not None))
        self._grown_at = now
        before = self.rate
        self.rate = max(self.MIN_RATE, rate)
        self._rate_at_mark = self.rate
        if before is not None:
            # A 429 that taught nothing new (a blip) keeps the peak, so the rate climbs back to it.
            self._restart_curve(self._peak if peak is None else peak, self.rate, now, new_peak=peak is not None)
        return self.rate

    def heard(self, now: float, hint: float) -> None:
        """A 429 at ``now`` came with an exact hint (``retry-after-ms``) of ``hint`` seconds."""
        if hint > 0:
            self._hints.append((now, hint))

    def stated_rate(self, now: float) -> float | None:
        """The server's whole rate as its exact hints of the last ``HINTS_KEPT`` seconds state it, if enough came.

        Right after a token bucket or GCRA ran out, its hint is the time one request takes to refill: 1/R at
        most, for whichever process asked, so the longest of a few is about 1/R. A window limiter's hints run
        to the window's end, longer than 1/R, so what they state is under the rate and changes nothing.

        A client alone, paced evenly just over the rate, is refused as the bucket has nearly refilled, so its
        hints state more than R and it probes faster than ``GROWTH`` says: measured harmless, while filtering
        those hints out lost the even sharing this is for (issue 9's note has the runs).
        """
        hints = self._hints
        while hints and hints[0][0] < now - self.HINTS_KEPT:
            hints.popleft()
        if len(hints) < self.MIN_HINTS:
            return None
        return 1.0 / max(hint for _, hint in hints)

    def _restart_curve(self, peak: float, rate: float, now: float, *, new_peak: bool = True) -> None:
        """Start CUBIC's curve at ``now`` from ``rate``, back up towards ``peak`` (the rate a 429 met)."""
        if new_peak and rate < peak < self._peak:
            peak = (peak + rate) / 2  # fast convergence: a lower peak than last time, make room for others
        self._peak = max(peak, rate)
        self._epoch = now
        self._k = ((1.0 - rate / self._peak) / self.CUBIC) ** (1 / 3)

    @property
    def peak(self) -> float:
        """The rate the last 429 met (or a chain of them measured): the server's rate, as best known."""
        return self._peak or (self.rate or 0.0)

    def adopt(self, rate: float, now: float) -> None:
        """Start from a rate the server stated (rate-limit headers); 429s refine it as usual."""
        self._grown_at = now
        self.rate = max(self.MIN_RATE, rate)
        self.measured = True
        self._rate_at_mark = self.rate
        self._restart_curve(self.rate, self.rate, now)

    def grow(self, now: float) -> float | None:
        """While the pacer holds sends back and no 429 comes, raise the rate; return it."""
        rate = self.rate
        if rate is None:
            return None
        dt = min(now - self._grown_at, 1.0)
        if dt <= 0:
            return rate
        self._grown_at = now
        if self.measured:
            t = now - self._epoch - self._k
            if t < 0:  # below the peak: CUBIC's concave part, back up to it
                grown = max(rate, self._peak * (1.0 + self.CUBIC * t * t * t))
            else:  # past it: probe gently, faster the longer no 429 comes, in steps of the server's rate if stated
                base = max(rate, self._peak)
                unit = max(base, self.stated_rate(now) or 0.0)
                grown = base + unit * min(self.MAX_GROWTH, self.GROWTH * t) * dt
        elif self._marks and now - self._marks[-1][0] < self.SATURATED_GAP:
            grown = rate  # 429s are still coming: a guess that is too high must not grow while they measure it
        else:
            grown = rate * (1.0 + self.START_GROWTH * dt)
        if self.ceiling is not None:  # (back up to a peak over it, if one was met: never further)
            grown = min(grown, max(rate, self._peak, self.ceiling))
        self.rate = grown
        return grown


class AdaptiveLimiter:
    """Requests in flight, bounded by an effective limit between 1 and ``maximum`` (AIMD).

    It starts at ``INITIAL`` and grows by half a slot per success until the first 429 (TCP's slow start, at
    x1.5 a round trip rather than x2): a server with a small burst then meets about half a burst of 429s at
    first, not ``maximum`` of them.
    """

    INITIAL = 4.0
    SLOW_START_STEP = 0.5

    def __init__(self, maximum: int) -> None:
        self.maximum = maximum
        self.limit = float(min(maximum, self.INITIAL))
        self.slow_start = self.limit < maximum
        self.in_flight = 0
        self._waiters: collections.deque[Event] = collections.deque()

    @property
    def current(self) -> int:
        return max(1, int(self.limit))

    async def acquire(self) -> None:
        if not self._waiters and self.in_flight < self.current:
            self.in_flight += 1
            return
        granted = loop_event()
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
        self.slow_start = False
        self.limit = max(1.0, self.limit * DECREASE_FACTOR)

    def increase(self) -> None:
        """``SLOW_START_STEP`` per success in slow start, then +1 per ``limit`` successes, while the limit is used."""
        if self.limit < self.maximum and self.in_flight + len(self._waiters) >= self.current - 1:
            step = self.SLOW_START_STEP if self.slow_start else 1.0 / self.limit
            self.limit = min(float(self.maximum), self.limit + step)
            self.slow_start = self.slow_start and self.limit < self.maximum
            self._wake()


class RateLimitEngine:
    """Gate, pacer, rate estimator, limiter and counters of one client; ``with_options`` views share it.

    The core calls ``enter``/``leave`` around each attempt and ``on_success``/``on_rate_limited`` with its
    outcome. A 429's own request waits its hint in the core; what everyone else does is decided here:

    * the pacer spaces sends ``1/rate`` apart (GCRA), ``rate`` learned by ``RateEstimator``;
    * a ``retry-after-ms`` hint is exact, so the gate closes for it;
    * a whole-second or HTTP-date hint is an upper bound rounded up, and no hint says nothing: the gate
      stays open (the pacer has slowed down) unless 429s keep coming with no success between them, when it
      closes for ``PROBE_GAP``, doubling while that lasts, never longer than the hint.
    """

    PROBE_GAP = 0.05
    MAX_PROBE_GAP = 2.0
    FAILS_BEFORE_GAP = 3
    DRAIN_SECONDS = 1.0
    DRAIN_MARGIN = 0.9

    def __init__(
        self,
        max_concurrency: int,
        *,
        rng: random.Random | None = None,
        state: RateState | None = None,
    ) -> None:
        self.rng = rng or random.Random()
        # rate_limit_store=: the gate, the schedule and the events the rate is learned from are those of
        # every process with the same store and token (_store.SharedRateState); the policy is this one.
        self.state = state or RateState()
        if self.state.shared:
            self.state.listener = self.learn  # type: ignore[attr-defined]
        self.gate = CooldownGate(self.state, self.rng)
        self.limiter = AdaptiveLimiter(max_concurrency)
        self.estimator = RateEstimator()
        self.requests = 0
        self.rate_limited = 0
        self._fails = 0  # 429s since the last success
        self._advertises: bool | None = None  # does the server send rate-limit fields?
        self._advertised: float | None = None  # the rate they said last (adopted once: 429s may teach less)
        self._probe_gap = self.PROBE_GAP
        self._decreased_in = -1  # the gate generation in which the limit last shrank
        self._decreased_at = -math.inf
        self._cuts = 0  # rate cuts so far: a task paced on the schedule before a cut books again
        self._long_queue = False  # has the queue of sends been long (``_draining``)?

    async def enter(self, deadline: float | None) -> str | None:
        """Take a slot, then wait for the gate and the pacer; on return one request may be sent (call ``leave``
        with what this returned after: a shared store's lease, or None).

        The slot is taken first so that during a cooldown only ``limit`` tasks wait at the gate
        and the rest queue quietly at the limiter: a long storm costs O(limit) wake-ups per
        cooldown, not O(tasks).
        """
        if deadline is None:
            await self.limiter.acquire()
        else:
            with anyio.fail_after(max(deadline - loop_time(), 0.0)):
                await self.limiter.acquire()
        state = self.state
        lease = None
        if state.shared:
            try:
                lease = await state.admit(deadline)
            except BaseException:
                self.limiter.release()
                raise
        if state.rate is None and loop_time() >= state.resume_at:
            self.requests += 1  # the common case: never rate limited, gate open
            return lease
        try:
            respace = True
            while True:
                await self.gate.wait(deadline)
                paced = await self._pace(deadline, respace)
                if paced is None:
                    respace = False  # booked again after a stall, once: a loop late for every timer still sends
                elif paced and not self.gate.is_closed():
                    break
        except BaseException:
            state.release(lease)
            self.limiter.release()
            raise
        self.estimator.on_send(loop_time())
        self.requests += 1
        return lease

    async def _pace(self, deadline: float | None, respace: bool = True) -> bool | None:
        """Wait for this send's slot in the schedule; False if the gate closed (the slot given back) or the rate
        was cut (the schedule dropped) meanwhile, None if woken so late (``respace``) that it must book again."""
        rate = self.state.rate
        if rate is None:
            return True
        draining = self._draining(rate)
        if draining:
            # Under the rate last met, or under the rate since reached without a 429 if higher: a peak that
            # is seconds old (others' load gone, a step up) would hold the queue's end far under the server's rate.
            rate = min(rate, self.DRAIN_MARGIN * max(self.estimator.peak, rate))
        interval = 1.0 / rate
        asked = loop_time()
        if self.state.shared and deadline is not None:
            # A shared store's booking may wait its turn for seconds: not past the deadline.
            try:
                with anyio.fail_after(max(deadline - asked, 0.0)):
                    delay = await self.state.reserve(asked, interval)
            except TimeoutError:
                raise TimeoutError(_PACING_TIMEOUT) from None
        else:
            delay = await self.state.reserve(asked, interval)
        # The delay counts from the time asked; growth counts from now (from the time asked, it stood still
        # for as long as a shared store's booking waited, after every cut).
        now = loop_time()
        slot = asked + delay  # the slot's time as the schedule booked it (unreserve gives back this one)
        if slot <= now:
            return True
        if not draining:
            grown = self.estimator.grow(now)  # held back by our own pacing: room to probe upward
            if grown is not None:
                self.state.set_rate(grown)
        if deadline is not None and slot > deadline:
            self.state.unreserve(interval, slot)
            raise TimeoutError(_PACING_TIMEOUT)
        cuts = self._cuts
        try:
            await anyio.sleep(slot - now)
        except BaseException:
            if cuts == self._cuts:
                self.state.unreserve(interval, slot)  # cancelled while waiting: the slot goes back
            raise
        if cuts != self._cuts:
            return False  # the rate was cut while we waited: the schedule was dropped, book again at the new one
        if respace and not self.state.shared and loop_time() - slot > interval:
            # Woken a whole interval late (the loop stalled): so were the tasks booked after us, and all of
            # them sending at once would meet a small burst with 429s. Book again: the schedule spaces them.
            return None
        if self.gate.is_closed():
            self.state.unreserve(interval, slot)  # a cooldown began while pacing: wait it out, then book again
            return False
        return True

    def _draining(self, rate: float) -> bool:
        """Is a queue that was long now down to its last ``DRAIN_SECONDS`` of sends?

        Then a 429 would cost its request the whole hint (a second, with whole-second hints) with no sends
        left to make up for it, so the pacer stops probing and keeps ``DRAIN_MARGIN`` under the rate last
        met (or under the rate it has reached since without a 429, if higher). A queue that never was long
        (``bulk.map`` at a fixed concurrency) never counts as draining.
        """
        limiter = self.limiter
        # With a shared store the rate is every process's, and so is the queue it drains: this one's is
        # about 1/P of it.
        queued = (limiter.in_flight + len(limiter._waiters)) * self.state.sharers
        if queued >= 2 * self.DRAIN_SECONDS * rate:
            self._long_queue = True
            return False
        return self._long_queue and queued < self.DRAIN_SECONDS * rate

    def leave(self, lease: str | None = None) -> None:
        self.limiter.release()
        if lease is not None:
            self.state.release(lease)

    def learn(self, kind: str, at: float, value: float) -> None:
        """Learn from an event: a 429 at ``at`` (``value``: the successes counted then), a rate to adopt, or,
        from a shared store, when the first success of any process came (``"start"``) or the rate the next
        429 met (``"tried"``).

        In-process events come straight from ``on_rate_limited``/``on_success``; with a shared store, every
        process's, in the store's order and with every process's successes, so each teaches each process once.
        """
        estimator = self.estimator
        if kind == "429":
            estimator.successes = int(value)
            before = self.state.rate
            rate = estimator.on_rate_limited(at)
            self.state.set_rate(rate)
            if before is not None and rate < before:
                # Tasks already paced at the old rate would still send on its schedule, well past this 429
                # (``limit`` of them, ``limit / rate`` seconds ahead): each books again at the new rate. In
                # process the old schedule is dropped. A shared one is every process's: its slots stay booked
                # and go unused (a pause while the server refills), and each process's waiting tasks book
                # behind them once it hears of the cut. (Sending on them instead cost 3-4x the 429s with
                # 8 processes; the pause costs up to BOOK_AHEAD slots per process per cut.)
                self._cuts += 1
                if not self.state.shared:
                    self.state.rebook(loop_time(), 1.0 / rate)
        elif kind == "start":
            estimator.started(at)
        elif kind == "tried":
            if estimator.rate is not None:
                # The rate the process that met the next 429 paced at: every process's grew on its own
                # since the last event, and each would cut from its own, so their rates would drift apart.
                estimator.rate = value
                self.state.set_rate(value)
        else:
            self._advertised = value
            estimator.adopt(value, at)
            self.state.set_rate(estimator.rate)  # floored at MIN_RATE as learned rates are: never one send an age

    def on_success(self, *, headers: Any = None) -> None:
        """A 2xx came back; ``headers`` (its response's) are read for rate-limit fields, if its first had any."""
        if self.state.shared:
            self.state.succeeded()
        if headers is not None and self._advertises is not False:
            if self._advertises is None:  # asked once: a server that sends no such fields costs nothing more
                self._advertises = any(name in headers for name in _ADVERTISING)
            rate = stated = None
            if self._advertises:
                stated = self.estimator.ceiling = policy_rate(headers)  # growth stops where the server says
                rate = advertised_rate(headers, 2 * self.limiter.current)
            if rate is not None and self._adopts(rate, stated):
                # The server says its allowance is nearly used up: pace as it asks, before any 429.
                for event in self.state.note("adopt", loop_time(), rate):
                    self.learn(*event)
        self.limiter.increase()
        estimator = self.estimator
        estimator.successes += 1
        if estimator._first is None:
            estimator._first = loop_time()
        if self._fails:
            self._fails = 0
            self._probe_gap = self.PROBE_GAP

    def _adopts(self, rate: float, stated: float | None) -> bool:
        """Is an advertised ``rate`` (``stated``: a policy's, if it has one) news to pace at?

        What is left over the time to the reset changes as it runs down: news whenever the rate differs. A
        policy's quota/window comes with every answer: news once (adopted by any process sharing a store), so
        that the 429s our sends still meet at it (a sliding log refuses an even pacer's jitter at R) can teach
        less; with a store that already paces, a process that joins late does not reset the others.
        """
        rate = max(rate, RateEstimator.MIN_RATE)  # as it would be paced: a rate under the floor is no news twice
        if rate != stated:
            return rate != self.state.rate
        already_paced = self.state.shared and self.state.rate is not None
        return rate != self._advertised and not already_paced

    def on_rate_limited(self, hint: float | None, kind: HintKind | None = None) -> None:
        """A 429 arrived with ``hint`` seconds (None: none, or one too long to wait) of ``kind`` precision.

        Learn from it, and close the gate as the hint's precision allows; shrink the limit once per cooldown.
        """
        self.rate_limited += 1
        self._fails += 1
        now = loop_time()
        if hint is not None and kind == "ms" and not self.state.shared:
            # (with a shared store the rate is already every process's, learned from every process's 429s)
            self.estimator.heard(now, hint)
        for event in self.state.note("429", now, self.estimator.successes):
            self.learn(*event)
        started = False
        if hint is not None and kind == "ms":
            started = self.gate.close_for(hint)
        elif self._fails >= self.FAILS_BEFORE_GAP:
            gap = self._probe_gap if hint is None else min(self._probe_gap, max(hint, 0.0))
            started = self.gate.close_for(gap)
            if started:
                self._probe_gap = min(self.MAX_PROBE_GAP, 2 * self._probe_gap)
        # At most once per cooldown, and at most once a second (as TCP cuts once per round trip):
        # a server sending many millisecond cooldowns must not collapse the limit to 1.
        if self._decreased_in != self.gate.generation and now - self._decreased_at >= DECREASE_INTERVAL:
            self._decreased_in = self.gate.generation
            self._decreased_at = now
            self.limiter.decrease()
        if started:
            logger.info(
                "rate limited: every task paused %.2fs; concurrency limit now %d, pacing at %.1f/s",
                self.state.resume_at - now,
                self.limiter.current,
                self.state.rate or 0.0,
            )

    def stats(self, *, retries: int, budget_left: float) -> Stats:
        """The engine's numbers, with the retry counters the core keeps."""
        rate = self.state.rate
        return Stats(
            requests=self.requests,
            rate_limited=self.rate_limited,
            retries=retries,
            cooldown_seconds=round(self.gate.cooldown_seconds, 6),
            concurrency_limit=self.limiter.current,
            in_flight=self.limiter.in_flight,
            budget_left=budget_left,
            pacing_rate=None if rate is None else round(rate, 3),
        )
