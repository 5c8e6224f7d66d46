"""Constants of the rate-limit engine (``_ratelimit``), each pinned by the behaviour it stands for.

Virtual time (trio MockClock): the engine reads the loop's clock, so the seconds below are exact.
"""

from __future__ import annotations

import logging
import math
import random
from collections.abc import Awaitable, Callable

import anyio
import httpx
import pytest
import trio

from dify_mgmt_async import _ratelimit
from dify_mgmt_async._ratelimit import (
    AdaptiveLimiter,
    CooldownGate,
    RateEstimator,
    RateLimitEngine,
    RateState,
    advertised_rate,
)
from tests.stopped_clock import Clock

pytestmark = [pytest.mark.anyio, pytest.mark.virtual_time]


async def test_429s_cut_the_concurrency_limit_to_70_percent_at_most_once_a_second() -> None:
    """It starts at 4 in flight; a 429 cuts that to 2.8, another cooldown within the second does not, one after does."""
    engine = RateLimitEngine(64)
    assert engine.limiter.limit == 4.0
    engine.on_rate_limited(0.1, "ms")
    assert engine.limiter.limit == pytest.approx(2.8)
    await trio.sleep(0.5)  # the gate reopened: the next 429 starts a new cooldown, but within the second
    engine.on_rate_limited(0.1, "ms")
    assert engine.limiter.limit == pytest.approx(2.8)
    await trio.sleep(0.4)
    engine.on_rate_limited(0.1, "ms")
    assert engine.limiter.limit == pytest.approx(2.8)
    await trio.sleep(0.1)  # a second after the first cut
    engine.on_rate_limited(0.1, "ms")
    assert engine.limiter.limit == pytest.approx(2.8 * 0.7)
    assert engine.limiter.current == 1


def successes(estimator: RateEstimator, start: float, end: float, count: int) -> None:
    """``count`` successes evenly spread strictly between ``start`` and ``end``."""
    for i in range(count):
        estimator.on_success(start + (end - start) * (i + 1) / (count + 1))


def test_429s_under_a_quarter_second_apart_chain_and_spans_from_a_tenth_of_a_second_measure() -> None:
    """What each 429 paces at, after N successes in T seconds (SATURATED_GAP 0.25 s, MIN_SPAN 0.1 s, MIN_SUCCESSES 5).

    A 429 more than 0.25 s after the previous one is a probe that reached the top (the rate backs off); closer
    ones are a chain that holds the server at its limit, and the successes since a 429 of the chain at least
    0.1 s back measure the rate.
    """
    estimator = RateEstimator()
    successes(estimator, 0.0, 1.0, 20)
    paced = [estimator.on_rate_limited(1.0)]  # the first guess: 20 + 1 in a second
    successes(estimator, 1.0, 1.3, 10)
    paced.append(estimator.on_rate_limited(1.3))  # 0.3 s later, a probe: 10 in 0.3 s got through
    successes(estimator, 1.3, 1.5, 8)
    paced.append(estimator.on_rate_limited(1.5))  # 0.2 s later, a chain: 8 in 0.2 s measure 40/s
    successes(estimator, 1.5, 1.8, 30)
    paced.append(estimator.on_rate_limited(1.8))  # 0.3 s later, a probe again: back off to 0.9 x 40
    successes(estimator, 1.8, 2.5, 10)
    paced.append(estimator.on_rate_limited(2.5))  # a probe under the peak (40): 0.95 x 36
    successes(estimator, 2.5, 2.58, 6)
    paced.append(estimator.on_rate_limited(2.58))  # 0.08 s: too short a span to measure
    successes(estimator, 2.58, 2.63, 6)
    paced.append(estimator.on_rate_limited(2.63))  # 12 in the 0.13 s since 2.5 measure 92/s
    assert paced == pytest.approx([21.0, 100 / 3, 40.0, 36.0, 34.2, 34.2, 12 / 0.13], abs=1e-3)


@pytest.mark.parametrize(
    ("count", "seconds", "paced"),
    [
        (20, 1.0, 20.0),  # the successes over the seconds since the first of them
        (3, 0.05, 30.0),  # a first 429 within 0.1 s: over 0.1 s (FIRST_SPAN), not a rate of 60/s or more
        (1, 10.0, 0.5),  # never under half a request a second (MIN_RATE)
    ],
)
def test_the_first_429_guesses_the_rate_from_the_successes_before_it(count: int, seconds: float, paced: float) -> None:
    estimator = RateEstimator()
    estimator.on_success(0.0)
    successes(estimator, 0.0, seconds, count - 1)
    assert estimator.on_rate_limited(seconds) == pytest.approx(paced)
    assert estimator.peak == pytest.approx(paced)  # the best known rate, until a 429 teaches more


async def test_429s_with_no_success_between_close_the_gate_50_ms_doubling_up_to_2_s() -> None:
    """From the third 429 in a row with no (precise) hint the gate closes for a probe gap: 0.05 s (PROBE_GAP),
    doubling with each new cooldown, never over 2 s (MAX_PROBE_GAP) nor over a hint; a success starts again."""
    engine = RateLimitEngine(64)
    engine.on_rate_limited(None, None)
    engine.on_rate_limited(None, None)
    assert not engine.gate.is_closed()
    gaps = []
    for _ in range(8):
        engine.on_rate_limited(None, None)
        gaps.append(round(engine.state.resume_at - trio.current_time(), 6))
        await trio.sleep(engine.state.resume_at - trio.current_time())
    assert gaps == [0.05, 0.1, 0.2, 0.4, 0.8, 1.6, 2.0, 2.0]
    engine.on_success()
    for hint, gap in [(None, None), (None, None), (1.0, 0.05), (1.0, 0.1), (0.15, 0.15), (None, 0.4)]:
        engine.on_rate_limited(hint, None if hint is None else "seconds")
        if gap is None:
            assert not engine.gate.is_closed()
        else:
            assert round(engine.state.resume_at - trio.current_time(), 6) == gap
            await trio.sleep(gap)


def test_a_send_more_than_a_second_after_the_last_starts_a_fresh_span() -> None:
    """IDLE is 1 s: a send exactly 1 s after the last keeps the 429s before it, so the next 429 measures what got
    through since them (50 in 1 s: the 100/s peak comes down to 90, paced at 81); a send later than that forgets
    them, so the next 429 is a probe meeting the top at the 100/s tried (paced at 90)."""
    kept = measured_at(100.0)
    kept.on_send(0.5)
    kept.on_send(1.5)
    kept.successes = 100
    assert kept.on_rate_limited(1.5) == pytest.approx(81.0)
    fresh = measured_at(100.0)
    fresh.on_send(0.5)
    fresh.on_send(1.501)
    fresh.successes = 100
    assert fresh.on_rate_limited(1.501) == pytest.approx(90.0)


