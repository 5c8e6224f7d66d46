"""The rate-limit engine against each of the emulator's limiters over real loopback HTTP, at a small N.

The virtual-time versions (exact elapsed times, retries never before their hint) are in
tests/test_ratelimit_engine.py; the full matrix is ``benchmarks/ratelimit.py``.
"""

from __future__ import annotations

import time

import anyio
import pytest

from dify_mgmt_async import DifyManagementClient
from dify_mgmt_async.emulator import EmulatorServer

# The default transport (asyncio); the engine itself runs on both (see the virtual-time tests).
pytestmark = [pytest.mark.anyio, pytest.mark.asyncio_only]


RATE, BURST, N = 50.0, 5, 80


@pytest.mark.parametrize(
    ("limiter", "hint"),
    [("token-bucket", "seconds"), ("gcra", "ms"), ("fixed-window", "http-date"), ("sliding-log", "none")],
)
async def test_every_limiter_kind_is_met_at_its_rate(limiter: str, hint: str) -> None:
    with EmulatorServer(rate=RATE, burst=BURST, limiter=limiter, retry_after=hint, indexing_seconds=0.2) as server:
        async with DifyManagementClient(server.base_url, server.token, max_concurrency=64) as dify:

            async def create(name: str) -> None:
                await dify.datasets.create(name=name)

            start = time.monotonic()
            async with anyio.create_task_group() as tg:
                for i in range(N):
                    tg.start_soon(create, f"kb-{i}")
            elapsed = time.monotonic() - start
            stats = dify.stats
        seen = server.stats()
    assert seen["creates"]["datasets"] == N  # each once: a 429'd create is re-sent, never duplicated
    assert seen["requests"]["create_dataset"] == N + seen["rate_limited"]
    assert stats.rate_limited == seen["rate_limited"] > 0
    assert stats.pacing_rate is not None
    ideal = (N - BURST) / RATE
    assert ideal <= elapsed <= 3 * ideal + 2.0  # generous: a loaded CI machine; the bench measures closely
    assert seen["rate_limited"] <= 0.3 * N
