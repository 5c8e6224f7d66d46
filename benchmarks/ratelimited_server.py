"""An independent rate-limited server for the benchmarks: aiohttp.web, sharing no code with the emulator.

    python benchmarks/ratelimited_server.py --rate 100 --burst 10 --retry-after seconds --port-file /tmp/p

Only ``POST /api/management/datasets`` (name unique, else 409) and ``GET /_stats``. The limiter is a leaky
bucket used as a meter: its level drains at the current rate and a request is let through when the level
plus one fits in ``burst``. The rate can follow a schedule (``--schedule 0:200,4:50``: seconds since the
first request, rate), and ``--blip START:SECONDS`` answers 429 to everything for SECONDS from START, with
``Retry-After`` rounded up from the time left (``--blip-hint`` overrides it). ``/_stats`` returns counters
and the time of every answer, for the dynamic cases' metrics.
"""

from __future__ import annotations

import argparse
import asyncio
import email.utils
import math
import os
import sys
import time
import uuid
from pathlib import Path

from aiohttp import web

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _common import SERVER_CPU, pin


class Meter:
    """Leaky bucket as a meter; ``admit`` returns None, or the exact seconds until a request would fit."""

    def __init__(self, burst: int) -> None:
        self.burst = burst
        self.level = 0.0
        self.stamp = time.monotonic()

    def admit(self, now: float, rate: float) -> float | None:
        self.level = max(0.0, self.level - (now - self.stamp) * rate)
        self.stamp = now
        if self.level + 1.0 <= self.burst + 1e-9:
            self.level += 1.0
            return None
        return (self.level + 1.0 - self.burst) / rate


class State:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.meter = Meter(args.burst)
        self.schedule = sorted(
            (float(t), float(r)) for t, r in (part.split(":") for part in args.schedule.split(",") if part)
        ) or [(0.0, args.rate)]
        blip = [float(x) for x in args.blip.split(":")] if args.blip else None
        self.blip = (blip[0], blip[0] + blip[1]) if blip else None
        self.start: float | None = None
        self.names: set[str] = set()
        self.accepted: list[float] = []
        self.rejected: list[float] = []
        self.conflicts = 0

    def rate_at(self, t: float) -> float:
        rate = self.schedule[0][1]
        for since, r in self.schedule:
            if t >= since:
                rate = r
        return rate

    def hint(self, wait: float) -> dict[str, str]:
        style = self.args.retry_after
        if style == "ms":
            return {"retry-after-ms": str(max(1, math.ceil(wait * 1000))), "Retry-After": str(math.ceil(wait))}
        if style == "seconds":
            return {"Retry-After": str(max(1, math.ceil(wait)))}
        if style == "http-date":
            return {"Retry-After": email.utils.formatdate(math.ceil(time.time() + wait), usegmt=True)}
        return {}


async def create(request: web.Request) -> web.Response:
    state: State = request.app["state"]
    body = await request.json()
    now = time.monotonic()
    if state.start is None:
        state.start = now
    t = now - state.start
    if state.blip is not None and state.blip[0] <= t < state.blip[1]:
        wait: float | None = state.blip[1] - t
        headers = {"Retry-After": state.args.blip_hint} if state.args.blip_hint else state.hint(wait or 0.0)
    else:
        wait = state.meter.admit(now, state.rate_at(t))
        headers = state.hint(wait) if wait is not None else {}
    if wait is not None:
        state.rejected.append(t)
        return web.json_response({"code": "too_many_requests", "message": "slow down"}, status=429, headers=headers)
    name = body["name"]
    if name in state.names:
        state.conflicts += 1
        return web.json_response({"code": "conflict", "message": "name taken"}, status=409)
    state.names.add(name)
    state.accepted.append(t)
    return web.json_response({"id": str(uuid.uuid4()), "name": name})


async def stats(request: web.Request) -> web.Response:
    state: State = request.app["state"]
    return web.json_response(
        {
            "accepted": state.accepted,
            "rejected": state.rejected,
            "conflicts": state.conflicts,
            "creates": len(state.names),
        }
    )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rate", type=float, default=100.0)
    p.add_argument("--burst", type=int, default=10)
    p.add_argument("--retry-after", choices=("ms", "seconds", "http-date", "none"), default="seconds")
    p.add_argument("--schedule", default="", help="T:RATE,...: the rate from T seconds after the first request")
    p.add_argument("--blip", default="", help="START:SECONDS: 429 to everything in that span")
    p.add_argument("--blip-hint", default="", help="Retry-After value sent during the blip")
    p.add_argument("--port-file", required=True)
    args = p.parse_args()
    pin(SERVER_CPU)
    app = web.Application()
    app["state"] = State(args)
    app.router.add_post("/api/management/datasets", create)
    app.router.add_get("/_stats", stats)

    asyncio.run(serve(app, args.port_file))


async def serve(app: web.Application, port_file: str) -> None:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    port = runner.addresses[0][1]
    Path(port_file + ".tmp").write_text(f"http://127.0.0.1:{port} bench-token -\n")  # noqa: ASYNC240 (once, at start)
    os.replace(port_file + ".tmp", port_file)
    await asyncio.Event().wait()


if __name__ == "__main__":
    main()
