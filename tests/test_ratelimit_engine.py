"""The rate-limit engine in virtual time: the estimator, the pacer, the gate's use of hints.

The module is marked ``virtual_time`` (tests/conftest.py): async tests run on trio with a MockClock that
autojumps, and the servers are ``httpx.MockTransport`` handlers keeping the limiter's state on trio's clock,
so elapsed times are exact and cost no real time.
"""

from __future__ import annotations

import itertools
import json
import math
import time

import httpx
import pytest
import trio
import trio.testing

from dify_mgmt_async import DifyManagementClient
from dify_mgmt_async._errors import retry_after_hint
from dify_mgmt_async._ratelimit import AdaptiveLimiter, RateEstimator, RateLimitEngine, advertised_rate
from dify_mgmt_async.emulator.limiters import hint_headers, make_limiter

pytestmark = pytest.mark.virtual_time  # tests/conftest.py: trio with a MockClock that autojumps


class Server:
    """A rate-limited create endpoint on trio's clock: 1 ms each way, the emulator's limiters and hint styles."""

    def __init__(
        self,
        kind: str = "token-bucket",
        rate: float = 100.0,
        burst: int = 10,
        hint: str = "seconds",
        blackout: tuple[float, float] | None = None,
    ) -> None:
        self.limiter = make_limiter(kind, rate, burst, 0.0)
        self.hint = hint
        self.blackout = blackout
        self.accepted: list[float] = []
        self.rejected: list[float] = []
        self.created: dict[str, int] = {}
        self.due: dict[str, float] = {}  # a 429'd name may not come back before this
        self.early = 0

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        await trio.sleep(0.001)
        now = trio.current_time()
        name = json.loads(request.content)["name"]
        if now < self.due.pop(name, -math.inf) - 1e-9:
            self.early += 1
        if self.blackout is not None and self.blackout[0] <= now < self.blackout[1]:
            wait: float | None = self.blackout[1] - now
        else:
            wait = self.limiter.take(now)
        await trio.sleep(0.001)
        if wait is not None:
            self.rejected.append(now)
            headers = hint_headers(wait, self.hint) if self.hint != "http-date" else {"Retry-After": "1"}
            hinted = retry_after_hint(headers)
            if hinted is not None:
                self.due[name] = trio.current_time() + hinted[0]
            return httpx.Response(429, headers=headers, json={"error_code": "rate_limited", "error": "slow down"})
        self.accepted.append(now)
        self.created[name] = self.created.get(name, 0) + 1
        return httpx.Response(200, json={"id": name, "name": name})

    def rate_between(self, start: float, end: float) -> float:
        return sum(start <= t < end for t in self.accepted) / (end - start)


async def create_all(server: Server, names: list[str], concurrency: int = 64) -> tuple[float, DifyManagementClient]:
    dify = DifyManagementClient(
        "http://dify.test", "t", transport=httpx.MockTransport(server), max_concurrency=concurrency
    )
    async with dify:
        start = trio.current_time()
        async with trio.open_nursery() as nursery:
            for name in names:
                nursery.start_soon(_create, dify, name)
        return trio.current_time() - start, dify


async def _create(dify: DifyManagementClient, name: str) -> None:
    await dify.datasets.create(name=name)


def names(n: int, prefix: str = "d") -> list[str]:
    return [f"{prefix}{i}" for i in range(n)]


# --- the estimator on its own ----------------------------------------------------------------------------------


def feed(estimator: RateEstimator, events: list[tuple[float, int]]) -> float:
    """``(time, successes before the 429 at that time)``; the rate after the last one."""
    rate = 0.0
    for at, successes in events:
        estimator.successes = successes
        rate = estimator.on_rate_limited(at)
    return rate


def test_successes_between_close_429s_measure_the_rate_exactly() -> None:
    """429s every 0.1 s with 20 successes between them: the server lets 200/s through, whatever was sent."""
    estimator = RateEstimator()
    feed(estimator, [(0.0, 10)])  # the first guess: 10 successes over at least FIRST_SPAN
    assert estimator.rate == pytest.approx(10 / RateEstimator.FIRST_SPAN)
    rate = feed(estimator, [(0.1 * k, 10 + 20 * k) for k in range(1, 6)])
    assert rate == pytest.approx(200.0)
    assert estimator.measured