def test_past_its_peak_the_rate_grows_at_most_half_again_per_second() -> None:
    """Past the peak it grows by GROWTH (3 %) x the seconds since, per second, up to MAX_GROWTH (50 %) per second."""
    estimator = measured_at(100.0)
    estimator.successes = 350
    estimator.on_rate_limited(2.5)  # a probe: peak 100, paced at 90
    k = (0.1 / RateEstimator.CUBIC) ** (1 / 3)
    for past, grown in [(10.0, 103.0), (16.0, 104.8), (30.0, 105.0), (100.0, 105.0)]:
        estimator.rate = 100.0
        estimator._grown_at = 2.5 + k + past - 0.1
        assert estimator.grow(2.5 + k + past) == pytest.approx(grown)  # 0.1 s of growth


def measured_at(rate: float) -> RateEstimator:
    """An estimator that measured ``rate`` from 429s 0.1 s apart up to t = 0.5 (``rate`` / 2 successes by then)."""
    estimator = RateEstimator()
    per_tenth = round(rate / 10)
    for k in range(6):
        estimator.successes = per_tenth * k
        estimator.on_rate_limited(0.1 * k)
    assert estimator.measured and estimator.rate == pytest.approx(rate)
    return estimator


@pytest.mark.parametrize(("tried", "paced"), [(24.4, 0.9 * 24.4), (25.2, (20 * 25.2) ** 0.5)])
def test_ramping_up_stops_bisecting_once_the_rate_tried_is_within_a_quarter_of_what_passed(
    tried: float, paced: float
) -> None:
    """BRACKET 1.25: 20/s passed (the first guess); a probe at 24.4/s (1.22 x) ends the ramp (0.9 x the rate tried);
    one at 25.2/s (1.26 x) bisects geometrically between 20 and 25.2."""
    estimator = RateEstimator()
    estimator.on_success(0.0)
    successes(estimator, 0.0, 1.0, 19)
    assert estimator.on_rate_limited(1.0) == pytest.approx(20.0) and not estimator.measured
    estimator.rate = tried
    estimator.successes += 2  # too few since to measure anything
    assert estimator.on_rate_limited(2.0) == pytest.approx(paced)
    assert estimator.measured is (tried < 25.0)


def test_a_chain_of_429s_measures_over_its_last_two_seconds_at_most() -> None:
    """MAX_SPAN 2 s: along a chain of 429s an eighth of a second apart (200/s got through for the first half second,
    150/s for the next, 100/s after), the 429 at 2.5 s measures from the one at 0.5 s: 225 in 2 s."""
    estimator = RateEstimator()
    for step in range(21):
        at = step * 0.125
        count = 200 * at if at <= 0.5 else 100 + 150 * (at - 0.5) if at <= 1.0 else 175 + 100 * (at - 1.0)
        estimator.successes = round(count)
        rate = estimator.on_rate_limited(at)
    assert rate == pytest.approx(112.5)


@pytest.mark.parametrize(
    ("gap", "count", "paced"),
    [
        (0.1, 5, 50.0),  # 5 successes over 0.1 s measure 50/s
        (0.09, 5, 20.0),  # under MIN_SPAN (0.1 s): nothing measured, the first guess stays
        (0.125, 2, 16.0),  # before the first measurement, START_SUCCESSES (2) will do
        (0.125, 1, 20.0),  # fewer: nothing measured
        (0.25, 10, 40.0),  # SATURATED_GAP (0.25 s) apart is still a chain
    ],
)
def test_a_429_soon_after_the_first_guess_measures_from_a_tenth_of_a_second_and_two_successes(
    gap: float, count: int, paced: float
) -> None:
    estimator = RateEstimator()
    estimator.on_success(0.0)
    successes(estimator, 0.0, 1.0, 19)
    assert estimator.on_rate_limited(1.0) == pytest.approx(20.0)
    estimator.successes += count
    assert estimator.on_rate_limited(1.0 + gap) == pytest.approx(paced)


@pytest.mark.parametrize(("count", "paced"), [(5, 45.0), (4, 90.0)])
def test_once_measured_a_chain_needs_five_successes_to_measure(count: int, paced: float) -> None:
    """MIN_SUCCESSES 5: at 100/s adopted, a probe backs off to 90/s; 5 successes in the next eighth of a second
    measure 40/s (floored at half the 90); 4 measure nothing."""
    estimator = RateEstimator()
    estimator.adopt(100.0, 0.0)
    estimator.successes = 100
    assert estimator.on_rate_limited(1.0) == pytest.approx(90.0)
    estimator.successes += count
    assert estimator.on_rate_limited(1.125) == pytest.approx(paced)


@pytest.mark.parametrize(("at", "paced"), [(0.75, 100.0), (0.76, 0.9 * 25 / 0.26)])
def test_a_429_a_quarter_second_after_the_last_still_chains_a_later_one_is_a_probe(at: float, paced: float) -> None:
    """SATURATED_GAP: 0.25 s after the last 429, the chain measures 100/s since its oldest settled 429; later, it is a
    probe reaching the top: the 96/s that got through since the last 429 is the peak, paced at 0.9 x that."""
    estimator = measured_at(100.0)
    estimator.successes = 75
    assert estimator.on_rate_limited(at) == pytest.approx(paced)


