"""429 storm: N dataset creates at 256 in flight against the emulator rate-limited to R requests/s.

    python benchmarks/storm.py [--creates 5000] [--rate 200] [--concurrency 256] [--variants sdk naive]

- ``sdk``: ``bulk.map(lambda n: dify.datasets.create(name=n), names, concurrency=256)`` with
  ``DifyManagementClient(url, token, max_concurrency=256)``.
- ``naive``: the plain generated client, ``create_dataset.asyncio_detailed``, 256 tasks at a time
  (``anyio.Semaphore``), each with a naive retry loop: on 429 sleep ``Retry-After`` and retry, up to
  10 tries; any other error gives up.

Each variant runs in its own process pinned to CPU 0 and starts a fresh emulator
(``python -m dify_mgmt_async.emulator --rate R --burst R``) pinned to CPU 1.
Dataset names are unique in the emulator, so a create sent again after it had succeeded cannot make a
second dataset: it comes back as 409 Conflict. Duplicates are therefore counted as 409 answers plus any
name listed more than once afterwards; "created, reported failed" is server creates minus client successes.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _common import (
    CLIENT_CPU,
    PY,
    SERVER_CPU,
    emit,
    install_signal_handlers,
    pin,
    run_worker,
    spawn,
    stop,
    wait_for_file,
)

VARIANTS = ("sdk", "naive")
LABELS = {
    "sdk": "SDK: `bulk.map` + `datasets.create`",
    "naive": "plain generated client + naive retry loop",
}
NAIVE_TRIES = 10


def start_emulator(tmp: str, rate: float) -> tuple[Any, str, str, str]:
    port_file = Path(tmp) / "emulator"
    cmd = [PY, "-m", "dify_mgmt_async.emulator", "--port", "0", "--rate", str(rate), "--burst", str(int(rate))]
    cmd += ["--port-file", str(port_file)]
    proc = spawn(cmd, cpu=SERVER_CPU, stdout=subprocess.DEVNULL)
    base_url, token, secret = wait_for_file(port_file, proc, "the emulator").split()
    return proc, base_url, token, secret


async def _emulator_stats(base_url: str, secret: str) -> dict[str, Any]:
    import httpx

    async with httpx.AsyncClient(timeout=30) as hx:
        resp = await hx.get(base_url + "/_emulator/stats", headers={"X-Emulator-Secret": secret})
        resp.raise_for_status()
        stats: dict[str, Any] = resp.json()
        return stats


async def _listed_names(base_url: str, token: str) -> list[str]:
    from dify_mgmt_async import DifyManagementClient

    async with DifyManagementClient(base_url, token, max_concurrency=4) as dify:
        return [d.name async for d in dify.datasets.list(limit=100)]


async def _run_sdk(base_url: str, token: str, names: list[str], concurrency: int) -> dict[str, Any]:
    from dify_mgmt_async import ConflictError, DifyManagementClient, bulk

    async with DifyManagementClient(base_url, token, max_concurrency=concurrency) as dify:
        t0 = time.perf_counter()
        results = await bulk.map(lambda n: dify.datasets.create(name=n), names, concurrency=concurrency)
        elapsed = time.perf_counter() - t0
        stats = dify.stats
    errors: collections.Counter[str] = collections.Counter()
    conflicts = 0
    for r in results:
        if isinstance(r, Exception):
            errors[f"{type(r).__name__}: {str(r)[:80]}"] += 1
            conflicts += isinstance(r, ConflictError)
    return {
        "elapsed_s": elapsed,
        "succeeded": sum(not isinstance(r, Exception) for r in results),
        "conflicts": conflicts,
        "client_429s": stats.rate_limited,
        "client_requests": stats.requests,
        "errors": dict(errors.most_common(5)),
    }


async def _run_naive(base_url: str, token: str, names: list[str], concurrency: int) -> dict[str, Any]:
    import anyio
    import httpx

    from dify_mgmt_async._generated.api.datasets import create_dataset
    from dify_mgmt_async._generated.client import AuthenticatedClient
    from dify_mgmt_async._generated.models import DatasetCreate

    client = AuthenticatedClient(base_url=base_url, token=token, timeout=httpx.Timeout(60.0))
    sem = anyio.Semaphore(concurrency)
    counts = {"succeeded": 0, "conflicts": 0, "client_429s": 0, "client_requests": 0}
    errors: collections.Counter[str] = collections.Counter()

    async def create(name: str) -> None:
        async with sem:
            for _ in range(NAIVE_TRIES):
                counts["client_requests"] += 1
                try:
                    resp = await create_dataset.asyncio_detailed(client=client, body=DatasetCreate(name=name))
                except Exception as exc:
                    errors[f"{type(exc).__name__}: {str(exc)[:80]}"] += 1
                    return
                status = int(resp.status_code)
                if status == 429:
                    counts["client_429s"] += 1
                    try:
                        wait = float(resp.headers.get("Retry-After", "1"))
                    except ValueError:
                        wait = 1.0
                    await anyio.sleep(wait)
                    continue
                if status in (200, 201):
                    counts["succeeded"] += 1
                elif status == 409:
                    counts["conflicts"] += 1
                    errors["HTTP 409"] += 1
                else:
                    errors[f"HTTP {status}"] += 1
                return
            errors[f"gave up after {NAIVE_TRIES} tries (429)"] += 1

    try:
        t0 = time.perf_counter()
        async with anyio.create_task_group() as tg:
            for name in names:
                tg.start_soon(create, name)
        elapsed = time.perf_counter() - t0
    finally:
        await client.get_async_httpx_client().aclose()
    return {"elapsed_s": elapsed, **counts, "errors": dict(errors.most_common(5))}


async def measure(variant: str, base_url: str, token: str, secret: str, n: int, concurrency: int) -> dict[str, Any]:
    names = [f"ds-{i}" for i in range(n)]
    before = await _emulator_stats(base_url, secret)
    cpu0 = time.process_time()
    if variant == "sdk":
        result = await _run_sdk(base_url, token, names, concurrency)
    else:
        result = await _run_naive(base_url, token, names, concurrency)
    result["client_cpu_s"] = time.process_time() - cpu0
    after = await _emulator_stats(base_url, secret)
    listed = await _listed_names(base_url, token)
    wanted = set(names)
    ours = [x for x in listed if x in wanted]
    server_creates = after.get("creates", {}).get("datasets", 0) - before.get("creates", {}).get("datasets", 0)
    result.update(
        {
            "variant": variant,
            "creates": n,
            "concurrency": concurrency,
            "server_429s": after.get("rate_limited", 0) - before.get("rate_limited", 0),
            "server_requests": after.get("requests_total", 0) - before.get("requests_total", 0),
            "server_creates": server_creates,
            "listed": len(ours),
            "listed_distinct": len(set(ours)),
            "missing": len(wanted - set(ours)),
            "created_reported_failed": max(0, server_creates - result["succeeded"]),
        }
    )
    result["duplicates"] = result["conflicts"] + (len(ours) - len(set(ours)))
    return result


def worker_main(args: argparse.Namespace) -> None:
    install_signal_handlers()  # SIGTERM from the driver stops the emulator too
    pinned = pin(CLIENT_CPU)
    with tempfile.TemporaryDirectory(prefix="dify-bench-storm-") as tmp:
        proc, base_url, token, secret = start_emulator(tmp, args.rate)
        try:
            result = asyncio.run(measure(args.variant, base_url, token, secret, args.creates, args.concurrency))
        finally:
            stop(proc)
    result.update({"rate": args.rate, "ideal_s": args.creates / args.rate, "pinned": pinned})
    result["elapsed_ratio"] = result["elapsed_s"] / result["ideal_s"]
    emit(result)


def run(
    creates: int,
    rate: float = 200.0,
    concurrency: int = 256,
    variants: Sequence[str] = VARIANTS,
    timeout: float = 400.0,
    log: Callable[[str], object] = print,
) -> list[dict[str, Any]]:
    results = []
    for variant in variants:
        cmd = [PY, os.path.abspath(__file__), "--worker", "--variant", variant, "--creates", str(creates)]
        cmd += ["--rate", str(rate), "--concurrency", str(concurrency)]
        r = run_worker(cmd, f"429 storm, {variant}", timeout)
        log(
            f"  {variant:<6} {r['succeeded']}/{r['creates']} ok, {r['duplicates']} duplicates, "
            f"{r['client_429s']} 429s (server {r['server_429s']}), {r['elapsed_s']:.1f} s "
            f"= {r['elapsed_ratio']:.2f}× ideal {r['ideal_s']:.1f} s"
        )
        if r["errors"]:
            log(f"         errors: {r['errors']}")
        results.append(r)
    return results


def table(results: list[dict[str, Any]]) -> str:
    lines = [
        "| client | succeeded | duplicates | created, reported failed | 429s (client / server) | 429s / N "
        "| requests sent | elapsed | ideal N/R | elapsed / ideal | client CPU (busy) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        lines.append(
            f"| {LABELS[r['variant']]} | {r['succeeded']:,} / {r['creates']:,} | {r['duplicates']} | "
            f"{r['created_reported_failed']} | {r['client_429s']:,} / {r['server_429s']:,} | "
            f"{r['client_429s'] / r['creates']:.1%} | {r['client_requests']:,} | {r['elapsed_s']:.1f} s | "
            f"{r['ideal_s']:.1f} s | {r['elapsed_ratio']:.2f}× | "
            f"{r['client_cpu_s']:.1f} s ({r['client_cpu_s'] / r['elapsed_s']:.0%}) |"
        )
    for r in results:
        busy = r["client_cpu_s"] / r["elapsed_s"]
        if busy >= 0.9 and r["server_429s"] <= 0.01 * r["creates"]:
            lines.append("")
            lines.append(
                f"`{r['variant']}` kept its core {busy:.0%} busy: the client's own CPU, not the rate limit, "
                f"bounded it ({r['creates'] / r['elapsed_s']:.0f} creates/s against R = {r['rate']:g}/s), "
                "so the emulator hardly had to answer 429."
            )
    errors = [(r["variant"], r["errors"]) for r in results if r["errors"]]
    for variant, errs in errors:
        lines.append("")
        lines.append(f"Failures of `{variant}`: " + "; ".join(f"{k} ×{v}" for k, v in errs.items()))
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--variant", choices=VARIANTS, help=argparse.SUPPRESS)
    p.add_argument("--variants", nargs="+", choices=VARIANTS, default=list(VARIANTS))
    p.add_argument("--creates", type=int, default=5000)
    p.add_argument("--rate", type=float, default=200.0, help="emulator rate limit R (and burst), requests/s")
    p.add_argument("--concurrency", type=int, default=256)
    args = p.parse_args()
    if args.worker:
        worker_main(args)
        return
    install_signal_handlers()
    results = run(args.creates, args.rate, args.concurrency, args.variants)
    print(table(results))


if __name__ == "__main__":
    main()