def test_a_window_without_successes_changes_nothing() -> None:
    """A blip: 429s every 50 ms for 1.5 s and no success. Its first 429 looks like a probe reaching the top
    (a back-off); the 429s after it teach nothing and change nothing, and the rate then climbs back to the
    peak it had before the blip within about a second."""
    estimator = RateEstimator()
    feed(estimator, [(0.0, 0), *[(0.1 * k, 20 * k) for k in range(1, 11)]])
    assert estimator.rate == pytest.approx(200.0)
    # quiet for 2 s at 150/s, then the blip: its first 429 sets the peak to what got through, but at least
    # BACKOFF x the rate tried (180/s), and backs off under it
    assert feed(estimator, [(3.0, 500)]) == pytest.approx(RateEstimator.BACKOFF * 180.0)
    assert feed(estimator, [(3.0 + 0.05 * k, 500) for k in range(1, 31)]) == pytest.approx(162.0)
    # fast convergence: 180 is under the last peak (200), so the peak is halfway between 180 and 162
    assert estimator.peak == pytest.approx(171.0)
    k = ((1 - 162.0 / 171.0) / RateEstimator.CUBIC) ** (1 / 3)
    assert k == pytest.approx(0.641, abs=1e-3)
    assert estimator.grow(4.5 + k) == pytest.approx(171.0)


def test_a_probe_after_quiet_backs_off_under_what_got_through() -> None:
    estimator = RateEstimator()
    feed(estimator, [(0.0, 0), *[(0.1 * k, 10 * k) for k in range(1, 6)]])
    assert estimator.rate == pytest.approx(100.0)
    estimator.rate = 120.0  # grown while quiet
    # 2 s later, 230 successes since the last 429: 115/s got through, less than the 120/s tried
    assert feed(estimator, [(2.5, 280)]) == pytest.approx(RateEstimator.BACKOFF * 230 / 2.0)
    assert estimator.peak == pytest.approx(115.0)
    estimator.rate = 115.0  # back at the peak
    # 2 s later again, 240 successes: 120/s got through, more than the 115/s tried
    assert feed(estimator, [(4.5, 520)]) == pytest.approx(RateEstimator.BACKOFF * 115.0)
    assert estimator.peak == pytest.approx(115.0)
    estimator.rate = 115.0
    # 2 s later, 40/s got through (a stall of our own): the peak drops no lower than BACKOFF x 115/s
    assert feed(estimator, [(6.5, 600)]) == pytest.approx(RateEstimator.BACKOFF * RateEstimator.BACKOFF * 115.0)
    assert estimator.peak == pytest.approx((103.5 + 93.15) / 2)  # under the last peak: fast convergence


@pytest.mark.anyio
async def test_slow_start_adds_half_a_slot_per_success_while_the_limit_is_used_then_one_per_limit() -> None:
    """From 4 in flight, +0.5 per success (x1.5 a round trip, not x2: a server with a small burst then meets
    about half a burst of 429s at first, not a whole one), only while every slot is taken; after a cut,
    +1 / limit per success (about one a round trip)."""
    limiter = AdaptiveLimiter(64)
    assert limiter.limit == 4.0 and limiter.slow_start
    limiter.increase()  # nothing in flight: the limit is not what holds us back
    assert limiter.limit == 4.0
    for _ in range(4):
        await limiter.acquire()
    limiter.increase()
    limiter.increase()
    assert limiter.limit == 5.0 and limiter.current == 5
    limiter.decrease()
    assert limiter.limit == pytest.approx(3.5) and not limiter.slow_start
    limiter.increase()
    assert limiter.limit == pytest.approx(3.5 + 1 / 3.5)


def measured_at(rate: float) -> RateEstimator:
    """An estimator that measured ``rate`` from 429s 0.1 s apart up to t = 0.5."""
    estimator = RateEstimator()
    per_tenth = round(rate / 10)
    feed(estimator, [(0.0, 0), *[(0.1 * k, per_tenth * k) for k in range(1, 6)]])
    assert estimator.measured and estimator.rate == pytest.approx(rate)
    return estimator


