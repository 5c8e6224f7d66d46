"""The rate-limit engine against each of the emulator's limiters over real loopback HTTP, at a small N.

The virtual-time versions (exact elapsed times, retries never before their hint) are in
tests/test_ratelimit_engine.py; the full matrix is ``benchmarks/ratelimit.py``.
"""

from __future__ import annotations

import time

import anyio
import pytest

from dify_mgmt_async import DifyManagementClient, Stats
from dify_mgmt_async.emulator import EmulatorServer

# The default transport (asyncio); the engine itself runs on both (see the virtual-time tests).
pytestmark = [pytest.mark.anyio, pytest.mark.asyncio_only]


RATE, BURST, N = 50.0, 5, 80


async def _run(server: EmulatorServer) -> tuple[float, Stats]:
    async with DifyManagementClient(server.base_url, server.token, max_concurrency=64) as dify:

        async def create(name: str) -> None:
            await dify.datasets.create(name=name)

        start = time.monotonic()
        async with anyio.create_task_group() as tg:
            for i in range(N):
                tg.start_soon(create, f"kb-{i}")
        return time.monotonic() - start, dify.stats


@pytest.mark.parametrize(
    ("limiter", "hint"),
    [("token-bucket", "seconds"), ("gcra", "ms"), ("fixed-window", "http-date"), ("sliding-log", "none")],
)
async def test_every_limiter_kind_is_met_at_its_rate(limiter: str, hint: str) -> None:
    with EmulatorServer(rate=RATE, burst=BURST, limiter=limiter, retry_after=hint, indexing_seconds=0.2) as server:
        elapsed, stats = await _run(server)
        seen = server.stats()
    assert seen["creates"]["datasets"] == N  # each once: a 429'd create is re-sent, never duplicated
    assert seen["requests"]["create_dataset"] == N + seen["rate_limited"]
    assert stats.rate_limited == seen["rate_limited"] > 0
    assert stats.pacing_rate is not None
    ideal = (N - BURST) / RATE
    assert ideal <= elapsed <= 3 * ideal + 2.0  # generous: a loaded CI machine; the bench measures closely
    assert seen["rate_limited"] <= 0.3 * N


async def test_advertised_ietf_fields_pace_the_client_before_its_429s() -> None:
    """A server stating its policy (``RateLimit-Policy: q=50;w=1``) is paced at 50/s from its first answers:
    0-2 429s in runs of this test (the slow start's first few sends), against 8-12 learning from 429s alone."""
    with EmulatorServer(rate=RATE, burst=BURST, retry_after="seconds", rate_limit_headers="ietf") as server:
        elapsed, stats = await _run(server)
        seen = server.stats()
    assert seen["creates"]["datasets"] == N
    assert seen["rate_limited"] <= 3
    assert stats.pacing_rate is not None and 0.9 * RATE <= stats.pacing_rate <= 1.1 * RATE
    assert elapsed <= 2 * (N - BURST) / RATE + 1.0  # 1.01-1.10x in runs of this test; generous for a loaded CI


async def test_x_ratelimit_fields_with_a_whole_second_reset_do_not_hold_the_client_to_what_is_left() -> None:
    """``X-RateLimit-Remaining: 4`` with ``X-RateLimit-Reset: 1`` (0.1 s rounded up) once paced the client at 4/s,
    20 s for this run: a whole second says too little, so the engine learns from 429s as with no fields."""
    with EmulatorServer(rate=RATE, burst=BURST, retry_after="seconds", rate_limit_headers="x") as server:
        elapsed, stats = await _run(server)
        seen = server.stats()
    assert seen["creates"]["datasets"] == N
    assert stats.pacing_rate is not None and stats.pacing_rate >= 0.5 * RATE
    assert elapsed <= 3 * (N - BURST) / RATE + 2.0
