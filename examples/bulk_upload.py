"""Bulk upload: create a dataset, upload 200 generated documents 32 at a time, wait for indexing, page, summarise.

Runs against ``DIFY_MGMT_BASE_URL`` / ``DIFY_MGMT_TOKEN`` when both are set; otherwise it starts the
embedded emulator (``dify_mgmt_async.emulator``) in a background thread, rate-limited so 429s happen.

    python examples/bulk_upload.py [--documents 200] [--concurrency 32]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import uuid
from contextlib import ExitStack

import anyio
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from dify_mgmt_async import DifyManagementClient

console = Console()


def make_document(i: int) -> bytes:
    lines = [f"# Note {i}", "", f"This is generated document number {i} for the bulk upload demo."]
    lines += [f"Line {n}: the quick brown fox jumps over the lazy dog." for n in range(i % 7 + 1)]
    return "\n".join(lines).encode()


async def run(base_url: str, token: str, documents: int, concurrency: int) -> int:
    started = time.monotonic()
    async with DifyManagementClient(base_url, token, max_concurrency=concurrency) as dify:
        dataset = await dify.datasets.create(name=f"bulk-demo-{uuid.uuid4().hex[:8]}")
        console.print(f"Created dataset [bold]{dataset.name}[/] ({dataset.id})")
        await dify.apps.create(name=f"bulk-demo-app-{uuid.uuid4().hex[:8]}", mode="chat")
        uploaded: list[str] = []
        limiter = anyio.Semaphore(concurrency)
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
        ) as progress:
            task = progress.add_task("Uploading", total=documents)

            async def upload(i: int) -> None:
                async with limiter:
                    doc = await dify.datasets.upload_document(
                        dataset.id,
                        make_document(i),
                        filename=f"note-{i:04d}.md",
                        process_rule={"chunk_size": 500, "chunk_overlap": 50},
                    )
                uploaded.append(doc.id)
                progress.advance(task)

            async with anyio.create_task_group() as tg:
                for i in range(documents):
                    tg.start_soon(upload, i)

            waiting = progress.add_task("Indexing", total=documents)
            while True:
                done = errors = 0
                async for doc in dify.datasets.list_documents(dataset.id, limit=100):
                    status = str(doc.indexing_status)
                    done += status == "completed"
                    errors += status == "error"
                progress.update(waiting, completed=done + errors)
                if done + errors >= documents:
                    break
                await anyio.sleep(0.25)

        listed = [doc async for doc in dify.datasets.list_documents(dataset.id, limit=50)]
        apps = [app async for app in dify.apps.list(limit=20)]
        stats = dify.stats
    elapsed = time.monotonic() - started
    console.print()
    console.print("[bold]Summary[/]")
    console.print(f"  documents uploaded: {len(uploaded)} ({done} completed, {errors} failed indexing)")
    console.print(f"  documents listed:   {len(listed)} (pages of 50); apps listed: {len(apps)}")
    console.print(f"  requests:           {stats.requests}")
    console.print(f"  429s met:           {stats.rate_limited}")
    console.print(f"  retries:            {stats.retries}")
    console.print(f"  cooldown seconds:   {stats.cooldown_seconds:.2f}")
    console.print(f"  elapsed:            {elapsed:.2f} s")
    ok = len(uploaded) == documents and len(listed) == documents and done == documents
    return 0 if ok else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--rate", type=float, default=float(os.environ.get("DIFY_EMULATOR_RATE", "100")))
    parser.add_argument("--burst", type=int, default=int(os.environ.get("DIFY_EMULATOR_BURST", "5")))
    parser.add_argument(
        "--retry-after",
        choices=("seconds", "ms", "http-date", "none"),
        default=os.environ.get("DIFY_EMULATOR_RETRY_AFTER", "seconds"),
        help="how the embedded emulator's 429s say when to retry (real servers mostly send whole seconds)",
    )
    args = parser.parse_args()
    base_url, token = os.environ.get("DIFY_MGMT_BASE_URL"), os.environ.get("DIFY_MGMT_TOKEN")
    emulator = None
    with ExitStack() as stack:
        if not (base_url and token):
            from dify_mgmt_async.emulator import EmulatorServer

            server = EmulatorServer(
                rate=args.rate, burst=args.burst, retry_after=args.retry_after, indexing_seconds=1.0
            )
            emulator = stack.enter_context(server)
            base_url, token = emulator.base_url, emulator.token
            console.print(
                f"Embedded emulator on {base_url} (rate {args.rate:g}/s, burst {args.burst}, "
                f"Retry-After: {args.retry_after})"
            )
        else:
            console.print(f"Using {base_url}")
        code = anyio.run(run, base_url, token, args.documents, args.concurrency)
        if emulator is not None:
            seen = emulator.stats()
            console.print(f"  server saw:         {seen['requests_total']} requests, {seen['rate_limited']} 429s sent")
    return code


if __name__ == "__main__":
    sys.exit(main())