def test_after_a_back_off_the_rate_climbs_back_to_its_peak_within_a_second() -> None:
    """CUBIC's concave part: a 429 after quiet at 100/s backs off to 90/s, and the rate is back at 100/s
    k = cbrt(0.1 / CUBIC) seconds later, fast at first and flat near the peak."""
    estimator = measured_at(100.0)
    assert feed(estimator, [(2.5, 50 + 300)]) == pytest.approx(90.0)  # 150/s got through; 100/s was tried
    k = (0.1 / RateEstimator.CUBIC) ** (1 / 3)
    assert k == pytest.approx(0.794, abs=1e-3)
    half = estimator.grow(2.5 + k / 2)
    assert half == pytest.approx(100.0 * (1 - RateEstimator.CUBIC * (k / 2) ** 3))
    assert half == pytest.approx(98.75)  # seven eighths of the way back in half the time
    assert estimator.grow(2.5 + k) == pytest.approx(100.0)


def test_past_its_peak_the_rate_grows_slowly_then_faster() -> None:
    estimator = measured_at(100.0)
    feed(estimator, [(2.5, 350)])
    k = (0.1 / RateEstimator.CUBIC) ** (1 / 3)
    assert estimator.grow(2.5 + k) == pytest.approx(100.0)
    # 0.1 s past the peak: GROWTH x 0.1 per second, for 0.1 s
    assert estimator.grow(2.5 + k + 0.1) == pytest.approx(100.0 * (1 + RateEstimator.GROWTH * 0.1 * 0.1))
    estimator.rate = 100.0
    estimator._grown_at = 2.5 + k + 9.9
    assert estimator.grow(2.5 + k + 10.0) == pytest.approx(100.0 * (1 + RateEstimator.GROWTH * 10.0 * 0.1))


def test_exact_hints_state_the_servers_rate_from_the_longest_of_the_last_few() -> None:
    estimator = RateEstimator()
    estimator.heard(0.0, 0.004)
    estimator.heard(0.1, 0.010)
    assert estimator.stated_rate(0.2) is None  # two hints: too few to tell 1/R from a lucky short one
    estimator.heard(0.2, 0.007)
    estimator.heard(0.3, 0.0)  # a zero hint states nothing
    assert estimator.stated_rate(0.3) == pytest.approx(100.0)  # 1 / the longest, 10 ms
    assert estimator.stated_rate(RateEstimator.HINTS_KEPT) == pytest.approx(100.0)  # the first is just kept
    assert estimator.stated_rate(RateEstimator.HINTS_KEPT + 0.01) is None  # it is gone, and two are left


def sharing_at(rate: float, hint: float) -> tuple[RateEstimator, float]:
    """An estimator that measured ``rate``, then met a probe 429 at 2.5 s with three exact ``hint``s; and the
    time its rate is back at the peak."""
    estimator = measured_at(rate)
    feed(estimator, [(2.5, estimator.successes + round(2 * rate))])  # a probe: what got through was the rate
    for _ in range(3):
        estimator.heard(2.5, hint)
    k = (0.1 / RateEstimator.CUBIC) ** (1 / 3)
    assert estimator.grow(2.5 + k) == pytest.approx(rate)
    return estimator, 2.5 + k


def test_past_its_peak_a_client_sharing_the_server_grows_by_a_share_of_the_stated_rate() -> None:
    """20/s of a server whose hints state 100/s (four processes on one token): past the peak it grows by
    GROWTH x t of 100/s, as every other process does, not of its own 20/s, which kept shares as they were."""
    estimator, at_peak = sharing_at(20.0, 0.010)
    assert estimator.grow(at_peak + 0.1) == pytest.approx(20.0 + 100.0 * RateEstimator.GROWTH * 0.1 * 0.1)


def test_hints_longer_than_the_clients_own_interval_change_nothing() -> None:
    """A window limiter's hints run to the window's end (100 ms here): they state 10/s, under the client's own
    20/s, so it grows by a share of its own rate."""
    estimator, at_peak = sharing_at(20.0, 0.100)
    assert estimator.stated_rate(at_peak) == pytest.approx(10.0)
    assert estimator.grow(at_peak + 0.1) == pytest.approx(20.0 * (1 + RateEstimator.GROWTH * 0.1 * 0.1))


