"""What any client can get through a rate-limited server on this machine: raw aiohttp at a fixed pace.

    python benchmarks/paced_ceiling.py --rate 500 --burst 1 [--fractions 0.5,0.6,0.7,0.8,0.9,1.0] [--seconds 4]

The rate-limit matrix (``benchmarks/ratelimit.py``) divides by the server's own best schedule, (N - burst) / R.
With a burst of 1 no client reaches it here: the server stamps each request when its event loop gets to it,
and asyncio's timers wake up to a millisecond late, so two requests sent 1/R apart can be stamped closer than
that and the second is refused. This measures how much: against the independent server
(``benchmarks/ratelimited_server.py``, token bucket), raw aiohttp sends at a fixed rate on an exact schedule
(what a late wake-up finds due goes at once, as in the SDK's pacer; at most 64 in flight, far more than a
1-2 ms round trip needs at these rates, so no send waits for a slot), no retries, and reports
what got through and the share refused at each rate. The ceiling is the most that got through with at most
3 % refused, the matrix's own bound on 429s.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _common import CLIENT_CPU, pin
from ratelimit import Cell, start_server, stop

MAX_REFUSED = 0.03


async def one_rate(base_url: str, token: str, rate: float, seconds: float, tag: str) -> tuple[float, float]:
    """Send ``rate`` per second for ``seconds``; return (successes per second, share refused)."""
    import aiohttp

    loop = asyncio.get_running_loop()
    counts = {"ok": 0, "refused": 0}
    in_flight = asyncio.Semaphore(64)
    headers = {"Authorization": f"Bearer {token}"}
    url = base_url.rstrip("/") + "/api/management/datasets"
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=100)) as session:

        async def create(i: int) -> None:
            async with in_flight, session.post(url, json={"name": f"{tag}-{i}"}, headers=headers) as resp:
                await resp.read()
                counts["refused" if resp.status == 429 else "ok"] += 1

        tasks = []
        start = due = loop.time()
        for i in range(round(rate * seconds)):
            delay = due - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.ensure_future(create(i)))
            due += 1.0 / rate  # an exact schedule: a late wake-up sends what is due (asyncio's timers are ms-coarse)
        await asyncio.gather(*tasks)
        elapsed = loop.time() - start
    sent = counts["ok"] + counts["refused"]
    return counts["ok"] / elapsed, counts["refused"] / sent


async def sweep(base_url: str, token: str, rate: float, fractions: list[float], seconds: float, limiter: str) -> None:
    best = 0.0
    print(f"server: {limiter} R = {rate:g}/s, burst as given; raw aiohttp paced, 64 in flight")
    print("  pace/s   through/s   refused")
    for k, fraction in enumerate(fractions):
        through, refused = await one_rate(base_url, token, fraction * rate, seconds, f"p{k}")
        print(f"  {fraction * rate:6.0f}   {through:9.1f}   {refused:6.1%}")
        if refused <= MAX_REFUSED:
            best = max(best, through)
        await asyncio.sleep(1.0)  # the bucket refills between rates
    print(f"ceiling (at most {MAX_REFUSED:.0%} refused): {best:.0f}/s = {best / rate:.2f} R")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=500.0)
    parser.add_argument("--burst", type=int, default=1)
    parser.add_argument("--fractions", default="0.5,0.6,0.7,0.8,0.9,1.0")
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument(
        "--limiter",
        default="independent",
        choices=("independent", "token-bucket", "gcra", "fixed-window", "sliding-log"),
        help="the independent server's token bucket (default), or one of the emulator's limiters",
    )
    args = parser.parse_args()
    pin(CLIENT_CPU)
    if args.limiter == "independent":
        cell = Cell("ceiling", "independent", "token-bucket", "seconds", args.rate, args.burst)
    else:
        cell = Cell("ceiling", "emulator", args.limiter, "seconds", args.rate, args.burst)
    fractions = [float(x) for x in args.fractions.split(",")]
    with tempfile.TemporaryDirectory(prefix="dify-bench-ceiling-") as tmp:
        proc, base_url, token, _ = start_server(cell, tmp)
        try:
            asyncio.run(sweep(base_url, token, args.rate, fractions, args.seconds, args.limiter))
        finally:
            stop(proc)


if __name__ == "__main__":
    main()
