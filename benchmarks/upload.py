"""Upload: one large file through the SDK and through raw aiohttp streaming, throughput and peak RSS growth.

    python benchmarks/upload.py [--mib 1024] [--url URL]

The file is created sparse in a temporary directory (deleted afterwards). Each upload runs in its own
process pinned to CPU 0, against the fast server on CPU 1 (started here unless ``--url`` is given).
Peak RSS growth is ``ru_maxrss`` after the upload minus the RSS just before it (``/proc/self/statm``).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _common import (
    CLIENT_CPU,
    PY,
    BenchError,
    FastServer,
    emit,
    install_signal_handlers,
    peak_rss_mib,
    pin,
    rss_mib,
    run_worker,
)

VARIANTS = ("sdk", "aiohttp-file", "aiohttp-chunks")
LABELS = {
    "sdk": "SDK `datasets.upload_document` (multipart, from a path)",
    "aiohttp-file": "raw aiohttp, `data=<open file>`",
    "aiohttp-chunks": "raw aiohttp, `data=<async generator of 256 KiB chunks>`",
}
TOKEN = "bench-token"
UPLOAD_PATH = "/api/management/datasets/ds/documents/upload"
CHUNK = 256 * 1024


def make_file(directory: str, mib: int) -> str:
    """A sparse file of ``mib`` MiB (reads as zeros, takes no disk space)."""
    path = os.path.join(directory, "upload.bin")
    with open(path, "wb") as fh:
        os.truncate(fh.fileno(), mib * 2**20)
    # Read it once so every variant reads from the page cache: the first read of a fresh file
    # fills the cache at a fraction of the speed, and whichever variant ran first paid for it.
    with open(path, "rb") as fh:
        while fh.read(2**24):
            pass
    return path


async def _chunks(path: str) -> AsyncIterator[bytes]:
    with open(path, "rb") as fh:  # noqa: ASYNC230 (what a typical user writes; local reads are fast)
        while chunk := fh.read(CHUNK):
            yield chunk


async def measure(variant: str, url: str, path: str) -> dict[str, Any]:
    size = os.path.getsize(path)  # noqa: ASYNC240
    headers = {"Authorization": f"Bearer {TOKEN}"}
    if variant == "sdk":
        from dify_mgmt_async import DifyManagementClient

        dify = DifyManagementClient(url, TOKEN)
        try:
            await dify.apps.list(limit=20)  # warm: imports, connection
            gc.collect()
            before = rss_mib()
            t0 = time.perf_counter()
            doc = await dify.datasets.upload_document("ds", path)
            elapsed = time.perf_counter() - t0
            peak = peak_rss_mib()
            if doc.id != "d":
                raise BenchError(f"unexpected answer: {doc!r}")
        finally:
            await dify.aclose()
    else:
        import aiohttp

        async with aiohttp.ClientSession(headers=headers) as session:
            async with session.get(url + "/api/management/apps", params={"limit": "20"}) as resp:
                await resp.read()
            gc.collect()
            before = rss_mib()
            t0 = time.perf_counter()
            if variant == "aiohttp-file":
                with open(path, "rb") as fh:  # noqa: ASYNC230
                    async with session.post(url + UPLOAD_PATH, data=fh) as resp:
                        body = await resp.read()
            else:
                async with session.post(url + UPLOAD_PATH, data=_chunks(path)) as resp:
                    body = await resp.read()
            elapsed = time.perf_counter() - t0
            peak = peak_rss_mib()
            if resp.status != 201:
                raise BenchError(f"HTTP {resp.status}: {body[:200]!r}")
    return {
        "variant": variant,
        "bytes": size,
        "seconds": elapsed,
        "mib_per_s": size / 2**20 / elapsed,
        "rss_before_mib": before,
        "peak_rss_mib": peak,
        "rss_growth_mib": max(0.0, peak - before),
    }


def worker_main(args: argparse.Namespace) -> None:
    pinned = pin(CLIENT_CPU)
    result = asyncio.run(measure(args.variant, args.url, args.path))
    result["pinned"] = pinned
    emit(result)


def run(
    url: str,
    mib: int,
    variants: Sequence[str] = VARIANTS,
    timeout: float = 300.0,
    log: Callable[[str], object] = print,
) -> list[dict[str, Any]]:
    results = []
    with tempfile.TemporaryDirectory(prefix="dify-bench-upload-") as tmp:
        path = make_file(tmp, mib)
        for variant in variants:
            cmd = [PY, os.path.abspath(__file__), "--worker", "--variant", variant, "--url", url, "--path", path]
            r = run_worker(cmd, f"upload, {variant}", timeout)
            log(
                f"  {variant:<15} {r['mib_per_s']:8.0f} MiB/s  peak RSS growth {r['rss_growth_mib']:6.1f} MiB  "
                f"({r['seconds']:.1f} s)"
            )
            results.append(r)
    return results


def table(results: list[dict[str, Any]]) -> str:
    lines = [
        "| client | size | time | throughput | RSS before | peak RSS growth |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        lines.append(
            f"| {LABELS[r['variant']]} | {r['bytes'] / 2**20:,.0f} MiB | {r['seconds']:.2f} s | "
            f"{r['mib_per_s']:,.0f} MiB/s | {r['rss_before_mib']:.0f} MiB | {r['rss_growth_mib']:.1f} MiB |"
        )
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--variant", choices=VARIANTS, help=argparse.SUPPRESS)
    p.add_argument("--path", help=argparse.SUPPRESS)
    p.add_argument("--variants", nargs="+", choices=VARIANTS, default=list(VARIANTS))
    p.add_argument("--url", default=None, help="a running fast server (default: start one)")
    p.add_argument("--mib", type=int, default=1024, help="file size in MiB (default 1024)")
    args = p.parse_args()
    if args.worker:
        worker_main(args)
        return
    install_signal_handlers()
    if args.url:
        results = run(args.url, args.mib, args.variants)
    else:
        with FastServer() as server:
            results = run(server.url, args.mib, args.variants)
    print(table(results))


if __name__ == "__main__":
    main()