def test_before_the_first_measurement_the_rate_is_at_least_half_the_stated_rate() -> None:
    """A process that got 1 of the start-up burst guesses 10/s, one that got 9 of it 90/s; with hints stating
    100/s both pace at 50/s or more until measured, so their first measurements split the server evenly."""
    estimator = RateEstimator()
    assert feed(estimator, [(0.0, 1)]) == pytest.approx(10.0)  # 1 success over FIRST_SPAN
    for _ in range(3):
        estimator.heard(0.0, 0.010)
    assert feed(estimator, [(0.01, 1)]) == pytest.approx(RateEstimator.STATED_START * 100.0)
    assert not estimator.measured
    estimator = RateEstimator()
    feed(estimator, [(0.0, 9)])
    for _ in range(3):
        estimator.heard(0.0, 0.010)
    assert feed(estimator, [(0.01, 9)]) == pytest.approx(90.0)  # more than half already: kept


def test_once_measured_the_stated_rate_no_longer_sets_the_rate() -> None:
    estimator = measured_at(20.0)
    for _ in range(3):
        estimator.heard(0.5, 0.010)
    # a chain of 429s measuring 20/s again: the rate stays what was measured, not half of 100/s
    assert feed(estimator, [(0.5 + 0.1 * k, 10 + 2 * k) for k in range(1, 4)]) == pytest.approx(20.0)


@pytest.mark.anyio
async def test_only_exact_hints_are_heard() -> None:
    """``retry-after-ms`` is exact; whole seconds and HTTP-dates are rounded up and say nothing of the rate."""
    engine = RateLimitEngine(64)
    for _ in range(3):
        engine.on_rate_limited(1.0, "seconds")
        engine.on_rate_limited(1.0, "date")
        engine.on_rate_limited(None)
    assert engine.estimator.stated_rate(trio.current_time()) is None
    for hint in (0.002, 0.005, 0.004):
        engine.on_rate_limited(hint, "ms")
    assert engine.estimator.stated_rate(trio.current_time()) == pytest.approx(200.0)


def test_once_measured_a_chain_far_under_the_rate_drops_it_by_half_per_tenth_of_a_second() -> None:
    """After the first measurement a span may measure low for reasons of our own (bunched sends, a stall), so
    a chain measuring 30/s from 180/s drops the rate by DROP per MIN_SPAN (to 90/s, then 45/s), then to what
    it measured."""
    estimator = measured_at(200.0)
    # a step down: 429s every 0.1 s with 3 successes between them (30/s), from t = 2.5
    assert feed(estimator, [(2.5, 500)]) == pytest.approx(RateEstimator.BACKOFF * 200.0)
    assert feed(estimator, [(2.6, 503)]) == pytest.approx(180.0)  # too few successes to measure
    assert feed(estimator, [(2.7, 506)]) == pytest.approx(RateEstimator.DROP * 180.0)
    assert feed(estimator, [(2.75, 507)]) == pytest.approx(90.0)  # within MIN_SPAN of that drop: its floor
    assert feed(estimator, [(2.85, 510)]) == pytest.approx(45.0)
    assert feed(estimator, [(2.95, 513)]) == pytest.approx(13 / 0.45)  # the chain's longest span, over its floor


def test_before_the_first_measurement_two_successes_measure_and_the_drop_is_to_twice_that() -> None:
    """The first guess (successes of the first burst over FIRST_SPAN) may be ten times the server's rate: then
    nearly every send meets a 429. A chain with 2 successes (START_SUCCESSES, not MIN_SUCCESSES) already
    measures, and the rate drops at once to twice the measurement (an even pacer above R gets at least R / 2
    through), not by DROP per MIN_SPAN."""
    estimator = RateEstimator()
    assert feed(estimator, [(0.0, 20)]) == pytest.approx(200.0)  # 20 successes: the whole burst, at once
    assert not estimator.measured
    assert feed(estimator, [(0.2, 21)]) == pytest.approx(200.0)  # a chain: 1 success, too few
    # 3 successes over 0.4 s (from the first 429): 7.5/s measured; the floor is twice that
    assert feed(estimator, [(0.4, 23)]) == pytest.approx(3 / 0.4 / RateEstimator.DROP)
    assert estimator.measured