# --- what a server's rate-limit fields say ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "rate"),
    [
        ({"x-ratelimit-remaining": "3"}, None),  # no reset and no policy: nothing to pace at
        ({"x-ratelimit-remaining": "0", "x-ratelimit-reset": "10"}, 0.1),  # at least one request until the reset
        ({"x-ratelimit-remaining": "1", "x-ratelimit-reset": "10"}, 0.1),
        ({"x-ratelimit-remaining": "8", "x-ratelimit-reset": "10"}, 0.8),  # exactly the room left: paced
        ({"x-ratelimit-remaining": "9", "x-ratelimit-reset": "10"}, None),  # more: not yet
        ({"x-ratelimit-remaining": "5", "x-ratelimit-reset": "0.5"}, 10.0),
        ({"x-ratelimit-remaining": "5", "x-ratelimit-reset": "0"}, None),
        ({"x-ratelimit-remaining": "5", "x-ratelimit-reset": "1"}, None),  # a whole second: rounded up from maybe 1 ms
        ({"x-ratelimit-remaining": "5", "x-ratelimit-reset": "1.0"}, None),
        ({"x-ratelimit-remaining": "5", "x-ratelimit-reset": "1.5"}, 5 / 1.5),  # a fraction is no rounding
        ({"x-ratelimit-remaining": "5", "x-ratelimit-reset": "2"}, 2.5),  # 2 s: at most twice too slow, briefly
        ({"ratelimit": '"p";r=5;t=1'}, None),  # the IETF draft's t is whole seconds too
        ({"ratelimit": '"p";r=5;t=1', "ratelimit-policy": '"p";q=100;w=1'}, 100.0),  # a policy needs no reset
        ({"ratelimit": '"p";r=5;t=0.5'}, 10.0),  # a fraction of a second is no rounding
        ({"ratelimit": '"p";r=5;t=5', "ratelimit-policy": f'"p";q=1{"0" * 400};w=1'}, 1.0),  # no finite policy
        ({"x-ratelimit-remaining": "5", "x-ratelimit-reset": "-5"}, None),
        ({"x-ratelimit-remaining": "0", "x-ratelimit-reset": "1e400"}, None),  # infinity: was a raw OverflowError
        ({"x-ratelimit-remaining": "0", "x-ratelimit-reset": "9" * 400}, None),
        ({"x-ratelimit-remaining": "0", "x-ratelimit-reset": "-1e400"}, None),
        ({"ratelimit": '"p";r=5;t=5', "ratelimit-policy": f'"p";q=100;w=1{"0" * 400}'}, 1.0),  # q/w = 0: no policy
        ({"x-ratelimit-remaining": "0", "x-ratelimit-reset": "1e-320"}, None),  # 1 / 1e-320: no finite rate
        ({"ratelimit": f'"p";r=1;t=0.{"0" * 320}1'}, None),
        ({"x-ratelimit-remaining": "5", "x-ratelimit-reset": "1000000000"}, 5e-9),  # up to 1e9: seconds
        ({"x-ratelimit-remaining": "5", "x-ratelimit-reset": "1000000000.5"}, None),  # over: a Unix time, long past
        ({"ratelimit": '"p";t=10'}, None),  # no remaining count
        ({"ratelimit-policy": "q=100", "ratelimit": '"p";r=5;t=10'}, 0.5),  # a quota with no window: the reset
        ({"ratelimit-policy": "100.5;w=10", "ratelimit": '"p";r=1;t=5'}, 10.05),  # an older draft's bare quota
        ({"ratelimit-policy": "100;w=10;burst=20", "ratelimit": '"p";r=1;t=5'}, 10.0),
        ({"ratelimit-policy": "1.2.3;w=10", "ratelimit": '"p";r=1;t=5'}, 0.2),  # a quota that is no number: ignored
        ({"ratelimit-policy": '"a";q=10;w=1, "b";q=20;w=1, "c";q=30;w=1', "ratelimit": '"a";r=1;t=5'}, 10.0),
    ],
)
def test_advertised_rate_at_its_edges(fields: dict[str, str], rate: float | None) -> None:
    """``room`` 8 (twice a limit of 4 in flight); a policy's first item counts."""
    assert advertised_rate(httpx.Headers(fields), 8) == (None if rate is None else pytest.approx(rate))


@pytest.mark.parametrize(
    ("reset", "rate"),
    [
        ("1700000001", None),
        ("1700000002", 5 / 1.7),
        ("1700000000.8", 10.0),
        ("1700000001.2", 5 / 0.9),
        ("1700000002300", 2.5),  # in milliseconds, 2 s away (read as seconds: 53,000 years, a send per 10,000)
        ("1700000000800", 10.0),
        ("100000000000", 5 / (1e11 - 1700000000.3)),  # 1e11 itself is still seconds (the year 5138)
    ],
)
def test_a_unix_reset_a_whole_second_away_is_as_coarse_as_a_reset_of_1(
    monkeypatch: pytest.MonkeyPatch, reset: str, rate: float | None
) -> None:
    """A whole Unix time 0.7 s away is rounded up from anything under it; a fraction is not rounded. One over 1e11
    is in milliseconds."""
    monkeypatch.setattr(_ratelimit.time, "time", lambda: 1700000000.3)
    fields = httpx.Headers({"x-ratelimit-remaining": "5", "x-ratelimit-reset": reset})
    assert advertised_rate(fields, 8) == (None if rate is None else pytest.approx(rate))


async def test_a_server_is_read_for_rate_limit_fields_until_it_first_answers_without_them() -> None:
    """Fields on the first success: adopted at once (remaining 8 of room 2 x 4 in flight, over 2 s: 4/s), and the
    CUBIC curve starts there; a server whose first success has none is not read again."""
    engine = RateLimitEngine(64)
    now = trio.current_time()
    engine.on_success(headers=httpx.Headers({"x-ratelimit-remaining": "9", "x-ratelimit-reset": "2"}))
    assert engine.state.rate is None  # 9 left is more than the room of 8
    engine.on_success(headers=httpx.Headers({"x-ratelimit-remaining": "8", "x-ratelimit-reset": "2"}))
    assert engine.state.rate == 4.0 and engine.estimator.rate == 4.0 and engine.estimator.measured
    assert engine.estimator.grow(now + 0.5) == pytest.approx(4.0 * (1 + 0.03 * 0.5 * 0.5))
    quiet = RateLimitEngine(64)
    quiet.on_success(headers=httpx.Headers({"content-type": "application/json"}))
    quiet.on_success(headers=httpx.Headers({"x-ratelimit-remaining": "1", "x-ratelimit-reset": "2"}))
    assert quiet.state.rate is None


async def test_an_advertised_rate_is_adopted_once_so_that_429s_can_teach_less() -> None:
    """A policy's quota/window comes with every answer: adopted on the first, not again while it says the same
    (a sliding log still refuses an even pacer's jitter at R, and the cut that teaches must stand); a new one is."""
    engine = RateLimitEngine(64)
    policy = {"ratelimit-policy": '"p";q=100;w=1', "ratelimit": '"p";r=3;t=1'}
    engine.on_success(headers=httpx.Headers(policy))
    assert engine.state.rate == 100.0
    engine.on_rate_limited(None, "seconds")
    assert engine.state.rate == pytest.approx(90.0)  # a probe at the rate adopted: BACKOFF x it
    engine.on_success(headers=httpx.Headers(policy))
    assert engine.state.rate == pytest.approx(90.0)  # said again: not adopted again
    engine.on_success(headers=httpx.Headers({**policy, "ratelimit-policy": '"p";q=60;w=1'}))
    assert engine.state.rate == 60.0  # a new rate is


@pytest.mark.parametrize(
    "fields",
    [
        {"x-ratelimit-remaining": "0", "x-ratelimit-reset": "3600"},  # one request in an hour
        {"x-ratelimit-remaining": "0", "x-ratelimit-reset": "99999999999"},  # a Unix time in the year 5138
        {"ratelimit-policy": '"p";q=1;w=100000', "ratelimit": '"p";r=0;t=5'},
    ],
)
async def test_an_advertised_rate_is_paced_no_slower_than_the_floor_of_learned_rates(fields: dict[str, str]) -> None:
    """The pace adopted from rate-limit fields is floored at MIN_RATE (0.5/s), as a rate learned from 429s is: a
    bogus or far reset paced at one send in 3,000 years (the estimator had the floor, the schedule the raw rate),
    so every later call hung; now such a server's 429s and their hints do the holding back."""
    engine = RateLimitEngine(64)
    engine.on_success(headers=httpx.Headers(fields))
    assert (engine.state.rate, engine.estimator.rate) == (RateEstimator.MIN_RATE, RateEstimator.MIN_RATE)


