"""The emulator's CPU time per request, by kind of request: what request validation costs the server.

Starts ``python -m dify_mgmt_async.emulator`` in a process of its own, sends N requests of each kind
over one keep-alive connection, and reads the emulator process's CPU time (user + system, from
``/proc``) before and after each batch, so the client's own work is not counted. Linux only.

    .venv/bin/python benchmarks/emulator_cpu.py [-n 2000]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx

P = "/api/management"


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start(port_file: str) -> tuple[subprocess.Popen[bytes], str, str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "dify_mgmt_async.emulator", "--port", "0", "--port-file", port_file],
        stdout=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while not os.path.exists(port_file):
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError("the emulator did not start")
        time.sleep(0.05)
    base_url, token, _secret = Path(port_file).read_text().split()
    return proc, base_url, token


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", type=int, default=2000, help="requests of each kind (default 2000)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        proc, base_url, token = start(os.path.join(tmp, "port"))
        try:
            with httpx.Client(base_url=base_url + P, headers={"Authorization": f"Bearer {token}"}) as client:
                dataset = client.post("/datasets", json={"name": "bench"}).json()["id"]
                counter = iter(range(10**9))
                kinds: dict[str, Callable[[], httpx.Response]] = {
                    "GET /users/current (no parameters)": lambda: client.get("/users/current"),
                    "GET /apps?page=1&limit=20&name=a": lambda: client.get(
                        "/apps", params={"page": 1, "limit": 20, "name": "a"}
                    ),
                    "POST /datasets (JSON body, 201)": lambda: client.post(
                        "/datasets", json={"name": f"d{next(counter)}", "description": "x", "permission": "only_me"}
                    ),
                    "POST /apps (invalid body, 400)": lambda: client.post("/apps", json={"name": "", "mode": "x"}),
                    "POST .../documents/upload (1 KiB file + process_rule)": lambda: client.post(
                        f"/datasets/{dataset}/documents/upload",
                        files={
                            "file": (f"f{next(counter)}.txt", b"word " * 200),
                            "process_rule": (None, json.dumps({"chunk_size": 500}), "application/json"),
                        },
                    ),
                }
                print(f"emulator CPU per request, n={args.n} each (µs)")
                for name, call in kinds.items():
                    for _ in range(50):  # warm up
                        call()
                    before = cpu_seconds(proc.pid)
                    statuses = {call().status_code for _ in range(args.n)}
                    spent = cpu_seconds(proc.pid) - before
                    print(f"  {name:55} {spent / args.n * 1e6:8.0f}   statuses {sorted(statuses)}")
        finally:
            proc.terminate()
            proc.wait(timeout=10)


if __name__ == "__main__":
    main()