def test_until_measured_the_first_guess_grows_by_one_and_a_half_times_per_second() -> None:
    """A first guess may be far too low (a burst of 1 gives 1 success over FIRST_SPAN: 10/s), so it grows fast
    while the pacer holds sends back: x(1 + 1.5 dt), about x4.5 a second, where a measured rate creeps."""
    estimator = RateEstimator()
    assert feed(estimator, [(0.0, 20)]) == pytest.approx(200.0)
    assert estimator.grow(0.3) == pytest.approx(290.0)
    assert estimator.grow(0.4) == pytest.approx(290.0 * 1.15)
    assert estimator.grow(2.4) == pytest.approx(290.0 * 1.15 * 2.5)  # at most a second at a time


def test_until_measured_the_guess_does_not_grow_while_429s_may_still_come() -> None:
    """Within SATURATED_GAP of the last 429 a chain may yet measure the guess too high. Growing it meanwhile
    took a client from 110/s to 157/s (R = 100) in a chain of 429s that had not spanned MIN_SPAN yet."""
    estimator = RateEstimator()
    assert feed(estimator, [(0.0, 20)]) == pytest.approx(200.0)
    assert estimator.grow(0.1) == pytest.approx(200.0)
    assert estimator.grow(0.249) == pytest.approx(200.0)
    assert estimator.grow(0.25) == pytest.approx(200.0 * (1 + 1.5 * 0.001))  # the gap passed: grows again
    assert estimator.grow(0.35) == pytest.approx(200.0 * (1 + 1.5 * 0.001) * 1.15)
    assert feed(estimator, [(0.4, 20)]) == pytest.approx(200.0 * (1 + 1.5 * 0.001) * 1.15)  # a chain, nothing new
    assert estimator.grow(0.6) == pytest.approx(200.0 * (1 + 1.5 * 0.001) * 1.15)


def test_a_chain_that_measures_under_its_floor_lowers_the_peak_to_the_rate_that_met_it() -> None:
    """A clump of 429s (a stall, sends already under way) whose span measures under the DROP floor is suspect
    as a measurement, but the rate that met it was too much: the peak comes down to that rate, no lower."""
    estimator = measured_at(100.0)
    feed(estimator, [(2.5, 350)])
    assert estimator.rate == pytest.approx(90.0) and estimator.peak == pytest.approx(100.0)
    # 0.1 s later, 4 successes: too few to measure; the peak comes down to the 90/s that met it
    assert feed(estimator, [(2.6, 354)]) == pytest.approx(90.0)
    assert estimator.peak == pytest.approx(90.0)
    # 0.1 s later again, 4 more: 40/s over 0.2 s, floored at DROP x 90
    rate = feed(estimator, [(2.7, 358)])
    assert rate == pytest.approx(RateEstimator.DROP * 90.0) == pytest.approx(45.0)
    k = ((1 - rate / 90.0) / RateEstimator.CUBIC) ** (1 / 3)
    assert estimator.grow(2.7 + k) == pytest.approx(90.0)


def test_a_lower_peak_than_the_last_one_makes_room_for_other_clients() -> None:
    """CUBIC's fast convergence: a new episode that starts under the last peak sets the peak halfway
    between where it started and where it backed off to."""
    estimator = measured_at(100.0)
    feed(estimator, [(2.5, 350)])  # peak 100, now 90
    estimator.rate = 99.5  # not under 0.99 x the peak: a probe that met the top
    feed(estimator, [(5.0, 350 + 300)])  # 120/s got through, 99.5 tried: back off to 89.55
    assert estimator.rate == pytest.approx(RateEstimator.BACKOFF * 99.5)
    k = ((1 - 89.55 / ((99.5 + 89.55) / 2)) / RateEstimator.CUBIC) ** (1 / 3)
    assert estimator.grow(5.0 + k) == pytest.approx((99.5 + 89.55) / 2)


def test_an_idle_gap_starts_a_fresh_span() -> None:
    """After an idle gap the server refilled: a 429 then is the first of an episode, not the end of a span."""
    estimator = RateEstimator()
    feed(estimator, [(0.0, 0), *[(0.1 * k, 10 * k) for k in range(1, 6)]])
    estimator.on_send(0.55)
    estimator.on_send(20.0)  # idle for 19 s
    assert not estimator._marks
    assert feed(estimator, [(20.01, 100)]) == pytest.approx(100.0 * RateEstimator.BACKOFF)


