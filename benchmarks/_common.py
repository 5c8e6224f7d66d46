"""Shared helpers of the benchmark scripts: CPU pinning, child processes, the fast server, worker results."""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PY = sys.executable

SERVER_CPU = 1
CLIENT_CPU = 0
RESULT_PREFIX = "BENCH-RESULT "

_children: list[subprocess.Popen[bytes]] = []


class BenchError(RuntimeError):
    """A benchmark step failed; the message says which and why."""


def pin(cpu: int) -> bool:
    """Pin this process to ``cpu``; False (and a warning) when the machine does not have that core."""
    try:
        available = os.sched_getaffinity(0)
    except AttributeError:  # not Linux
        return False
    if cpu not in available and cpu >= (os.cpu_count() or 1):
        print(f"warning: CPU {cpu} not available, not pinning", file=sys.stderr)
        return False
    os.sched_setaffinity(0, {cpu})
    return True


def _kill(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=5)


def kill_children() -> None:
    while _children:
        _kill(_children.pop())


atexit.register(kill_children)


def _on_signal(signum: int, _frame: object) -> None:
    kill_children()
    sys.exit(128 + signum)


def install_signal_handlers() -> None:
    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGHUP, _on_signal)


def _child_setup(cpu: int | None) -> Callable[[], None]:
    def setup() -> None:
        # Linux: the child gets SIGTERM if this process dies, even by SIGKILL.
        with contextlib.suppress(Exception):
            import ctypes

            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
        if cpu is not None:
            with contextlib.suppress(OSError, AttributeError):  # a one-core machine: share
                os.sched_setaffinity(0, {cpu})

    return setup


def spawn(cmd: Sequence[str], cpu: int | None = None, **kwargs: Any) -> subprocess.Popen[bytes]:
    """Start a child (pinned to ``cpu`` if given) in its own process group; killed when this process exits."""
    proc = subprocess.Popen(list(cmd), start_new_session=True, preexec_fn=_child_setup(cpu), **kwargs)
    _children.append(proc)
    return proc


def stop(proc: subprocess.Popen[bytes]) -> None:
    _kill(proc)
    if proc in _children:
        _children.remove(proc)


def wait_for_file(path: Path, proc: subprocess.Popen[bytes], what: str, timeout: float = 30.0) -> str:
    deadline = time.monotonic() + timeout
    while True:
        if path.exists() and path.stat().st_size > 0:
            text = path.read_text().strip()
            if text:
                return text
        if proc.poll() is not None:
            raise BenchError(f"{what} exited with code {proc.returncode} before it was ready")
        if time.monotonic() > deadline:
            raise BenchError(f"{what} did not become ready within {timeout:.0f} s")
        time.sleep(0.02)


class FastServer:
    """``benchmarks/server.py`` in a child process pinned to the server CPU."""

    def __init__(self) -> None:
        self._dir = tempfile.TemporaryDirectory(prefix="dify-bench-")
        self.proc: subprocess.Popen[bytes] | None = None
        self.url = ""

    def __enter__(self) -> FastServer:
        port_file = Path(self._dir.name) / "port"
        self.proc = spawn([PY, str(HERE / "server.py"), "--port", "0", "--port-file", str(port_file)])
        port = wait_for_file(port_file, self.proc, "the fast server")
        self.url = f"http://127.0.0.1:{port}"
        return self

    def check(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            raise BenchError("the fast server died")

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None:
            stop(self.proc)
        self._dir.cleanup()


def emit(result: dict[str, Any]) -> None:
    """What a worker prints last: one line the driver parses."""
    print(RESULT_PREFIX + json.dumps(result), flush=True)


def run_worker(cmd: Sequence[str], what: str, timeout: float) -> dict[str, Any]:
    """Run a worker script in a child process with a timeout; its result line as a dict."""
    proc = spawn(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        stop(proc)
        raise BenchError(f"{what}: timed out after {timeout:.0f} s") from None
    except BaseException:
        stop(proc)
        raise
    if proc in _children:
        _children.remove(proc)
    text = out.decode(errors="replace")
    for line in reversed(text.splitlines()):
        if line.startswith(RESULT_PREFIX):
            if proc.returncode != 0:
                break
            result: dict[str, Any] = json.loads(line[len(RESULT_PREFIX) :])
            return result
    tail = "\n".join(err.decode(errors="replace").strip().splitlines()[-15:])
    raise BenchError(f"{what}: worker failed (exit code {proc.returncode})\n{tail}")


def rss_mib() -> float:
    """Current resident set size of this process in MiB."""
    with open("/proc/self/statm") as fh:
        pages = int(fh.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def peak_rss_mib() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
