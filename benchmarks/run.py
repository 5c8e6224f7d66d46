"""Run every benchmark, print the tables and rewrite docs/benchmarks.md (what ``make bench`` runs).

    .venv/bin/python benchmarks/run.py            # full: list calls, 1 GiB upload, 5,000 creates, rate-limit matrix
    .venv/bin/python benchmarks/run.py --quick    # fast check: 2,000 calls, 256 MiB, 2,000 creates, a matrix subset

The fast server and the emulator run pinned to CPU 1, every client in its own process pinned to CPU 0.
docs/benchmarks.md is rewritten only by a full run of every part (or with ``--write-docs``); its
``## Profile notes`` section is kept verbatim.
"""

from __future__ import annotations

import argparse
import datetime
import importlib.metadata
import os
import platform
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import list_calls
import ratelimit
import storm
import upload
from _common import ROOT, BenchError, FastServer, install_signal_handlers, kill_children

DOCS = ROOT / "docs" / "benchmarks.md"
PROFILE_HEADING = "## Profile notes"
DEFAULT_PROFILE_NOTES = (
    PROFILE_HEADING
    + "\n\nWhere the SDK's time goes (py-spy or cProfile of the list-call benchmark), the profile's top lines,"
    + " and what was cut. Kept verbatim by `benchmarks/run.py`.\n"
)
PARTS = ("list", "upload", "storm", "ratelimit")

# Targets of issue 6.
LIST_RATIO_MAX = 2.0
FLAT_RATIO_MAX = 1.2
UPLOAD_RSS_MAX_MIB = 64.0
UPLOAD_THROUGHPUT_MIN = 0.8
STORM_ELAPSED_MAX = 1.2
STORM_429_MAX = 0.05


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def _git_commit() -> str:
    try:
        rev = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, timeout=10, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "src"], cwd=ROOT, capture_output=True, text=True, timeout=10
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return rev + (" (with uncommitted changes under src/)" if dirty else "")


def environment() -> dict[str, str]:
    return {
        "CPU": _cpu_model(),
        "cores": f"{os.cpu_count()} (server and emulator pinned to CPU 1, each client process to CPU 0)",
        "OS": f"{platform.system()} {platform.release()}",
        "Python": platform.python_version() + f" ({platform.python_implementation()})",
        "httpx": _version("httpx"),
        "httpcore": _version("httpcore"),
        "aiohttp": _version("aiohttp"),
        "attrs": _version("attrs"),
        "anyio": _version("anyio"),
        "openapi-python-client": _version("openapi-python-client"),
        "dify-mgmt-async": f"{_version('dify-mgmt-async')}, commit {_git_commit()}",
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }


# --------------------------------------------------------------------------- targets


def _verdict(ok: bool) -> str:
    return "**PASS**" if ok else "**FAIL**"