# --- the pacer and the gate --------------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_the_pacer_spaces_sends_one_interval_apart() -> None:
    engine = RateLimitEngine(64)
    engine.state.set_rate(50.0)
    sent: list[float] = []

    async def send() -> None:
        await engine.enter(None)
        sent.append(trio.current_time())
        engine.leave()

    start = trio.current_time()
    async with trio.open_nursery() as nursery:
        for _ in range(10):
            nursery.start_soon(send)
    assert [round(t - start, 6) for t in sorted(sent)] == [round(0.02 * k, 6) for k in range(10)]


async def paced_sends(engine: RateLimitEngine, tasks: int, during: object = None) -> list[float]:
    """Send times (from the start) of ``tasks`` tasks through ``engine``; ``during(start)`` runs alongside."""
    sent: list[float] = []
    start = trio.current_time()

    async def send() -> None:
        await engine.enter(None)
        sent.append(round(trio.current_time() - start, 6))
        engine.leave()

    async with trio.open_nursery() as nursery:
        for _ in range(tasks):
            nursery.start_soon(send)
        if callable(during):
            nursery.start_soon(during, start)
    return sorted(sent)


@pytest.mark.anyio
async def test_a_rate_cut_drops_the_schedule_booked_at_the_old_rate() -> None:
    """Ten tasks are booked 10 ms apart at 100/s; a 429 at 25 ms cuts the rate to 50/s. The sends still
    waiting go 20 ms apart from then on, not on the old schedule."""
    engine = RateLimitEngine(64)
    engine.state.set_rate(100.0)
    engine.estimator.on_rate_limited = lambda now: 50.0  # type: ignore[method-assign]

    async def cut(start: float) -> None:
        await trio.sleep_until(start + 0.025)
        engine.on_rate_limited(1.0, "seconds")

    sent = await paced_sends(engine, 10, cut)
    assert sent[:3] == [0.0, 0.01, 0.02]
    gaps = [round(b - a, 6) for a, b in itertools.pairwise(sent[2:])]
    assert sent[3] >= 0.03
    assert gaps[1:] == [0.02] * 6


@pytest.mark.anyio
async def test_tasks_woken_late_by_a_stall_are_spaced_again() -> None:
    """A stall of 50 ms (the loop blocked) wakes every task booked in it at once: they are spaced again
    one interval apart, not sent together into a small burst."""
    engine = RateLimitEngine(64)
    engine.state.set_rate(100.0)

    async def stall(start: float) -> None:
        await trio.sleep_until(start + 0.005)
        trio.lowlevel.current_clock().jump(0.05)  # type: ignore[attr-defined]

    sent = await paced_sends(engine, 10, stall)
    assert sent[0] == 0.0
    late = sent[1:]
    assert late[0] >= 0.055 - 1e-9
    assert [round(b - a, 6) for a, b in itertools.pairwise(late)] == [0.01] * 8


@pytest.mark.anyio
async def test_a_draining_queue_paces_under_the_rate_last_met() -> None:
    """Once a long queue is down to its last second of sends, the pacer keeps DRAIN_MARGIN under the peak:
    a 429 then would cost its request a whole-second hint with nothing left to make up for it."""
    engine = RateLimitEngine(64)
    engine.state.set_rate(100.0)
    engine.estimator.adopt(100.0, trio.current_time())
    assert RateLimitEngine.DRAIN_SECONDS == 1.0 and RateLimitEngine.DRAIN_MARGIN == 0.9
    assert not engine._draining(100.0)  # no queue was long yet: bulk.map at a fixed concurrency
    sent = await paced_sends(engine, 10)
    assert [round(b - a, 6) for a, b in itertools.pairwise(sent)] == [0.01] * 9
    # a queue of 200 (2 s at 100/s) was long; 10 left is under a second's worth: paced at 90/s
    engine.limiter.in_flight = 200
    assert not engine._draining(100.0) and engine._long_queue
    engine.limiter.in_flight = 100
    assert not engine._draining(100.0)
    engine.limiter.in_flight = 99
    assert engine._draining(100.0)
    engine.limiter.in_flight = 0
    sent = await paced_sends(engine, 10)
    assert [b - a for a, b in itertools.pairwise(sent[1:])] == pytest.approx([1 / 90] * 8, abs=1e-5)


