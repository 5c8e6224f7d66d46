"""List calls: client CPU per call and calls/s for raw aiohttp, raw httpx, the plain generated client and the SDK.

    python benchmarks/list_calls.py [--calls 5000] [--concurrency 1 16 64 256] [--clients ...] [--url URL]

Each (client, concurrency) runs in its own process pinned to CPU 0, against the fast server on CPU 1
(started here unless ``--url`` is given). Client CPU is ``time.process_time()`` in that process only.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _common import CLIENT_CPU, PY, BenchError, FastServer, emit, install_signal_handlers, pin, run_worker

CLIENTS = ("aiohttp", "httpx", "generated", "sdk")
LABELS = {
    "aiohttp": "raw aiohttp + json.loads",
    "httpx": "raw httpx (default transport) + json.loads",
    "generated": "plain generated client (default httpx transport)",
    "sdk": "SDK (DifyManagementClient)",
}
CONCURRENCY = (1, 16, 64, 256)
WARMUP = 200
REPEATS = 3
REPEATED = ("aiohttp", "sdk")  # the two clients of the SDK/aiohttp ratio
TOKEN = "bench-token"
PATH = "/api/management/apps"


def _check_page(data: Any) -> None:
    if len(data["data"]) != 20:
        raise BenchError(f"unexpected page: {str(data)[:200]}")


async def _setup(client: str, url: str, concurrency: int) -> tuple[Callable[[], Awaitable[Any]], Callable[[], Any]]:
    """(one call, close) for the client."""
    headers = {"Authorization": f"Bearer {TOKEN}"}
    if client == "aiohttp":
        import aiohttp

        session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=max(100, concurrency)), headers=headers)
        full = url + PATH

        async def call_aiohttp() -> Any:
            async with session.get(full, params={"limit": "20"}) as resp:
                body = await resp.read()
                if resp.status != 200:
                    raise BenchError(f"HTTP {resp.status}")
                return json.loads(body)

        return call_aiohttp, session.close
    if client == "httpx":
        import httpx

        hx = httpx.AsyncClient(
            base_url=url,
            headers=headers,
            timeout=60.0,
            limits=httpx.Limits(max_connections=max(100, concurrency), max_keepalive_connections=max(20, concurrency)),
        )

        async def call_httpx() -> Any:
            resp = await hx.get(PATH, params={"limit": 20})
            if resp.status_code != 200:
                raise BenchError(f"HTTP {resp.status_code}")
            return json.loads(resp.content)

        return call_httpx, hx.aclose
    if client == "generated":
        import httpx

        from dify_mgmt_async._generated.api.apps import list_apps
        from dify_mgmt_async._generated.client import AuthenticatedClient
        from dify_mgmt_async._generated.models import AppPage

        gen = AuthenticatedClient(base_url=url, token=TOKEN, timeout=httpx.Timeout(60.0))

        async def call_generated() -> Any:
            page = await list_apps.asyncio(client=gen, limit=20)
            if not isinstance(page, AppPage):
                raise BenchError(f"unexpected answer: {page!r}")
            return page

        return call_generated, gen.get_async_httpx_client().aclose
    if client == "sdk":
        from dify_mgmt_async import DifyManagementClient

        dify = DifyManagementClient(url, TOKEN, max_concurrency=max(64, concurrency))

        async def call_sdk() -> Any:
            return await dify.apps.list(limit=20)

        return call_sdk, dify.aclose
    raise BenchError(f"unknown client {client!r}")


async def _drive(call: Callable[[], Awaitable[Any]], n: int, concurrency: int) -> None:
    left = n

    async def worker() -> None:
        nonlocal left
        while left > 0:
            left -= 1
            await call()

    await asyncio.gather(*(worker() for _ in range(min(concurrency, n))))


async def measure(client: str, url: str, n: int, concurrency: int, warmup: int) -> dict[str, Any]:
    call, close = await _setup(client, url, concurrency)
    try:
        first = await call()
        if client in ("aiohttp", "httpx"):
            _check_page(first)
        elif len(first.data) != 20:
            raise BenchError(f"unexpected page: {first!r}")
        await _drive(call, max(warmup, concurrency), concurrency)
        gc.collect()
        cpu0, wall0 = time.process_time(), time.perf_counter()
        await _drive(call, n, concurrency)
        cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    finally:
        result = close()
        if asyncio.iscoroutine(result):
            await result
    return {
        "client": client,
        "concurrency": concurrency,
        "calls": n,
        "cpu_s": cpu,
        "wall_s": wall,
        "cpu_us_per_call": cpu / n * 1e6,
        "calls_per_s": n / wall,
    }


def worker_main(args: argparse.Namespace) -> None:
    pinned = pin(CLIENT_CPU)
    result = asyncio.run(measure(args.client, args.url, args.calls, args.concurrency[0], args.warmup))
    result["pinned"] = pinned
    emit(result)


def run(
    url: str,
    calls: int,
    concurrency: Sequence[int] = CONCURRENCY,
    clients: Sequence[str] = CLIENTS,
    warmup: int = WARMUP,
    repeats: int = REPEATS,
    timeout: float = 240.0,
    log: Callable[[str], object] = print,
) -> list[dict[str, Any]]:
    """Every (client, concurrency) in its own worker process; the results.

    The clients of the SDK/aiohttp ratio (``REPEATED``) run ``repeats`` rounds, interleaved so drift
    hits both alike; a cell's result is its run with the median CPU per call.
    """
    runs: dict[tuple[str, int], list[dict[str, Any]]] = {}
    for round_ in range(max(1, repeats)):
        for client in clients:
            if round_ and client not in REPEATED:
                continue
            for c in concurrency:
                cmd = [PY, os.path.abspath(__file__), "--worker", "--client", client, "--url", url]
                cmd += ["--calls", str(calls), "--warmup", str(warmup), "--concurrency", str(c)]
                r = run_worker(cmd, f"list calls, {client} at {c} in flight", timeout)
                log(
                    f"  {client:<10} c={c:<4} {r['cpu_us_per_call']:8.0f} µs CPU/call  "
                    f"{r['calls_per_s']:8.0f} calls/s  ({r['wall_s']:.1f} s)"
                )
                runs.setdefault((client, c), []).append(r)
    results = []
    for cell in runs.values():
        ordered = sorted(cell, key=lambda r: r["cpu_us_per_call"])
        best = dict(ordered[(len(ordered) - 1) // 2])
        best["runs_cpu_us_per_call"] = [r["cpu_us_per_call"] for r in cell]
        results.append(best)
    return results


def table(results: list[dict[str, Any]]) -> str:
    """Markdown: rows client, columns concurrency, CPU µs/call and calls/s; plus the SDK/aiohttp ratio row."""
    by = {(r["client"], r["concurrency"]): r for r in results}
    levels = sorted({r["concurrency"] for r in results})
    clients = [c for c in CLIENTS if any(k[0] == c for k in by)]
    head = "| client | " + " | ".join(f"CPU µs/call @{c}" for c in levels) + " | "
    head += " | ".join(f"calls/s @{c}" for c in levels) + " |"
    lines = [head, "|---" + "|---:" * (2 * len(levels)) + "|"]
    for client in clients:
        cpu = [f"{by[client, c]['cpu_us_per_call']:,.0f}" if (client, c) in by else "–" for c in levels]
        rate = [f"{by[client, c]['calls_per_s']:,.0f}" if (client, c) in by else "–" for c in levels]
        lines.append(f"| {LABELS[client]} | " + " | ".join(cpu + rate) + " |")
    ratios = []
    for c in levels:
        if ("sdk", c) in by and ("aiohttp", c) in by:
            ratios.append(f"**{by['sdk', c]['cpu_us_per_call'] / by['aiohttp', c]['cpu_us_per_call']:.2f}×**")
        else:
            ratios.append("–")
    lines.append("| SDK / raw aiohttp (CPU) | " + " | ".join(ratios + [""] * len(levels)) + " |")
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--client", choices=CLIENTS, help=argparse.SUPPRESS)
    p.add_argument("--clients", nargs="+", choices=CLIENTS, default=list(CLIENTS))
    p.add_argument("--url", default=None, help="a running fast server (default: start one)")
    p.add_argument("--calls", type=int, default=5000)
    p.add_argument("--warmup", type=int, default=WARMUP)
    p.add_argument("--repeats", type=int, default=REPEATS, help=f"rounds of {' and '.join(REPEATED)} (median)")
    p.add_argument("--concurrency", type=int, nargs="+", default=list(CONCURRENCY))
    args = p.parse_args()
    if args.worker:
        worker_main(args)
        return
    install_signal_handlers()
    if args.url:
        results = run(args.url, args.calls, args.concurrency, args.clients, args.warmup, args.repeats)
    else:
        with FastServer() as server:
            results = run(server.url, args.calls, args.concurrency, args.clients, args.warmup, args.repeats)
    print(table(results))


if __name__ == "__main__":
    main()
