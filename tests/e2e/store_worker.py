"""One worker process of the shared-store end-to-end tests: N dataset creates with its own client.

    python -m tests.e2e.store_worker BASE_URL TOKEN --prefix p0 --creates 30 [--redis URL] [--max-in-flight 4]
        [--go-on-stdin]

Prints one JSON line: successes, errors, 429s met, elapsed, the time of the first success.
Logs (the store's warnings) go to stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
import time

from dify_mgmt_async import DifyManagementClient, bulk
from dify_mgmt_async.redis_store import RedisRateLimitStore


async def run(args: argparse.Namespace) -> dict[str, object]:
    store = None
    if args.redis:
        store = RedisRateLimitStore(args.redis, max_in_flight=args.max_in_flight, lease_ttl=args.lease_ttl)
    first: list[float] = []

    async def create(name: str) -> object:
        dataset = await dify.datasets.create(name=name)
        if not first:
            first.append(time.time())
        return dataset

    names = [f"{args.prefix}-{i}" for i in range(args.creates)]
    async with DifyManagementClient(
        args.base_url, args.token, rate_limit_store=store, timeout=60, max_rate_limit_retries=args.rate_limit_retries
    ) as dify:
        print("ready", file=sys.stderr, flush=True)
        if args.go_on_stdin:  # started ahead (imports done), it sends nothing until the test says so
            await asyncio.to_thread(sys.stdin.readline)
        started = time.monotonic()
        results = await bulk.map(create, names, concurrency=args.concurrency)
        elapsed = time.monotonic() - started
        stats = dify.stats
    if store is not None:
        await store.aclose()
    errors = [repr(r) for r in results if isinstance(r, Exception)]
    return {
        "ok": len(results) - len(errors),
        "errors": errors[:5],
        "n_errors": len(errors),
        "rate_limited": stats.rate_limited,
        "requests": stats.requests,
        "elapsed": elapsed,
        "first_success": first[0] if first else None,
    }


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("base_url")
    p.add_argument("token")
    p.add_argument("--prefix", required=True)
    p.add_argument("--creates", type=int, required=True)
    p.add_argument("--concurrency", type=int, default=16)
    p.add_argument("--redis", default="")
    p.add_argument("--max-in-flight", type=int, default=None)
    p.add_argument("--lease-ttl", type=float, default=60.0)
    p.add_argument("--rate-limit-retries", type=int, default=5)
    p.add_argument("--go-on-stdin", action="store_true", help="after 'ready', wait for a line on stdin")
    args = p.parse_args()
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(levelname)s %(message)s")
    print(json.dumps(asyncio.run(run(args))), flush=True)


if __name__ == "__main__":
    main()