@pytest.mark.anyio
async def test_a_draining_queue_keeps_under_the_rate_reached_past_a_stale_peak_and_stops_probing() -> None:
    """The last 429 met 20/s; since then the rate grew to 100/s without one (other clients' load gone, a step
    up): the queue's last second is paced DRAIN_MARGIN under 100/s, not under the stale 20/s, and grows no more."""
    engine = RateLimitEngine(64)
    engine.estimator.on_send(trio.current_time())  # sending all along: no idle gap to restart from
    engine.estimator.adopt(20.0, trio.current_time())
    engine.estimator.rate = 100.0
    engine.state.set_rate(100.0)
    assert engine.estimator.peak == 20.0
    engine.limiter.in_flight = 200
    assert not engine._draining(100.0) and engine._long_queue
    engine.limiter.in_flight = 0
    sent = await paced_sends(engine, 30)
    assert engine.estimator.peak == 20.0
    assert [b - a for a, b in itertools.pairwise(sent)] == pytest.approx([1 / 90] * 29, abs=1e-5)
    assert engine.estimator.rate == 100.0 and engine.state.rate == 100.0  # no probing while draining


@pytest.mark.anyio
async def test_only_a_millisecond_hint_closes_the_gate_for_everyone() -> None:
    engine = RateLimitEngine(64)
    engine.on_success()
    engine.on_rate_limited(1.0, "seconds")
    assert not engine.gate.is_closed()  # rounded up: the pacer slows down instead
    engine.on_rate_limited(1.0, "date")
    engine.on_rate_limited(None, None)
    assert engine.gate.is_closed()  # the third 429 with no success between: a short probe gap
    assert engine.state.resume_at - trio.current_time() == pytest.approx(RateLimitEngine.PROBE_GAP)
    engine2 = RateLimitEngine(64)
    engine2.on_rate_limited(0.25, "ms")
    assert engine2.state.resume_at - trio.current_time() == pytest.approx(0.25)