def targets(results: dict[str, Any], errors: dict[str, str]) -> list[tuple[str, str, str]]:
    """(target, PASS/FAIL, measured) rows."""
    rows: list[tuple[str, str, str]] = []
    lc = results.get("list")
    if lc:
        by = {(r["client"], r["concurrency"]): r["cpu_us_per_call"] for r in lc}
        levels = sorted({c for (client, c) in by if client == "sdk" and ("aiohttp", c) in by})
        ratios = {c: by["sdk", c] / by["aiohttp", c] for c in levels}
        measured = ", ".join(f"{r:.2f}× @{c}" for c, r in ratios.items())
        rows.append(
            (
                f"List calls: SDK client CPU per call ≤ {LIST_RATIO_MAX}× raw aiohttp at every concurrency level",
                _verdict(bool(ratios) and all(r <= LIST_RATIO_MAX for r in ratios.values())),
                measured,
            )
        )
        sdk_levels = sorted(c for (client, c) in by if client == "sdk")
        if len(sdk_levels) >= 2:
            lo, hi = sdk_levels[0], sdk_levels[-1]
            flat = by["sdk", hi] / by["sdk", lo]
            rows.append(
                (
                    f"Flat scaling: SDK CPU per call at {hi} in flight ≤ {FLAT_RATIO_MAX}× that at {lo} in flight",
                    _verdict(flat <= FLAT_RATIO_MAX),
                    f"{by['sdk', hi]:,.0f} µs / {by['sdk', lo]:,.0f} µs = {flat:.2f}×",
                )
            )
    else:
        rows.append(("List calls and flat scaling", "**FAIL**", f"not measured: {errors.get('list', 'skipped')}"))
    up = results.get("upload")
    if up:
        by_variant = {r["variant"]: r for r in up}
        sdk = by_variant.get("sdk")
        raw = [r for v, r in by_variant.items() if v.startswith("aiohttp")]
        if sdk:
            rows.append(
                (
                    f"Upload: peak RSS growth ≤ {UPLOAD_RSS_MAX_MIB:.0f} MiB for the "
                    f"{sdk['bytes'] / 2**20:,.0f} MiB upload",
                    _verdict(sdk["rss_growth_mib"] <= UPLOAD_RSS_MAX_MIB),
                    f"{sdk['rss_growth_mib']:.1f} MiB",
                )
            )
        if sdk and raw:
            best = max(raw, key=lambda r: r["mib_per_s"])
            ratio = sdk["mib_per_s"] / best["mib_per_s"]
            rows.append(
                (
                    f"Upload: throughput ≥ {UPLOAD_THROUGHPUT_MIN}× raw aiohttp (the faster raw variant)",
                    _verdict(ratio >= UPLOAD_THROUGHPUT_MIN),
                    f"{sdk['mib_per_s']:,.0f} / {best['mib_per_s']:,.0f} MiB/s = {ratio:.2f}×",
                )
            )
    else:
        rows.append(("Upload", "**FAIL**", f"not measured: {errors.get('upload', 'skipped')}"))
    st = results.get("storm")
    sdk_storm = next((r for r in st or [] if r["variant"] == "sdk"), None)
    if sdk_storm:
        r = sdk_storm
        n = r["creates"]
        rows += [
            ("429 storm: all succeed", _verdict(r["succeeded"] == n), f"{r['succeeded']:,} / {n:,}"),
            ("429 storm: 0 duplicates", _verdict(r["duplicates"] == 0), str(r["duplicates"])),
            (
                f"429 storm: elapsed ≤ {STORM_ELAPSED_MAX}× N/R",
                _verdict(r["elapsed_s"] <= STORM_ELAPSED_MAX * r["ideal_s"]),
                f"{r['elapsed_s']:.1f} s vs N/R = {r['ideal_s']:.1f} s ({r['elapsed_ratio']:.2f}×)",
            ),
            (
                f"429 storm: 429s received ≤ {STORM_429_MAX:.0%} of N",
                _verdict(r["client_429s"] <= STORM_429_MAX * n),
                f"{r['client_429s']:,} = {r['client_429s'] / n:.1%} of {n:,}",
            ),
        ]
    else:
        rows.append(("429 storm", "**FAIL**", f"not measured: {errors.get('storm', 'skipped')}"))
    rl = results.get("ratelimit")
    if rl:
        static = [c for c in rl if not c["case"]]
        met = [c for c in static if ratelimit.static_ok(c)]
        missed = ", ".join(c["key"] for c in static if c not in met)
        rows.append(
            (
                "Rate-limit matrix: every static cell ≤ 1.10× ideal, 429s ≤ 3 %, 0 early retries, 0 errors",
                _verdict(len(met) == len(static)),
                f"{len(met)} of {len(static)} cells" + (f"; missed: {missed}" if missed else ""),
            )
        )
        for c in rl:
            if c["case"]:
                rows.append((f"Rate-limit {c['case']}", _verdict(bool(c.get("ok"))), ratelimit.dynamic_text(c)))
    else:
        rows.append(("Rate-limit matrix", "**FAIL**", f"not measured: {errors.get('ratelimit', 'skipped')}"))
    return rows


# --------------------------------------------------------------------------- the document


