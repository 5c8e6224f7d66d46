"""The CLI's resume, shown: ``dify-mgmt datasets upload`` is killed half-way (SIGKILL), then rerun.

Starts the emulator in a background thread (30 ms latency, 100 requests/s), writes 200 small
files in 4 folders, uploads them with the CLI, kills it about a second into the uploads, and runs the same
command again: the journal skips what was done, reconciles what was in flight, and sends the
rest. It ends by counting the dataset's documents: one per file.

    python examples/cli_resume.py [--files 200] [--kill-after 1.0]
"""

from __future__ import annotations

import argparse
import os
import shlex
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from dify_mgmt_async.emulator import EmulatorServer


def show(argv: list[str]) -> None:
    shown = ["dify-mgmt", *argv[3:]]
    print(f"\n$ {shlex.join(shown)}", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--files", type=int, default=200)
    parser.add_argument("--kill-after", type=float, default=1.0, help="seconds of uploading before the SIGKILL")
    args = parser.parse_args()
    with (
        EmulatorServer(latency_ms=30, rate=100, burst=20, indexing_seconds=0.2) as server,
        tempfile.TemporaryDirectory(prefix="dify-demo-") as tmp,
    ):
        print(f"Embedded emulator on {server.base_url} (30 ms latency, rate 100/s, burst 20)")
        root = Path(tmp, "docs")
        for i in range(args.files):
            path = root / f"part-{i % 4}" / f"note-{i:04d}.md"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(f"# Note {i}\n\nGenerated for the resume demo.\n", encoding="utf-8")
        dataset = server.store.create_dataset({"name": "resume-demo"})["id"]
        env = {**os.environ, "DIFY_MGMT_BASE_URL": server.base_url, "DIFY_MGMT_TOKEN": server.token}
        cli = [sys.executable, "-m", "dify_mgmt_async.cli"]
        upload = [*cli, "--output", "table", "datasets", "upload", dataset, str(root), "--recursive"]
        upload += ["--journal", str(Path(tmp, "journal.sqlite3")), "--concurrency", "16"]

        show(upload)
        process = subprocess.Popen(upload, env=env)
        while process.poll() is None and len(server.store.list_documents(dataset, None)) == 0:
            time.sleep(0.01)  # start-up (imports) is not uploading time
        time.sleep(args.kill_after)
        process.send_signal(signal.SIGKILL)
        process.wait()
        done = len(server.store.list_documents(dataset, None))
        print(f"\n^ killed with SIGKILL after {done} of {args.files} documents", flush=True)

        show(upload)
        rerun = subprocess.run(upload, env=env, check=False)
        names = [d["name"] for d in server.store.list_documents(dataset, None)]
        print(f"\nthe dataset holds {len(names)} documents, {len(set(names))} distinct names, for {args.files} files")
        ok = rerun.returncode == 0 and len(names) == len(set(names)) == args.files
        return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