async def test_an_advertised_rate_under_the_floor_is_news_once() -> None:
    """Said again, the same rate under MIN_RATE is not adopted again: compared raw with the floored pace it was news
    on every answer, and each adoption restarted the curve (and, with a store, logged an event for every process)."""
    engine = RateLimitEngine(64)
    same = httpx.Headers({"x-ratelimit-remaining": "0", "x-ratelimit-reset": "3600"})
    adopted: list[float] = []
    learn = engine.learn
    engine.learn = lambda kind, at, value: (adopted.append(value), learn(kind, at, value))[1]  # type: ignore[method-assign]
    for _ in range(5):
        engine.on_success(headers=same)
    assert adopted == [1 / 3600]
    assert engine.state.rate == RateEstimator.MIN_RATE


async def test_what_is_left_over_the_time_to_the_reset_is_adopted_whenever_it_differs_from_the_pace() -> None:
    """No policy: "2 left in 4 s" said twice, with growth between, is news both times (the pace drifted)."""
    engine = RateLimitEngine(64)
    left = httpx.Headers({"x-ratelimit-remaining": "2", "x-ratelimit-reset": "4"})
    engine.on_success(headers=left)
    assert engine.state.rate == 0.5
    engine.state.set_rate(engine.estimator.grow(trio.current_time() + 1.0))
    assert engine.state.rate is not None and engine.state.rate > 0.5
    engine.on_success(headers=left)
    assert engine.state.rate == 0.5


async def test_growth_stops_at_the_rate_a_policy_states_and_never_pushes_a_rate_down() -> None:
    """``RateLimit-Policy`` q/w is the server's own sustainable rate: CUBIC's climb and the start-up's growth stop
    there (probing past it only meets 429s); a rate already over it is left alone; no policy, no ceiling."""
    engine = RateLimitEngine(64)
    engine.on_success(headers=httpx.Headers({"ratelimit-policy": '"p";q=50;w=1', "ratelimit": '"p";r=40;t=1'}))
    estimator = engine.estimator
    assert estimator.ceiling == 50.0 and engine.state.rate is None  # 40 left: not yet paced, but capped
    now = trio.current_time()
    estimator.rate, estimator.measured, estimator._grown_at = 49.0, False, now
    assert estimator.grow(now + 1.0) == 50.0  # x2.5 in a second, stopped at the ceiling
    estimator.rate, estimator._grown_at = 60.0, now
    assert estimator.grow(now + 1.0) == 60.0  # over it already (adopted from what was left): kept, not grown
    estimator._peak, estimator.rate, estimator.measured, estimator._epoch, estimator._k = 56.0, 52.0, True, now, 0.0
    estimator._grown_at = now
    assert estimator.grow(now + 1.0) == 56.0  # CUBIC's climb back to a peak met over it: that far, not further
    engine.on_success(headers=httpx.Headers({"ratelimit-policy": '"p";q=1.2.3;w=1', "ratelimit": '"p";r=40;t=1'}))
    assert estimator.ceiling is None  # a quota that is no number states nothing
    estimator.rate, estimator.measured, estimator._grown_at = 49.0, False, now
    assert estimator.grow(now + 1.0) == pytest.approx(49.0 * 2.5)


# --- the gate ----------------------------------------------------------------------------------------------------


class Edge(random.Random):
    """Jitter at one end of its range."""

    def __init__(self, high: bool) -> None:
        super().__init__(0)
        self.high = high

    def uniform(self, a: float, b: float) -> float:
        return b if self.high else a


@pytest.mark.parametrize(("span", "high", "jitter"), [(1.0, True, 0.11), (3.0, True, 0.25), (1.0, False, 0.0)])
async def test_waiters_leave_the_gate_with_up_to_a_tenth_of_the_wait_plus_10_ms_never_over_a_quarter_second(
    span: float, high: bool, jitter: float
) -> None:
    gate = CooldownGate(RateState(), Edge(high))
    start = trio.current_time()
    gate.close_for(span)
    await gate.wait(None)
    assert trio.current_time() - start == pytest.approx(span + jitter)


async def test_a_deadline_cuts_the_gates_jitter_and_one_before_the_gate_opens_fails_at_once() -> None:
    gate = CooldownGate(RateState(), Edge(high=True))
    await trio.sleep(10.0)  # away from time 0, where a deadline minus now and plus now are the same
    start = trio.current_time()
    gate.close_for(1.0)
    await gate.wait(start + 1.0)  # open exactly at the deadline: no jitter past it
    assert trio.current_time() - start == pytest.approx(1.0)
    gate.close_for(1.0)
    with pytest.raises(
        TimeoutError, match=r"^the per-call timeout would pass while waiting out a rate-limit cooldown$"
    ):
        await gate.wait(start + 1.5)
    assert trio.current_time() - start == pytest.approx(1.0)  # no wait at all


async def test_closing_the_gate_starts_a_cooldown_only_when_it_was_open() -> None:
    state = RateState()
    gate = CooldownGate(state, Edge(high=False))
    state.resume_at = trio.current_time()
    assert gate.close_for(math.inf) is False and not gate.is_closed()
    assert gate.close_for(0.0) is False and gate.generation == 0
    assert gate.close_for(1.0) is True and gate.generation == 1
    assert gate.close_for(0.5) is False and gate.generation == 1  # already closed for longer
    await trio.sleep(1.0)
    assert gate.close_for(0.5) is True and gate.generation == 2  # closed again the moment it reopened
    assert gate.cooldown_seconds == pytest.approx(1.5)


async def test_a_cooldown_is_logged_once_with_its_length_the_limit_and_the_rate(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="dify_mgmt_async")
    engine = RateLimitEngine(64)
    engine.on_rate_limited(1.0, "seconds")  # a whole-second hint: the pacer slows down, the gate stays open
    assert caplog.messages == []
    await trio.sleep(1.0)
    engine.on_rate_limited(0.25, "ms")
    engine.on_rate_limited(0.1, "ms")  # within that cooldown: not a new one
    assert caplog.messages == ["rate limited: every task paused 0.25s; concurrency limit now 1, pacing at 10.0/s"]