def _profile_notes() -> str:
    if DOCS.exists():
        text = DOCS.read_text(encoding="utf-8")
        at = text.find("\n" + PROFILE_HEADING)
        if at >= 0:
            return text[at + 1 :].rstrip("\n") + "\n"
        if text.startswith(PROFILE_HEADING):
            return text.rstrip("\n") + "\n"
    return DEFAULT_PROFILE_NOTES


def render(
    env: dict[str, str], params: dict[str, Any], results: dict[str, Any], errors: dict[str, str], took: float
) -> str:
    out: list[str] = []
    add = out.append
    add("# Benchmarks")
    add("")
    add(
        "Client CPU per call under concurrency, large uploads and a 429 storm: the SDK side by side with raw "
        "aiohttp, raw httpx and the plain generated client (issue 6). This file is written by "
        "`benchmarks/run.py`; only the *Profile notes* section at the end is edited by hand."
    )
    add("")
    add("## How to repeat")
    add("")
    add("```sh")
    add("make bench                                   # everything, rewrites this file")
    add(".venv/bin/python benchmarks/run.py --quick   # fewer calls, smaller upload: a fast check, prints only")
    add(".venv/bin/python benchmarks/list_calls.py --clients aiohttp sdk --concurrency 1 256   # one part")
    add(".venv/bin/python benchmarks/ratelimit.py --cell step-down --repeat 5   # one matrix cell, five runs")
    add("```")
    add("")
    add(
        f"This run took {took / 60:.1f} min ({params['mode']}). The machine needs two cores: a fixed-response "
        "HTTP/1.1 keep-alive server (`benchmarks/server.py`, an asyncio Protocol, no framework) or the emulator "
        "runs pinned to CPU 1, and each client runs in its own process pinned to CPU 0, so "
        "`time.process_time()` in that process is the client's CPU alone."
    )
    add("")
    add("| | |")
    add("|---|---|")
    for key, value in env.items():
        add(f"| {key} | {value} |")
    add("")

    add("## List calls")
    add("")
    add(
        f"`GET /api/management/apps?limit=20`, answered with a fixed page of 20 apps and parsed; "
        f"{params['calls']:,} measured calls per cell after {params['warmup']} warm-up calls, at 1, 16, 64 and 256 "
        "in flight, one process per cell. CPU µs/call = client `process_time` / calls; calls/s = calls / wall time. "
        f"Raw aiohttp and the SDK run {list_calls.REPEATS} interleaved rounds and each cell shows the round with the "
        "median CPU per call (all rounds are printed by `make bench`); the others run once."
    )
    add("")
    add(
        "- raw aiohttp: one `ClientSession` (connector limit max(100, in flight)), `await resp.read()`, "
        "`json.loads`.\n"
        "- raw httpx: `httpx.AsyncClient` on its default transport (connection limit max(100, in flight)), "
        "`json.loads(resp.content)`.\n"
        "- plain generated client: `list_apps.asyncio(client=AuthenticatedClient(...), limit=20)` on its default "
        "httpx client (httpx's default limit of 100 connections), parsed into `AppPage`.\n"
        "- SDK: `await dify.apps.list(limit=20)` with `DifyManagementClient(url, token, "
        "max_concurrency=max(64, in flight))`, parsed into `AppPage`."
    )
    add("")
    if results.get("list"):
        add(list_calls.table(results["list"]))
    else:
        add(f"Not measured: {errors.get('list', 'skipped')}")
    add("")

    add("## Upload")
    add("")
    add(
        f"A {params['upload_mib']:,} MiB sparse file, uploaded once per client, each in a fresh process, to the fast "
        "server (which discards the body as it arrives). Peak RSS growth = `ru_maxrss` after the upload minus the "
        "RSS (`/proc/self/statm`) just before it. The SDK sends `multipart/form-data` "
        '(`datasets.upload_document("ds", path)`); raw aiohttp streams the bare file.'
    )
    add("")
    if results.get("upload"):
        add(upload.table(results["upload"]))
    else:
        add(f"Not measured: {errors.get('upload', 'skipped')}")
    add("")

    add("## 429 storm")
    add("")
    add(
        f"{params['creates']:,} `datasets.create` at {params['storm_concurrency']} in flight against a fresh "
        f"emulator rate-limited to R = {params['rate']:g} requests/s (burst R), so the ideal time is N/R = "
        f"{params['creates'] / params['rate']:.1f} s. SDK: `bulk.map(..., concurrency={params['storm_concurrency']})`"
        f" with `max_concurrency={params['storm_concurrency']}`. Plain generated client: "
        "`create_dataset.asyncio_detailed` in tasks bounded by an `anyio.Semaphore`, retrying a 429 after "
        f"`Retry-After` seconds up to {storm.NAIVE_TRIES} tries and giving up on anything else."
    )
    add("")
    add(
        "Dataset names are unique in the emulator, so a create that is sent again after it had succeeded cannot "
        "make a second dataset; it is answered 409. *Duplicates* = 409 answers + names listed more than once "
        "afterwards (all datasets are listed through the SDK). *Created, reported failed* = the emulator's "
        "create counter minus the client's successes. 429s: the client's count (`dify.stats.rate_limited`, or "
        "the loop's own) and the emulator's (`GET /_emulator/stats`, `rate_limited`)."
    )
    add("")
    if results.get("storm"):
        add(storm.table(results["storm"]))
    else:
        add(f"Not measured: {errors.get('storm', 'skipped')}")
    add("")

    add("## Rate-limit matrix")
    add("")
    add(
        "How close the default client gets to a rate-limited server's own best schedule (issue 9): each cell is N "
        "`datasets.create` through `asyncio.gather` with `DifyManagementClient(url, token, max_concurrency=64)` "
        "(256 where the cell says c256), N = burst + 10 s x R, against a fresh server: the emulator with "
        "`--limiter` and `--retry-after`, or *independent*, `benchmarks/ratelimited_server.py` (aiohttp, a leaky "
        "bucket as a meter, sharing no code with the emulator). Window limiters count L = burst requests per "
        "W = burst / R seconds. Ideal: token bucket and GCRA (N - burst) / R; fixed window and sliding log, whose "
        "best schedule sends L at once every W, (ceil(N / L) - 1) x W. 429s / N counts the server's 429s; *early* "
        "counts retries sent before the hint their 429 gave (the client's transport is wrapped to check), which "
        "must be 0. *Before* is the engine as it was on main before issue 9 "
        "(`benchmarks/ratelimit_before.json`, measured with the same harness). Targets: elapsed <= 1.10x ideal, "
        "429s <= 3 %, 0 early, 0 errors, 0 duplicates."
    )
    add("")
    add(
        "Dynamic cases run against the independent server (token bucket, whole-second hints unless said): "
        "*blip*, R = 200/s burst 20, 429 to everything (`Retry-After: 1`) for 1.5 s from t = 4 s; *step-down*, "
        "R from 200 to 50 at t = 4 s; *step-up*, R from 50 to 200 at t = 3 s; *processes*, 4 processes x 250 "
        "creates sharing one token, R = 100/s burst 10, `retry-after-ms`; its slowest/fastest ratio varies "
        f"widely between runs of the same code, so it runs {ratelimit.PROCESSES_RUNS} times and the run with the "
        "median margin to its target is shown, with how many runs met it."
    )
    add("")
    if results.get("ratelimit"):
        add(ratelimit.tables(results["ratelimit"], ratelimit.load_before()))
    else:
        add(f"Not measured: {errors.get('ratelimit', 'skipped')}")
    add("")

    add("## Targets")
    add("")
    add("From issues 6 and 9, measured by this run.")
    add("")
    add("| target | result | measured |")
    add("|---|---|---|")
    for target, verdict, measured in targets(results, errors):
        add(f"| {target} | {verdict} | {measured} |")
    add("")
    return "\n".join(out) + "\n" + _profile_notes()


