"""Constants of the rate-limit engine (``_ratelimit``), each pinned by the behaviour it stands for.

Virtual time (trio MockClock): the engine reads the loop's clock, so the seconds below are exact.
"""

from __future__ import annotations

import pytest
import trio

from dify_mgmt_async._ratelimit import RateEstimator, RateLimitEngine

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
    paced.append(estimator.on_rate_limited(2.5))  # a probe: 0.9 x 0.9 x 36
    successes(estimator, 2.5, 2.58, 6)
    paced.append(estimator.on_rate_limited(2.58))  # 0.08 s: too short a span to measure
    successes(estimator, 2.58, 2.63, 6)
    paced.append(estimator.on_rate_limited(2.63))  # 12 in the 0.13 s since 2.5 measure 92/s
    assert paced == pytest.approx([21.0, 100 / 3, 40.0, 36.0, 29.16, 29.16, 12 / 0.13], abs=1e-3)


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
        (0.1, 4, 20.0),  # under MIN_SUCCESSES (5): the same
        (0.25, 10, 40.0),  # SATURATED_GAP (0.25 s) apart is still a chain
    ],
)
def test_a_429_soon_after_the_first_measures_from_a_tenth_of_a_second_and_five_successes(
    gap: float, count: int, paced: float
) -> None:
    estimator = RateEstimator()
    estimator.on_success(0.0)
    successes(estimator, 0.0, 1.0, 19)
    assert estimator.on_rate_limited(1.0) == pytest.approx(20.0)
    estimator.successes += count
    assert estimator.on_rate_limited(1.0 + gap) == pytest.approx(paced)


@pytest.mark.parametrize(("at", "paced"), [(0.75, 100.0), (0.76, 0.9 * 25 / 0.26)])
def test_a_429_a_quarter_second_after_the_last_still_chains_a_later_one_is_a_probe(at: float, paced: float) -> None:
    """SATURATED_GAP: 0.25 s after the last 429, the chain measures 100/s since its oldest settled 429; later, it is a
    probe reaching the top: the 96/s that got through since the last 429 is the peak, paced at 0.9 x that."""
    estimator = measured_at(100.0)
    estimator.successes = 75
    assert estimator.on_rate_limited(at) == pytest.approx(paced)