class Deferred(RateState):
    """A shared store's state before it answers: nothing learned yet; leases recorded."""

    shared = True

    def __init__(self) -> None:
        super().__init__()
        self.released: list[str | None] = []
        self.deadlines: list[float | None] = []

    def note(self, kind: str, at: float, value: float) -> tuple[tuple[str, float, float], ...]:
        return ()

    async def admit(self, deadline: float | None) -> str | None:
        self.deadlines.append(deadline)
        return "lease-1"

    def release(self, lease: str | None) -> None:
        self.released.append(lease)


async def test_with_a_shared_store_exact_hints_state_nothing_more() -> None:
    """The stated rate makes processes that share a token without a store grow alike; with one, the rate is
    already every process's, learned from every process's 429s, and the hints are not heard."""
    alone, shared = RateLimitEngine(64), RateLimitEngine(64, state=Deferred())
    for engine in (alone, shared):
        for hint in (0.004, 0.010, 0.007):
            engine.on_rate_limited(hint, "ms")
    now = trio.current_time()
    assert (alone.estimator.stated_rate(now), shared.estimator.stated_rate(now)) == (pytest.approx(100.0), None)


async def test_before_a_shared_store_answers_the_gate_still_closes_and_the_lease_goes_back(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="dify_mgmt_async")
    state = Deferred()
    engine = RateLimitEngine(64, state=state, rng=Edge(high=False))
    start = trio.current_time()
    engine.on_rate_limited(0.2, "ms")
    assert caplog.messages == ["rate limited: every task paused 0.20s; concurrency limit now 2, pacing at 0.0/s"]
    lease = await engine.enter(None)
    assert (lease, trio.current_time() - start) == ("lease-1", pytest.approx(0.2))
    engine.leave(lease)
    engine.leave(None)
    assert state.released == ["lease-1"]
    assert state.listener == engine.learn  # type: ignore[attr-defined]  # the store's events reach this engine


async def test_a_deadline_inside_a_cooldown_fails_at_once_and_gives_back_the_slot_and_the_lease() -> None:
    state = Deferred()
    engine = RateLimitEngine(64, state=state)
    engine.on_rate_limited(1.0, "ms")
    deadline = trio.current_time() + 0.5
    with pytest.raises(TimeoutError, match="waiting out a rate-limit cooldown"):
        await engine.enter(deadline)
    assert (state.deadlines, state.released, engine.limiter.in_flight) == ([deadline], ["lease-1"], 0)


async def test_a_deadline_bounds_the_wait_for_a_slot_in_flight() -> None:
    engine = RateLimitEngine(1)
    assert await engine.enter(None) is None  # in process: no lease
    start = trio.current_time()
    with pytest.raises(TimeoutError):
        await engine.enter(start + 0.2)
    assert trio.current_time() - start == pytest.approx(0.2)


async def test_a_freed_slot_goes_to_exactly_one_waiting_task() -> None:
    limiter = AdaptiveLimiter(4)
    for _ in range(4):
        await limiter.acquire()
    async with trio.open_nursery() as nursery:
        for _ in range(2):
            nursery.start_soon(limiter.acquire)
        await trio.sleep(0.1)
        assert (limiter.in_flight, len(limiter._waiters)) == (4, 2)
        limiter.release()
        await trio.sleep(0.1)
        assert (limiter.in_flight, len(limiter._waiters)) == (4, 1)
        limiter.release()


async def test_a_long_cooldown_cuts_the_limit_once_however_long_it_lasts() -> None:
    engine = RateLimitEngine(64)
    engine.on_rate_limited(3.0, "ms")
    await trio.sleep(1.5)
    engine.on_rate_limited(3.0, "ms")  # the same cooldown, extended, more than a second after the cut
    assert engine.limiter.limit == pytest.approx(2.8)


# --- the pacer -------------------------------------------------------------------------------------------------


async def test_a_send_whose_slot_is_past_its_deadline_fails_at_once_and_gives_the_slot_back() -> None:
    engine = RateLimitEngine(64, rng=Edge(high=False))
    await trio.sleep(1.0)
    engine.state.set_rate(10.0)
    start = trio.current_time()
    engine.leave(await engine.enter(None))
    engine.leave(await engine.enter(start + 0.1))  # its slot is exactly at the deadline: sent
    assert trio.current_time() - start == pytest.approx(0.1)
    with pytest.raises(TimeoutError, match=r"^the per-call timeout would pass while pacing sends after rate limiting$"):
        await engine.enter(trio.current_time() + 0.05)
    assert trio.current_time() - start == pytest.approx(0.1)
    engine.leave(await engine.enter(None))  # the slot given back is the next one
    assert trio.current_time() - start == pytest.approx(0.2)


def timed_send(engine: RateLimitEngine, start: float, sent: dict[str, float]) -> Callable[[str], Awaitable[None]]:
    """A send through ``engine`` that records, under its name, when it went (seconds after ``start``)."""

    async def send(name: str) -> None:
        engine.leave(await engine.enter(None))
        sent[name] = trio.current_time() - start

    return send


async def test_a_send_paced_into_a_cooldown_waits_it_out() -> None:
    engine = RateLimitEngine(64, rng=Edge(high=False))
    engine.state.set_rate(10.0)
    start = trio.current_time()
    engine.leave(await engine.enter(None))
    sent: dict[str, float] = {}
    async with trio.open_nursery() as nursery:
        nursery.start_soon(timed_send(engine, start, sent), "second")
        await trio.sleep(0.05)
        engine.gate.close_for(0.07)  # while it waits for its slot at 0.1: it gives the slot back, and goes at 0.12
    assert sent == {"second": pytest.approx(0.12)}


async def test_a_slot_given_back_before_the_last_stays_unused_so_no_two_sends_share_one() -> None:
    """At 10/s one send goes at once, A is booked at 0.1 and B at 0.2. A cooldown from 0.05 to 0.12 makes A give
    its slot back, but B still holds the slot after it: A books the next free one, 0.3, and 0.1 stays unused.
    (Moving the schedule back instead gave A B's slot: both at 0.2, which a burst of 1 refuses.)"""
    engine = RateLimitEngine(64, rng=Edge(high=False))
    engine.state.set_rate(10.0)
    start = trio.current_time()
    engine.leave(await engine.enter(None))
    sent: dict[str, float] = {}
    send = timed_send(engine, start, sent)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(send, "A")
        await trio.sleep(0.01)
        nursery.start_soon(send, "B")
        await trio.sleep(0.04)
        engine.gate.close_for(0.07)
    assert sent == {"A": pytest.approx(0.3), "B": pytest.approx(0.2)}
    assert engine.state.tat - start == pytest.approx(0.4)


