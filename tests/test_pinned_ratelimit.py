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
