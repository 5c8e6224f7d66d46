"""Many processes, one token (issue 13): P processes x N ``datasets.create`` against one token-bucket server,
each process with its own client, with and without the shared Redis store; and the store's cost per call.

    python benchmarks/shared_store.py [--quick] [--creates 150] [--no-docs]

- Server: ``benchmarks/ratelimited_server.py`` (aiohttp, no code shared with the SDK) at R = 100/s,
  burst 10, with whole-second (``Retry-After``) or millisecond (``retry-after-ms``) hints; pinned to CPU 1.
- Store: a real ``redis-server`` on a free port, no persistence (``tests/redis_server.py``).
- Each cell starts P worker processes that wait for one common start time, then send their N creates at
  once (``asyncio.gather``; the client's default ``max_concurrency=64``).
- Metrics: combined elapsed (first start to last finish) / ideal ``(P*N - burst) / R``; the server's 429s as
  a share of P*N; the slowest / fastest process's elapsed; errors; duplicates (409s, or creates != P*N).
- Cost per call: one process, 3,000 creates against the same server unthrottled, CPU seconds per call
  (``time.process_time``) with the in-process engine and with the store; the median of 3 interleaved runs.
- A slower Redis (``--latency-ms``, default 5 and 20): every store call takes that much longer, half before
  and half after the script runs, as a round trip to a distant Redis would (redis-py's own client, wrapped:
  a pooled connection is not held for the added time, so the pool opens fewer connections than it would);
  the cost per call unthrottled and the P = 4 cell with ms hints.

Writes the section ``## Many processes, one token`` of docs/benchmarks.md (replacing it, or appending it).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _common import HERE, PY, ROOT, BenchError, install_signal_handlers, spawn, stop, wait_for_file

sys.path.insert(0, str(ROOT))
from tests.redis_server import RedisServer

DOCS = ROOT / "docs" / "benchmarks.md"
HEADING = "## Many processes, one token"
RATE, BURST = 100.0, 10
PROCESSES = (2, 4, 8)
CPU_CALLS = 3000
CPU_ROUNDS = 3  # the cost per call: the median of this many interleaved runs (a single run swung 1.09-1.25x)

# Targets of issue 13 (the CPU one is ours).
ELAPSED_MAX = 1.10
SHARE_429_MAX = 0.02
SPREAD_MAX = 1.2
CPU_RATIO_MAX = 1.25  # CPU per call with the store, unthrottled, / with the in-process engine


# --- worker processes ------------------------------------------------------------------------------------------


def _slow_store(url: str, latency: float) -> Any:
    """The Redis store, every call ``latency`` seconds longer (half on the way there, half on the way back)."""
    from dify_mgmt_async.redis_store import RedisRateLimitStore

    class SlowRedisStore(RedisRateLimitStore):
        pass

    def slowed(name: str) -> Any:
        call = getattr(RedisRateLimitStore, name)

        async def slow(self: Any, *args: Any) -> Any:
            await asyncio.sleep(latency / 2)
            result = await call(self, *args)
            await asyncio.sleep(latency / 2)
            return result

        return slow

    for name in ("admit", "reserve", "unreserve", "close_for", "event", "release"):
        setattr(SlowRedisStore, name, slowed(name))
    return SlowRedisStore(url)


async def _creates(base_url: str, token: str, names: list[str], store: str) -> dict[str, Any]:
    from dify_mgmt_async import APIStatusError, DifyManagementClient

    latency = float(os.environ.get("STORE_LATENCY_MS") or 0) / 1000
    shared: Any = _slow_store(store, latency) if store and latency else store or None

    oks: list[float] = []
    limited: list[float] = []  # when each 429 came back (the retry's hook runs then)

    async def create(name: str) -> object:
        result = await dify.datasets.create(name=name)
        oks.append(time.time())
        return result

    async with DifyManagementClient(
        base_url, token, rate_limit_store=shared, timeout=300, on_retry=lambda e: limited.append(time.time())
    ) as dify:
        rates: list[tuple[float, float | None]] = []

        async def sample() -> None:
            while True:
                rates.append((time.time(), dify.stats.pacing_rate))
                await asyncio.sleep(0.25)

        sampler = asyncio.get_running_loop().create_task(sample()) if TRACE else None
        started = time.time()
        cpu = time.process_time()
        results = await asyncio.gather(*(create(n) for n in names), return_exceptions=True)
        if sampler is not None:
            sampler.cancel()
        cpu = time.process_time() - cpu
        ended = time.time()
        stats = dify.stats
    if not isinstance(shared, str) and shared is not None:
        await shared.aclose()  # a store instance passed in is the caller's to close
    errors = [r for r in results if isinstance(r, BaseException)]
    return {
        "started": started,
        "ended": ended,
        "cpu": cpu,
        "errors": len(errors),
        "conflicts": sum(1 for e in errors if isinstance(e, APIStatusError) and e.status_code == 409),
        "error_kinds": sorted({type(e).__name__ for e in errors}),
        "rate_limited": stats.rate_limited,
        "oks": oks,
        "rates": rates,
        "limited": limited,
    }


def worker_main(base_url: str, token: str, prefix: str, n: int, store: str, start_at: float) -> None:
    import dify_mgmt_async  # imports done before the common start

    if store:
        import dify_mgmt_async.redis_store  # noqa: F401 - redis-py too: ~0.3 s each, 8 at once on 2 cores

    global TRACE
    TRACE = bool(os.environ.get("SHARED_STORE_TRACE"))
    late = time.time() - start_at
    time.sleep(max(0.0, -late))
    result = asyncio.run(_creates(base_url, token, [f"{prefix}{i}" for i in range(n)], store))
    result["late"] = max(0.0, late)
    print(json.dumps(result), flush=True)


# --- the driver ------------------------------------------------------------------------------------------------


def start_server(tmp: str, hint: str, rate: float, burst: int) -> tuple[subprocess.Popen[bytes], str, str]:
    port_file = Path(tmp) / f"server-{time.monotonic_ns()}"
    cmd = [PY, str(HERE / "ratelimited_server.py"), "--rate", str(rate), "--burst", str(burst)]
    proc = spawn([*cmd, "--retry-after", hint, "--port-file", str(port_file)], stdout=subprocess.DEVNULL)
    base_url, token, _ = wait_for_file(port_file, proc, "the rate-limited server").split()
    return proc, base_url, token


def server_stats(base_url: str) -> dict[str, Any]:
    import urllib.request

    with urllib.request.urlopen(base_url + "/_stats", timeout=30) as resp:
        data: dict[str, Any] = json.loads(resp.read())
    return data


def _env(latency_ms: float) -> dict[str, str]:
    return {**os.environ, "STORE_LATENCY_MS": str(latency_ms)}


def run_cell(tmp: str, hint: str, processes: int, n: int, store: str, latency_ms: float = 0.0) -> dict[str, Any]:
    proc, base_url, token = start_server(tmp, hint, RATE, BURST)
    try:
        start_at = time.time() + 2.0 + 0.5 * processes  # every worker imported and waiting
        cmd = [PY, os.path.abspath(__file__), "--worker", base_url, token]
        children = [
            subprocess.Popen(
                [*cmd, f"p{i}-", str(n), store, str(start_at)], stdout=subprocess.PIPE, env=_env(latency_ms)
            )
            for i in range(processes)
        ]
        outs = [c.communicate(timeout=600)[0].decode() for c in children]
        if any(c.returncode for c in children):
            raise BenchError(f"a worker failed: {[c.returncode for c in children]}")
        clients = [json.loads(o.strip().splitlines()[-1]) for o in outs]
        srv = server_stats(base_url)
    finally:
        stop(proc)
    if TRACE:
        print(trace(clients), flush=True)
    total = processes * n
    elapsed = [c["ended"] - c["started"] for c in clients]
    combined = max(c["ended"] for c in clients) - min(c["started"] for c in clients)
    ideal = (total - BURST) / RATE
    return {
        "hint": hint,
        "processes": processes,
        "n": n,
        "store": bool(store),
        "latency_ms": latency_ms,
        "ratio": combined / ideal,
        "combined": combined,
        "ideal": ideal,
        "share429": len(srv["rejected"]) / total,
        "spread": max(elapsed) / min(elapsed),
        "errors": sum(c["errors"] for c in clients),
        "duplicates": srv["conflicts"] + abs(srv["creates"] - total),
        "late": max(c["late"] for c in clients),
    }


TRACE = False


def trace(clients: list[dict[str, Any]], step: float = 0.5) -> str:
    """Per process and per ``step`` seconds from the common start: successes/429s (the 429s when they came back)."""
    t0 = min(c["started"] for c in clients)
    end = max(c["ended"] for c in clients)
    bins = int((end - t0) / step) + 1
    lines = ["t(s)  " + "  ".join(f"p{i}:ok/429" for i in range(len(clients)))]
    for b in range(bins):
        lo, hi = t0 + b * step, t0 + (b + 1) * step
        row = [
            f"{sum(lo <= t < hi for t in c['oks']):4d}/{sum(lo <= t < hi for t in c['limited']):<4d}"
            + next((f"@{r or 0:.0f}" for t, r in c["rates"] if lo <= t < hi), "")
            for c in clients
        ]
        lines.append(f"{b * step:5.1f} " + "  ".join(f"{r:>14}" for r in row))
    return "\n".join(lines)


def cpu_cell(tmp: str, store: str, calls: int, latency_ms: float = 0.0) -> dict[str, Any]:
    proc, base_url, token = start_server(tmp, "ms", 1e9, 10**9)
    try:
        cmd = [PY, os.path.abspath(__file__), "--worker", base_url, token, "cpu-", str(calls), store, "0"]
        run = subprocess.run(cmd, stdout=subprocess.PIPE, check=True, timeout=600, env=_env(latency_ms))
        out = run.stdout.decode()
        client = json.loads(out.strip().splitlines()[-1])
    finally:
        stop(proc)
    return {
        "store": bool(store),
        "latency_ms": latency_ms,
        "cpu_us": client["cpu"] / calls * 1e6,
        "wall_us": (client["ended"] - client["started"]) / calls * 1e6,
    }


def cpu_cells(tmp: str, variants: list[tuple[str, float]]) -> list[dict[str, Any]]:
    """Each (store, latency) ``CPU_ROUNDS`` times, interleaved so that drift hits all alike; the median run."""
    runs: dict[tuple[str, float], list[dict[str, Any]]] = {v: [] for v in variants}
    for _ in range(CPU_ROUNDS):
        for store, latency in variants:
            runs[(store, latency)].append(cpu_cell(tmp, store, CPU_CALLS, latency))
            print(json.dumps(runs[(store, latency)][-1]), flush=True)
    return [sorted(r, key=lambda c: c["cpu_us"])[len(r) // 2] for r in runs.values()]


def ok(cell: dict[str, Any]) -> bool:
    return (
        cell["ratio"] <= ELAPSED_MAX
        and cell["share429"] <= SHARE_429_MAX
        and cell["spread"] <= SPREAD_MAX
        and cell["errors"] == 0
        and cell["duplicates"] == 0
    )


def render(cells: list[dict[str, Any]], cpu: list[dict[str, Any]], n: int, when: str) -> str:
    lines = [
        HEADING,
        "",
        f"`python benchmarks/shared_store.py` ({when}): P processes x N = {n} `datasets.create`, one token, each",
        "process its own `DifyManagementClient`, against `benchmarks/ratelimited_server.py` (token bucket,",
        f"R = {RATE:.0f}/s, burst {BURST}), with and without `rate_limit_store=` a real local redis-server.",
        f"Targets (with the store): elapsed ≤ {ELAPSED_MAX}× ideal (P·N − burst)/R, 429s ≤ {SHARE_429_MAX:.0%} of P·N,",
        f"slowest/fastest ≤ {SPREAD_MAX}, no errors, no duplicates.",
        "",
        "| hint | P | store | elapsed / ideal | 429s / P·N | slowest / fastest | errors | duplicates | target |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    slow = [c for c in cells if c.get("latency_ms")]
    cells = [c for c in cells if not c.get("latency_ms")]
    for c in cells:
        target = ("met" if ok(c) else "**missed**") if c["store"] else "–"
        lines.append(
            f"| {c['hint']} | {c['processes']} | {'redis' if c['store'] else 'none'} | "
            f"{c['ratio']:.2f} ({c['combined']:.1f} s / {c['ideal']:.1f} s) | {c['share429']:.1%} | "
            f"{c['spread']:.2f} | {c['errors']} | {c['duplicates']} | {target} |"
        )
    slow_cpu = {c["latency_ms"]: c for c in cpu if c.get("latency_ms")}
    cpu = [c for c in cpu if not c.get("latency_ms")]
    if cpu:
        base = next(c for c in cpu if not c["store"])
        shared = next(c for c in cpu if c["store"])
        ratio = shared["cpu_us"] / base["cpu_us"]
        lines += [
            "",
            f"Cost per call, unthrottled ({CPU_CALLS} creates in one process, the server at 10⁹/s; the median of "
            f"{CPU_ROUNDS} interleaved runs): CPU "
            f"{base['cpu_us']:.0f} µs/call in-process, {shared['cpu_us']:.0f} µs/call with the store "
            f"({ratio:.2f}×; wall {base['wall_us']:.0f} vs {shared['wall_us']:.0f} µs/call). While nothing limits "
            "sends, a process asks the store at most every 20 ms (one EVALSHA, successes batched into it); "
            f"target ≤ {CPU_RATIO_MAX}×: {'met' if ratio <= CPU_RATIO_MAX else '**missed**'}.",
        ]
    if slow:
        lines += [
            "",
            "A slower Redis (`--latency-ms`): every store call takes that much longer, half before and half after",
            "its script runs (a round trip to a distant Redis). Unthrottled, a process asks the store at most every",
            "20 ms, so the latency is paid by one send in many; throttled, each send books its slot with one call,",
            "and a process books up to 2 slots ahead (more at high rates), so the round trip overlaps the wait.",
            f"Targets: CPU per call ≤ {CPU_RATIO_MAX}× the in-process engine's at any latency; with 5 ms, the P = 4",
            "cell meets the targets above.",
            "",
            "| added latency per store call | CPU µs/call, unthrottled (vs in-process) | wall µs/call, unthrottled "
            "| P = 4, ms hints: elapsed / ideal · 429s · slowest/fastest | target |",
            "|---|---|---|---|---|",
        ]
        for c in slow:
            lat = c["latency_ms"]
            k = slow_cpu.get(lat)
            base_us = cpu[0]["cpu_us"] if cpu and not cpu[0]["store"] else None
            cost, cpu_ok = "– | –", k is None  # (not measured: --no-cpu)
            if k is not None and base_us:
                cost = f"{k['cpu_us']:.0f} ({k['cpu_us'] / base_us:.2f}×) | {k['wall_us']:.0f}"
                cpu_ok = k["cpu_us"] / base_us <= CPU_RATIO_MAX
            met = cpu_ok and (lat > 5 or ok(c))
            lines.append(
                f"| {lat:g} ms | {cost} | {c['ratio']:.2f} ({c['combined']:.1f} s) · {c['share429']:.1%} · "
                f"{c['spread']:.2f} | {'met' if met else '**missed**'} |"
            )
    lines += [
        "",
        "How the store works, from traces (`--trace`: each process's successes/429s and rate per 0.5 s): a process",
        "holds at most 2 slots of the shared schedule booked ahead, so the schedule serves backlogged processes in",
        "turn. Every process's estimator learns from one shared log: each 429 with every process's successes and",
        "the rate that met it (so all cut from the same rate; grown on their own, rates had drifted to 72/s in",
        "some processes and 109/s in others), and the first success's time before the first 429 (a late starter",
        "had guessed 4x R). A newcomer learns the whole log while the store holds it; a cut sends tasks waiting",
        "for a slot to book again behind the booked ones; a queue drains when every process's share is under a",
        "second. Left: the first wave (the slow start's overshoot over a burst of 10, 4-18 429s), and at P = 8 a",
        "pause of up to 16 slots at each probe's cut, then a climb back over about a second (with 4 slots booked",
        "ahead each, up to 32: P = 8 took 1.09-1.15x the ideal, against 1.05-1.11x with 2, in 10 runs).",
    ]
    return "\n".join(lines) + "\n"


def write_docs(section: str) -> None:
    text = DOCS.read_text(encoding="utf-8") if DOCS.exists() else "# Benchmarks\n"
    if HEADING in text:
        head, rest = text.split(HEADING, 1)
        tail = rest.split("\n## ", 1)
        text = head + section + ("\n## " + tail[1] if len(tail) > 1 else "")
    else:
        text = text.rstrip("\n") + "\n\n" + section
    DOCS.write_text(text, encoding="utf-8")


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        base_url, token, prefix, n, store, start_at = sys.argv[2:8]
        worker_main(base_url, token, prefix, int(n), store, float(start_at))
        return
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--creates", type=int, default=250, help="N per process")
    parser.add_argument("--quick", action="store_true", help="P = 2 and 4 only, ms hints only, N = 100")
    parser.add_argument("--no-docs", action="store_true", help="print only; leave docs/benchmarks.md alone")
    parser.add_argument("--only-store", action="store_true", help="skip the cells without the store")
    parser.add_argument("--cpu-only", action="store_true", help="only the cost per call")
    parser.add_argument("--processes", type=int, nargs="*", help="P values (default 2 4 8)")
    parser.add_argument("--hints", nargs="*", choices=("seconds", "ms"), help="hint styles (default both)")
    parser.add_argument("--no-cpu", action="store_true", help="skip the cost per call")
    parser.add_argument("--trace", action="store_true", help="print each process's successes/429s per 0.5 s")
    parser.add_argument(
        "--latency-ms", type=float, nargs="*", default=[5.0, 20.0], help="added store latencies to measure ([]: none)"
    )
    args = parser.parse_args()
    global TRACE
    TRACE = args.trace
    if TRACE:
        os.environ["SHARED_STORE_TRACE"] = "1"
    install_signal_handlers()
    n = 100 if args.quick else args.creates
    hints = args.hints or (("ms",) if args.quick else ("seconds", "ms"))
    processes = args.processes or ((2, 4) if args.quick else PROCESSES)
    redis = RedisServer().start()
    cells: list[dict[str, Any]] = []
    cpu: list[dict[str, Any]] = []
    try:
        with tempfile.TemporaryDirectory(prefix="dify-bench-store-") as tmp:
            for hint in () if args.cpu_only else hints:
                for p in processes:
                    for store in [redis.url] if args.only_store else ["", redis.url]:
                        cell = run_cell(tmp, hint, p, n, store)
                        cells.append(cell)
                        print(json.dumps(cell), flush=True)
            latencies = [] if args.quick else args.latency_ms
            if not args.no_cpu:
                cpu = cpu_cells(tmp, [("", 0.0), (redis.url, 0.0), *((redis.url, lat) for lat in latencies)])
            for latency in () if args.cpu_only else latencies:
                cells.append(run_cell(tmp, "ms", 4, n, redis.url, latency))
                print(json.dumps(cells[-1]), flush=True)
    finally:
        redis.kill()
    section = render(cells, cpu, n, time.strftime("%Y-%m-%d", time.gmtime()))
    print(section)
    if not args.no_docs and not args.quick:
        write_docs(section)


if __name__ == "__main__":
    main()