async def test_slots_given_back_out_of_order_go_back_once_the_last_is_given_back() -> None:
    """Slots at 0.1, 0.2 and 0.3 (10/s): 0.2 is given back first (a hole: 0.3 is still booked), then 0.3, which
    takes the hole back with it, then 0.1. The schedule ends at 0.1 again, whatever the order."""
    state = RateState()
    now = 1.0
    assert [await state.reserve(now, 0.1) for _ in range(4)] == [
        0.0,
        pytest.approx(0.1),
        pytest.approx(0.2),
        pytest.approx(0.3),
    ]
    state.unreserve(0.1, now + 0.2)
    assert state.tat == pytest.approx(now + 0.4)
    state.unreserve(0.1, now + 0.3)
    assert state.tat == pytest.approx(now + 0.2)
    state.unreserve(0.1, now + 0.1)
    assert state.tat == pytest.approx(now + 0.1)
    assert await state.reserve(now, 0.1) == pytest.approx(0.1)


async def test_a_hole_goes_back_only_when_it_ends_exactly_where_the_schedule_does() -> None:
    """Slots at 0 and 10 (0.1/s), then the rate jumps (a server's advertised rate) and C is booked at 20 for 0.2 s.
    Giving back the slot at 10 leaves the schedule at 20.2: C still holds 20 (a tolerance of half the hole's
    length, 5 s, took the schedule back to 10.2 and put a later send on C's slot)."""
    state = RateState()
    assert [await state.reserve(0.0, 10.0) for _ in range(2)] == [0.0, 10.0]
    assert await state.reserve(0.0, 0.2) == 20.0
    state.unreserve(10.0, 10.0)
    assert state.tat == 20.2


async def test_a_rate_cut_forgets_the_holes_of_the_old_schedule() -> None:
    """Slots at 0, 0.1 and 0.2 (10/s); 0.1 is given back (a hole). A cut at 0.05 rebooks the next slot at 0.2
    (1 / 0.15 s): a send booked there and given back takes the schedule back to 0.2, not on to the old hole's 0.1."""
    state = RateState()
    for _ in range(3):
        await state.reserve(0.0, 0.1)
    state.unreserve(0.1, 0.1)
    state.rebook(0.05, 0.15)
    assert await state.reserve(0.05, 0.15) == pytest.approx(0.15)
    state.unreserve(0.15, 0.2)
    assert state.tat == pytest.approx(0.2)
    assert await state.reserve(0.05, 0.15) == pytest.approx(0.15)


async def test_a_dropped_schedule_forgets_its_holes() -> None:
    """A store set aside drops the schedule: a hole left at 4 must not match the new one's end at 5."""
    state = RateState()
    for _ in range(6):
        await state.reserve(0.0, 1.0)
    state.unreserve(1.0, 4.0)
    state.drop_schedule()
    assert state.tat == 0.0
    assert [await state.reserve(1.0, 1.0) for _ in range(4)] == [0.0, 1.0, 2.0, 3.0]  # slots 1, 2, 3, 4
    state.unreserve(1.0, 2.0)
    assert state.tat == 5.0


async def test_a_send_its_slot_finds_free_does_not_grow_the_rate() -> None:
    """Growth is for a pacer holding sends back: a send whose slot is now (the schedule is behind) leaves it."""
    engine = RateLimitEngine(64)
    engine.estimator.adopt(10.0, trio.current_time())
    engine.state.set_rate(10.0)
    await trio.sleep(0.5)
    engine.leave(await engine.enter(None))
    assert engine.state.rate == 10.0  # (growing, 0.5 s past the peak, would make it 10 x (1 + 0.03 x 0.5 x 0.5))


async def test_a_send_waiting_its_slot_when_the_rate_is_cut_goes_one_new_interval_after_the_cut() -> None:
    """At 10/s a send is booked at 0.1; a probe's 429 at 0.05 cuts the rate to 9/s: it goes at 0.05 + 1/9."""
    engine = RateLimitEngine(64, rng=Edge(high=False))
    start = trio.current_time()
    engine.estimator.adopt(10.0, start)
    engine.state.set_rate(10.0)
    engine.leave(await engine.enter(None))
    sent: dict[str, float] = {}
    async with trio.open_nursery() as nursery:
        nursery.start_soon(timed_send(engine, start, sent), "paced")
        await trio.sleep(0.05)
        engine.on_rate_limited(None, None)
        assert engine.state.rate == pytest.approx(9.0)
    assert sent == {"paced": pytest.approx(0.05 + 1 / 9)}


async def test_a_rate_cut_rebooks_the_schedule_one_new_interval_ahead() -> None:
    engine = RateLimitEngine(64)
    now = trio.current_time()
    engine.estimator.adopt(100.0, now)
    engine.state.set_rate(100.0)
    for _ in range(10):
        await engine.state.reserve(now, 0.01)
    assert engine.state.tat == pytest.approx(now + 0.1)
    engine.estimator.successes = 50
    engine.on_rate_limited(None, None)  # a probe at 100/s: back off to 90/s
    assert engine.state.rate == pytest.approx(90.0)
    assert engine.state.tat == pytest.approx(now + 1 / 90)


async def test_a_queue_counts_the_tasks_waiting_for_a_slot_too() -> None:
    engine = RateLimitEngine(64)
    engine.limiter.in_flight = 64
    engine.limiter._waiters.extend(anyio.Event() for _ in range(136))  # 200 queued: 2 s at 100/s, long
    assert not engine._draining(100.0) and engine._long_queue
    engine.limiter._waiters.clear()
    engine.limiter.in_flight = 99
    assert engine._draining(100.0)


async def test_stats_round_the_cooldown_to_microseconds_and_the_rate_to_thousandths() -> None:
    engine = RateLimitEngine(64)
    engine.gate.close_for(1 / 3)
    engine.state.set_rate(1 / 3)
    stats = engine.stats(retries=0, budget_left=100.0)
    assert (stats.cooldown_seconds, stats.pacing_rate) == (0.333333, 0.333)


# --- the limiter and the estimator ------------------------------------------------------------------------------


async def test_the_limit_grows_only_while_nearly_used_by_half_a_slot_per_success_in_slow_start_then_one_per_limit() -> (
    None
):
    limiter = AdaptiveLimiter(10)
    limiter.in_flight = 2  # two under the limit of 4: not used enough to grow
    limiter.increase()
    assert limiter.limit == 4.0
    limiter.in_flight = 3
    limiter.increase()
    assert limiter.limit == 4.5
    limiter.in_flight = 2
    limiter._waiters.extend(anyio.Event() for _ in range(2))  # tasks waiting for a slot count as using it
    limiter.increase()
    assert limiter.limit == 5.0
    limiter._waiters.clear()
    limiter.decrease()
    assert limiter.limit == pytest.approx(3.5) and not limiter.slow_start
    limiter.in_flight = 2
    limiter.increase()
    assert limiter.limit == pytest.approx(3.5 + 1 / 3.5)