# --------------------------------------------------------------------------- driver


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="2,000 calls, 256 MiB, 2,000 creates; does not write docs")
    p.add_argument("--only", nargs="+", choices=PARTS, default=list(PARTS), help="run only these parts")
    p.add_argument("--calls", type=int, help="list calls per cell (default 5000, quick 2000)")
    p.add_argument("--upload-mib", type=int, help="upload size in MiB (default 1024, quick 256)")
    p.add_argument("--creates", type=int, help="storm creates (default 5000, quick 2000)")
    p.add_argument("--rate", type=float, default=200.0, help="storm: emulator rate limit R (default 200)")
    p.add_argument("--write-docs", action="store_true", help="rewrite docs/benchmarks.md even for --quick/--only")
    p.add_argument("--no-docs", action="store_true", help="never rewrite docs/benchmarks.md")
    args = p.parse_args()
    install_signal_handlers()
    params = {
        "mode": "quick run" if args.quick else "full run",
        "calls": args.calls or (2000 if args.quick else 5000),
        "warmup": list_calls.WARMUP,
        "upload_mib": args.upload_mib or (256 if args.quick else 1024),
        "creates": args.creates or (2000 if args.quick else 5000),
        "rate": args.rate,
        "storm_concurrency": 256,
    }
    env = environment()
    print("Benchmark environment:")
    for key, value in env.items():
        print(f"  {key}: {value}")
    if len(os.sched_getaffinity(0)) < 2:
        print("warning: fewer than 2 usable CPUs; server and client will share a core", file=sys.stderr)
    results: dict[str, Any] = {}
    errors: dict[str, str] = {}
    started = time.monotonic()

    def part(name: str, fn: Callable[[], Any]) -> None:
        if name not in args.only:
            return
        t0 = time.monotonic()
        try:
            results[name] = fn()
        except BenchError as exc:
            errors[name] = str(exc).splitlines()[0]
            print(f"ERROR in {name}: {exc}", file=sys.stderr)
        except Exception as exc:
            errors[name] = f"{type(exc).__name__}: {exc}"
            traceback.print_exc()
        print(f"  ({name}: {time.monotonic() - t0:.0f} s)")

    try:
        with FastServer() as server:
            print(f"\nList calls ({params['calls']:,} per cell), fast server at {server.url}:")
            part("list", lambda: list_calls.run(server.url, params["calls"]))
            server.check()
            print(f"\nUpload ({params['upload_mib']:,} MiB):")
            part("upload", lambda: upload.run(server.url, params["upload_mib"]))
        print(f"\n429 storm ({params['creates']:,} creates, R = {params['rate']:g}/s, 256 in flight):")
        part("storm", lambda: storm.run(params["creates"], params["rate"]))
        print(f"\nRate-limit matrix ({'a subset' if args.quick else 'every cell'}):")
        part("ratelimit", lambda: ratelimit.run(args.quick, ("static", "dynamic")))
    finally:
        kill_children()
    took = time.monotonic() - started

    if results.get("list"):
        print("\n" + list_calls.table(results["list"]))
    if results.get("upload"):
        print("\n" + upload.table(results["upload"]))
    if results.get("storm"):
        print("\n" + storm.table(results["storm"]))
    if results.get("ratelimit"):
        print("\n" + ratelimit.tables(results["ratelimit"], ratelimit.load_before()))
    print("\nTargets:")
    for target, verdict, measured in targets(results, errors):
        print(f"  {verdict.strip('*'):<4}  {target}: {measured}")
    print(f"\nTook {took:.0f} s.")

    full = not args.quick and set(args.only) == set(PARTS)
    if not args.no_docs and (full or args.write_docs):
        DOCS.write_text(render(env, params, results, errors, took), encoding="utf-8")
        print(f"Wrote {DOCS.relative_to(ROOT)}.")
    else:
        print(f"Not writing {DOCS.relative_to(ROOT)} (quick or partial run; --write-docs to force).")
    if errors:
        print(f"Parts that failed: {', '.join(errors)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
