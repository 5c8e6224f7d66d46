"""Spread a folder's upload over the worker processes of an arq job queue, all on one token.

Every worker runs its own ``DifyManagementClient`` with ``rate_limit_store=`` the queue's own
Redis, so the workers share one cooldown gate, one learned rate and one pacing schedule: to the
server they look like one polite client. One job per file, with a job id made of the dataset and
the file's path, so enqueuing the folder twice does not upload anything twice; a job is tried
once (``max_tries = 1``): an upload that failed is reported, never re-sent blindly.

    export DIFY_MGMT_BASE_URL=... DIFY_MGMT_TOKEN=... REDIS_URL=redis://127.0.0.1:6379/0
    python examples/arq_ingest.py worker &       # as many as you like, on any host
    python examples/arq_ingest.py enqueue DATASET_ID FOLDER --wait

``worker --burst`` exits once the queue is empty. Needs the ``[redis]`` and ``[examples]`` extras.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any, ClassVar

from arq import create_pool
from arq.connections import RedisSettings
from arq.jobs import Job
from arq.worker import Function, func, run_worker

from dify_mgmt_async import DifyManagementClient

REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")


async def startup(ctx: dict[str, Any]) -> None:
    """One client per worker process, sharing its rate limits with the others through Redis."""
    ctx["dify"] = DifyManagementClient(rate_limit_store=REDIS_URL, timeout=300)


async def shutdown(ctx: dict[str, Any]) -> None:
    await ctx["dify"].aclose()


async def upload_file(ctx: dict[str, Any], dataset_id: str, path: str) -> dict[str, Any]:
    """The job: upload one file (streamed from disk)."""
    dify: DifyManagementClient = ctx["dify"]
    document = await dify.datasets.upload_document(dataset_id, path)
    return {"path": path, "document_id": document.id, "worker": os.getpid()}


class WorkerSettings:
    """``arq examples.arq_ingest.WorkerSettings`` works too."""

    functions: ClassVar[list[Function]] = [func(upload_file, max_tries=1)]
    on_startup = startup
    on_shutdown = shutdown
    redis_settings = RedisSettings.from_dsn(REDIS_URL)
    max_jobs = 16  # files in flight per worker; the shared store paces them all together
    max_tries = 1
    poll_delay = 0.05


async def enqueue(dataset_id: str, files: list[Path], wait: bool) -> dict[str, Any]:
    redis = await create_pool(WorkerSettings.redis_settings)
    jobs: list[Job] = []
    for path in files:
        job = await redis.enqueue_job("upload_file", dataset_id, str(path), _job_id=f"upload:{dataset_id}:{path}")
        if job is not None:  # None: this file's job was enqueued before
            jobs.append(job)
    print(f"enqueued {len(jobs)} of {len(files)} files", flush=True)
    summary: dict[str, Any] = {"files": len(files), "enqueued": len(jobs)}
    if wait:
        waits = (job.result(timeout=600, poll_delay=0.1) for job in jobs)
        results: list[Any] = await asyncio.gather(*waits, return_exceptions=True)
        done = [r for r in results if isinstance(r, dict)]
        summary["uploaded"] = len(done)
        summary["failed"] = [repr(r) for r in results if not isinstance(r, dict)]
        summary["per_worker"] = {str(w): sum(1 for r in done if r["worker"] == w) for w in {r["worker"] for r in done}}
    await redis.aclose()
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    worker = sub.add_parser("worker", help="run one worker process")
    worker.add_argument("--burst", action="store_true", help="exit once the queue is empty")
    queue = sub.add_parser("enqueue", help="enqueue one upload job per file of FOLDER")
    queue.add_argument("dataset_id")
    queue.add_argument("folder", type=Path)
    queue.add_argument("--wait", action="store_true", help="wait for every job and print a JSON summary")
    args = parser.parse_args()
    if args.command == "worker":
        run_worker(WorkerSettings, burst=args.burst)  # type: ignore[arg-type]
    else:
        files = sorted(p for p in args.folder.rglob("*") if p.is_file())
        summary = asyncio.run(enqueue(args.dataset_id, files, args.wait))
        print(json.dumps(summary), flush=True)
        sys.exit(1 if summary.get("failed") else 0)


if __name__ == "__main__":
    main()