async def test_the_first_guess_counts_from_the_first_success() -> None:
    engine = RateLimitEngine(64)
    for _ in range(20):
        engine.on_success()
        await trio.sleep(0.05)
    engine.on_rate_limited(None, None)  # 20 successes in the second since the first
    assert engine.state.rate == pytest.approx(20.0)


def test_ramping_up_bisects_from_what_got_through_when_that_is_more_than_the_last_rate() -> None:
    """20/s passed at first; at 60/s tried, 40 got through in the second since: between 40 and 60."""
    estimator = RateEstimator()
    estimator.on_success(0.0)
    successes(estimator, 0.0, 1.0, 19)
    estimator.on_rate_limited(1.0)
    estimator.rate = 60.0
    estimator.successes += 40
    assert estimator.on_rate_limited(2.0) == pytest.approx(math.sqrt(40 * 60))


def test_a_chain_measures_from_its_oldest_429_after_the_start_up() -> None:
    """The start-up's 429 (the first guess) is not a reference while a later one of the chain is: 20/s guessed at
    1 s, 80/s measured over the next eighth of a second, then 6 in an eighth: 48/s, not 16 in a quarter."""
    estimator = RateEstimator()
    estimator.on_success(0.0)
    successes(estimator, 0.0, 1.0, 19)
    estimator.on_rate_limited(1.0)
    estimator.successes += 10
    assert estimator.on_rate_limited(1.125) == pytest.approx(80.0)
    estimator.successes += 6
    assert estimator.on_rate_limited(1.25) == pytest.approx(48.0)


def test_the_first_measurement_lowers_the_rate_but_the_peak_stays_the_rate_tried() -> None:
    """After a start-up burst a sliding log (10 per 0.1 s) lets nothing through for a window, then only what an even
    pacer at the guessed 100/s sends: the chain's span measures 12 in 0.22 s. The rate drops to that 54.5/s, the peak
    stays at 100/s, and CUBIC climbs back to it in K = 1.315 s (as the peak, 54.5/s took 6 s of probing to leave)."""
    estimator = RateEstimator()
    estimator.on_success(0.0)
    successes(estimator, 0.0, 0.1, 9)
    assert estimator.on_rate_limited(0.1) == pytest.approx(100.0)  # the first guess
    successes(estimator, 0.1, 0.32, 12)
    assert estimator.on_rate_limited(0.32) == pytest.approx(12 / 0.22)
    assert estimator.measured
    assert estimator.peak == pytest.approx(100.0)
    k = ((1 - 0.12 / 0.22) / RateEstimator.CUBIC) ** (1 / 3)
    assert k == pytest.approx(1.315, abs=1e-3)
    assert estimator.grow(0.32 + k / 2) == pytest.approx(100.0 * (1 - RateEstimator.CUBIC * (k / 2) ** 3))
    assert estimator.grow(0.32 + k) == pytest.approx(100.0)


def test_a_first_measurement_above_the_rate_tried_is_the_peak() -> None:
    """A first guess of 10/s (one success in the first 0.1 s), then 30 successes in the 0.15 s to the next 429: the
    server lets 200/s through, more than the rate tried, so that is the rate and the peak."""
    estimator = RateEstimator()
    estimator.on_success(0.0)
    assert estimator.on_rate_limited(0.05) == pytest.approx(10.0)
    successes(estimator, 0.05, 0.2, 30)
    assert estimator.on_rate_limited(0.2) == pytest.approx(200.0)
    assert estimator.peak == pytest.approx(200.0)


def test_a_chain_measuring_above_its_floor_sets_the_peak_to_what_it_measured() -> None:
    estimator = measured_at(100.0)
    estimator.successes = 58
    assert estimator.on_rate_limited(0.7) == pytest.approx(80.0)  # 48 since the settled 429 at 0.1 s
    assert estimator.peak == pytest.approx(80.0)


def test_a_chain_measuring_under_its_floor_keeps_the_peak_under_the_rate_tried() -> None:
    """Probing past the peak (100/s) at 200/s, a chain measures 63/s, under half the 200: the peak stays 100."""
    estimator = measured_at(100.0)
    estimator.rate = 200.0
    estimator.successes = 51
    assert estimator.on_rate_limited(0.75) == pytest.approx(100.0)
    assert estimator.peak == pytest.approx(100.0)


@pytest.mark.parametrize(("at", "paced"), [(6.0, 90.0), (5.5, 81.0)])
def test_429s_more_than_five_seconds_back_are_forgotten(at: float, paced: float) -> None:
    """At 100/s measured by 429s up to 0.5 s, a probe 5.5 s later finds none of them: it meets the top at the 100/s
    tried (paced at 90); exactly 5 s later the last one is kept, and the 50/s that got through since lowers the
    peak to 90 (paced at 81)."""
    estimator = measured_at(100.0)
    estimator.successes = 50 + round(50 * (at - 0.5))
    assert estimator.on_rate_limited(at) == pytest.approx(paced)


@pytest.mark.parametrize(("count", "paced"), [(2, 90.0), (5, 81.0)])
def test_a_probe_counts_what_got_through_since_the_last_429_from_five_successes(count: int, paced: float) -> None:
    """Half a second after the last 429 (at 100/s): 2 successes since teach nothing (the peak is the 100/s tried,
    paced at 90); 5 (10/s) are a measurement, and the peak comes down to its floor, 0.9 x 100 (paced at 81)."""
    estimator = measured_at(100.0)
    estimator.successes = 50 + count
    assert estimator.on_rate_limited(1.0) == pytest.approx(paced)


@pytest.mark.parametrize(
    ("tried", "paced", "peak"),
    [
        (98.0, 0.95 * 98.0, (98.0 + 0.95 * 98.0) / 2),  # under 0.99 x the peak: 5 % under the rate tried
        (98.9, 0.95 * 98.9, (98.9 + 0.95 * 98.9) / 2),
        (99.0, 0.81 * 99.0, (0.9 * 99.0 + 0.81 * 99.0) / 2),  # not under: the span lowers the peak to its floor
    ],
)
def test_a_probe_under_the_peak_backs_off_five_percent_from_the_rate_tried_and_ignores_the_span(
    tried: float, paced: float, peak: float
) -> None:
    """Peak 100/s; half a second on, 5 successes (10/s) came since the last 429. A 429 at 98/s (under 0.99 x the
    peak) backs off to 0.95 x 98, the 10/s unused. At 99/s it is a probe that met the top: the 10/s lowers the
    peak to its floor, 0.9 x 99, paced at 0.9 x that. Either way the new peak is under the last, so it comes
    down halfway to the new rate (fast convergence)."""
    estimator = measured_at(100.0)
    estimator.rate = tried
    estimator.successes = 55
    assert estimator.on_rate_limited(1.0) == pytest.approx(paced)
    assert estimator.peak == pytest.approx(peak)