def test_retry_after_hint_says_how_precise_it_is() -> None:
    assert retry_after_hint(httpx.Headers({"retry-after-ms": "12", "Retry-After": "1"})) == (0.012, "ms")
    assert retry_after_hint(httpx.Headers({"Retry-After": "3"})) == (3.0, "seconds")
    hint = retry_after_hint(httpx.Headers({"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}), now=1445412470.0)
    assert hint == (10.0, "date")
    assert retry_after_hint({}) is None


# --- whole runs against limiters ----------------------------------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize("hint", ["seconds", "none", "ms"])
async def test_reaches_the_rate_of_a_small_burst_bucket_whatever_the_hint(hint: str) -> None:
    """1,010 creates against 100/s with a burst of 10: near the ideal 10 s, few 429s, no retry before its hint."""
    server = Server(rate=100.0, burst=10, hint=hint)
    elapsed, dify = await create_all(server, names(1010))
    assert len(server.created) == 1010 and set(server.created.values()) == {1}
    assert server.early == 0
    assert elapsed <= 1.12 * 10.0
    assert len(server.rejected) <= 0.04 * 1010
    # What the engine holds to be the server's rate (the pacing rate itself ends wherever the last probe
    # past it got to, or BACKOFF under it after a 429)
    assert 90.0 <= dify._state.engine.estimator.peak <= 110.0, dify._state.engine.estimator.peak


@pytest.mark.anyio
async def test_a_coarse_hint_does_not_throttle_the_client_to_burst_per_second() -> None:
    """Retry-After: 1 rounded up from milliseconds: the old engine sent ~burst a second; now ~R."""
    server = Server(rate=200.0, burst=5, hint="seconds")
    await create_all(server, names(1205))
    assert server.rate_between(3.0, 6.0) >= 0.9 * 200.0


@pytest.mark.anyio
async def test_a_blip_recovers_in_seconds() -> None:
    """429 to everything for 1.5 s (Retry-After 1): back to 90 % of the earlier throughput within 3 s of its end."""
    server = Server(rate=100.0, burst=10, hint="seconds", blackout=(4.0, 5.5))
    await create_all(server, names(1200))
    before = server.rate_between(2.0, 4.0)
    assert before >= 90.0
    assert server.rate_between(6.5, 8.5) >= 0.9 * before
    assert server.early == 0


@pytest.mark.anyio
async def test_a_restart_after_idle_does_not_start_from_a_low_estimate() -> None:
    server = Server(rate=100.0, burst=10, hint="seconds")
    dify = DifyManagementClient("http://dify.test", "t", transport=httpx.MockTransport(server), max_concurrency=64)
    async with dify:
        for batch in range(2):
            async with trio.open_nursery() as nursery:
                for name in names(500, f"b{batch}-"):
                    nursery.start_soon(_create, dify, name)
            rate = dify.stats.pacing_rate
            assert rate is not None and rate >= 90.0
            await trio.sleep(30.0)
    second = [t for t in server.accepted if t > server.accepted[499] + 29.0]
    assert len(second) == 500
    assert second[-1] - second[0] <= 1.25 * (500 - 10) / 100.0  # a stale low estimate (50/s) would take 2x


@pytest.mark.anyio
@pytest.mark.parametrize("kind", ["fixed-window", "sliding-log", "gcra"])
async def test_reaches_the_rate_of_window_limiters(kind: str) -> None:
    server = Server(kind, rate=100.0, burst=10, hint="seconds")
    elapsed, _ = await create_all(server, names(1010))
    assert len(server.created) == 1010 and server.early == 0
    assert elapsed <= 1.4 * 10.0  # jitter is random (unseeded): 1.3x was met with a 0.01 s margin at worst
    assert len(server.rejected) <= 0.05 * 1010


# --- rate-limit headers, before the first 429 -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "room", "expected"),
    [
        ({"RateLimit": '"default";r=3;t=2', "RateLimit-Policy": '"default";q=100;w=10'}, 4, 10.0),
        ({"RateLimit": '"default";r=30;t=2', "RateLimit-Policy": '"default";q=100;w=10'}, 4, None),  # plenty left
        ({"RateLimit": '"default";r=3;t=2'}, 4, 1.5),  # no policy: what is left over the time to the reset
        ({"RateLimit-Remaining": "0", "RateLimit-Reset": "4", "RateLimit-Policy": "100;w=60"}, 4, 100 / 60),
        ({"X-RateLimit-Limit": "60", "X-RateLimit-Remaining": "2", "X-RateLimit-Reset": "2"}, 4, 1.0),
        ({"X-RateLimit-Remaining": "oops", "X-RateLimit-Reset": "2"}, 4, None),
        ({"Content-Type": "application/json"}, 4, None),
    ],
)
def test_advertised_rate_reads_the_ietf_and_x_ratelimit_fields(
    headers: dict[str, str], room: int, expected: float | None
) -> None:
    rate = advertised_rate(httpx.Headers(headers), room)
    assert rate == (None if expected is None else pytest.approx(expected))


def test_advertised_rate_takes_a_unix_reset_time() -> None:
    reset = str(int(time.time()) + 10)
    rate = advertised_rate(httpx.Headers({"X-RateLimit-Remaining": "5", "X-RateLimit-Reset": reset}), 8)
    assert rate is not None and 5 / 11 <= rate <= 5 / 9


@pytest.mark.anyio
async def test_rate_limit_headers_pace_the_client_before_any_429() -> None:
    """A token bucket advertising 50/s (RateLimit-Policy q=50;w=1, RateLimit r=<tokens>): paced from the first
    answers, so 500 creates meet no 429 and take about (500 - 10) / 50 s."""
    limiter = make_limiter("token-bucket", 50.0, 10, 0.0)
    rejected: list[float] = []

    async def handler(request: httpx.Request) -> httpx.Response:
        await trio.sleep(0.001)
        wait = limiter.take(trio.current_time())
        left = int(limiter.tokens)  # type: ignore[attr-defined]
        fields = {"RateLimit": f'"b";r={left};t={math.ceil((10 - left) / 50)}', "RateLimit-Policy": '"b";q=50;w=1'}
        if wait is not None:
            rejected.append(trio.current_time())
            return httpx.Response(429, headers={"Retry-After": "1", **fields})
        return httpx.Response(200, headers=fields, json={"id": "x", "name": "x"})

    dify = DifyManagementClient("http://dify.test", "t", transport=httpx.MockTransport(handler), max_concurrency=64)
    async with dify:
        start = trio.current_time()
        async with trio.open_nursery() as nursery:
            for name in names(500):
                nursery.start_soon(_create, dify, name)
        elapsed = trio.current_time() - start
        assert dify.stats.pacing_rate == pytest.approx(50.0, rel=0.1)
    assert rejected == []
    assert elapsed <= 1.05 * (500 - 10) / 50