class SlowBooking(Deferred):
    """A shared store whose schedule hands out a slot ``delay`` ahead only after ``wait`` seconds (the booking
    queue of a process that holds its share of slots already)."""

    def __init__(self, wait: float, delay: float) -> None:
        super().__init__()
        self.wait, self.delay = wait, delay
        self.asked: list[tuple[float, float]] = []

    async def reserve(self, now: float, interval: float) -> float:
        self.asked.append((now, interval))
        await trio.sleep(self.wait)
        return self.wait + self.delay  # counted from ``now``, as RateState.reserve's delay is


async def test_a_booking_that_waits_past_the_deadline_fails_at_the_deadline() -> None:
    """A send's booking that waits its turn past its deadline fails then (timed from when the booking was
    asked, it was sent after its deadline); the clock is far from 0, and less than a second is left."""
    await trio.sleep(100.0)
    engine = RateLimitEngine(64, rng=Edge(high=False), state=SlowBooking(wait=2.0, delay=0.1))
    engine.state.set_rate(10.0)
    start = trio.current_time()
    with pytest.raises(TimeoutError, match=r"^the per-call timeout would pass while pacing sends after rate limiting$"):
        await engine.enter(start + 0.5)
    assert trio.current_time() - start == pytest.approx(0.5)


async def test_a_slot_booked_after_the_wait_still_counts_the_deadline_from_the_answer() -> None:
    state = SlowBooking(wait=1.0, delay=0.6)
    engine = RateLimitEngine(64, rng=Edge(high=False), state=state)
    engine.state.set_rate(10.0)
    start = trio.current_time()
    with pytest.raises(TimeoutError, match=r"^the per-call timeout would pass while pacing sends after rate limiting$"):
        await engine.enter(start + 1.5)  # booked at 1.0 for 1.6: past it
    assert trio.current_time() - start == pytest.approx(1.0)
    assert state.asked == [(pytest.approx(start), pytest.approx(0.1))]  # asked at once, for 1 / 10 s


def test_the_first_guess_counts_from_the_first_success_of_any_process() -> None:
    """A shared store says another process's first success came at 1.0: 10 successes by the 429 at 2.0 are 10/s,
    not 10 in the 0.1 s since this process's own first success (100/s). A later first success changes nothing."""
    engine = RateLimitEngine(64)
    engine.estimator.on_success(1.9)
    engine.learn("start", 1.0, 0.0)
    engine.learn("start", 1.5, 0.0)
    engine.learn("429", 2.0, 10.0)
    assert engine.state.rate == pytest.approx(10.0)


def test_a_process_with_no_success_yet_takes_the_first_success_reported() -> None:
    estimator = RateEstimator()
    estimator.started(1.0)
    estimator.successes = 5
    assert estimator.on_rate_limited(1.5) == pytest.approx(10.0)


def test_the_rate_the_next_429_met_is_adopted_once_the_rate_is_known() -> None:
    """Every process's rate grows on its own between events; each cuts from the rate that met the 429 (``tried``)."""
    engine = RateLimitEngine(64)
    engine.learn("tried", 1.0, 80.0)
    assert engine.state.rate is None and engine.estimator.rate is None  # nothing to correct yet
    engine.estimator.adopt(100.0, 1.0)
    engine.state.set_rate(100.0)
    engine.learn("tried", 2.0, 80.0)
    assert engine.state.rate == 80.0 and engine.estimator.rate == 80.0


def test_the_stated_rate_forgets_a_hint_once_32_newer_ones_came() -> None:
    """The hints kept are the last 32 of the last HINTS_KEPT seconds: a long hint is forgotten after 32 newer ones,
    even within those seconds (far from the clock's zero, so the seconds kept are told from the hints' lengths)."""
    estimator = RateEstimator()
    estimator.heard(1000.0, 0.1)
    for i in range(31):
        estimator.heard(1000.0 + i * 0.01, 0.01)
    assert estimator.stated_rate(1000.5) == pytest.approx(10.0)  # 32 kept, the 0.1 s hint among them
    estimator.heard(1000.4, 0.01)
    assert estimator.stated_rate(1000.5) == pytest.approx(100.0)


async def test_a_429_that_leaves_the_rate_as_it_was_keeps_the_booked_slots() -> None:
    """A blip's second 429 (nothing got through since the first) teaches nothing: the rate stays, and so do the
    slots booked ahead at it (only a cut drops them, and counts as one)."""
    engine = RateLimitEngine(64)
    engine.learn("adopt", 1.0, 10.0)
    engine.learn("429", 2.0, 0.0)  # a probe: 10 -> 9, a cut
    cuts = engine._cuts
    engine.state.tat = trio.current_time() + 5.0
    engine.learn("429", 2.05, 0.0)
    assert engine.state.rate == pytest.approx(9.0)
    assert engine.state.tat == trio.current_time() + 5.0 and engine._cuts == cuts


def test_under_one_request_a_second_growth_past_the_peak_is_a_share_of_the_rate_itself() -> None:
    """Past the peak the step is GROWTH x seconds x the rate (or the stated rate, if higher): at 0.5/s and 1 s past
    it, 0.5 + 0.5 x 0.03, not a share of 1/s."""
    estimator = RateEstimator()
    estimator.adopt(0.5, 0.0)
    assert estimator.grow(1.0) == pytest.approx(0.515)


async def test_a_send_woken_late_again_after_booking_again_goes_then(
    clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every sleeper wakes a second late (a stalled loop) while other sends keep booking ahead: the send books again
    once, then goes when it next wakes, however late. Booking again each time, it would never go."""
    clock.now = 100.0
    engine = RateLimitEngine(64)
    engine.state.set_rate(10.0)
    engine.state.tat = 100.5
    sleeps: list[float] = []

    async def late(seconds: float) -> None:
        sleeps.append(seconds)
        if len(sleeps) > 5:
            raise RuntimeError("booked again and again")
        clock.now += seconds + 1.0
        engine.state.tat = clock.now + 0.5  # others booked meanwhile

    monkeypatch.setattr(_ratelimit.anyio, "sleep", late)
    await engine.enter(None)
    assert sleeps == [pytest.approx(0.5), pytest.approx(0.5)] and clock.now == pytest.approx(103.0)


class FourProcesses(RateState):
    @property
    def sharers(self) -> int:
        return 4


def test_with_four_processes_on_the_schedule_a_queue_counts_four_times() -> None:
    """The rate is every process's, so the queue it drains is about four times this one's: 5 here are 20, 2 s of
    sends at 10/s (a long queue); 2 here are 8, its last second (draining)."""
    engine = RateLimitEngine(64, state=FourProcesses())
    engine.limiter.in_flight = 5
    assert engine._draining(10.0) is False
    engine.limiter.in_flight = 2
    assert engine._draining(10.0) is True
