"""Many processes, one token, one real redis-server: the shared store end to end, faults included.

Workers are separate processes (``tests/e2e/store_worker.py``), each with its own client, all
against one emulator (in this process) and one redis-server (``tests/redis_server.py``).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis

from dify_mgmt_async._store import namespace_for
from dify_mgmt_async.emulator.server import EmulatorServer
from tests.redis_server import RedisServer

ROOT = Path(__file__).resolve().parents[2]


def start_worker(server: EmulatorServer, prefix: str, creates: int, *extra: str) -> subprocess.Popen[str]:
    cmd = [sys.executable, "-m", "tests.e2e.store_worker", server.base_url, server.token]
    cmd += ["--prefix", prefix, "--creates", str(creates), *extra]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        cmd, cwd=ROOT, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def finish(proc: subprocess.Popen[str], timeout: float = 60) -> tuple[dict[str, object], str]:
    out, err = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, err
    result: dict[str, object] = json.loads(out.strip().splitlines()[-1])
    return result, err


def wait_ready(proc: subprocess.Popen[str]) -> None:
    """The worker prints "ready" on stderr once its client is open (imports done)."""
    assert proc.stderr is not None
    line = proc.stderr.readline()
    assert line.strip() == "ready", line


@pytest.mark.dify_emulator(rate=50, burst=5)
def test_processes_share_one_token_through_the_store(
    dify_emulator_server: EmulatorServer, redis_server: RedisServer
) -> None:
    """3 processes x 30 creates: every dataset created exactly once, no errors, and the store learned a rate."""
    workers = [start_worker(dify_emulator_server, f"p{i}", 30, "--redis", redis_server.url) for i in range(3)]
    outcomes = [finish(w) for w in workers]
    results = [r for r, _ in outcomes]
    assert [r["ok"] for r in results] == [30, 30, 30], outcomes
    assert [r["n_errors"] for r in results] == [0, 0, 0]
    stats = dify_emulator_server.stats()
    assert stats["counts"]["datasets"] == 90  # names are unique on the server: a duplicate would be a 409
    client = redis.Redis.from_url(redis_server.url)
    ns = namespace_for(dify_emulator_server.base_url, dify_emulator_server.token)
    state_key = f"dify_mgmt_async:{{{ns}}}:state"
    state = client.hgetall(state_key)
    if stats["rate_limited"]:
        assert float(state[b"rate"]) > 0  # a 429 taught every process one shared rate
    assert int(state[b"ok"]) == 90
    assert 0 < client.pttl(state_key) <= 600_000
    client.close()


@pytest.mark.dify_emulator(rate=1000, burst=1000)
def test_a_killed_worker_gives_its_leases_back_within_the_lease_ttl(
    dify_emulator_server: EmulatorServer, redis_server: RedisServer
) -> None:
    """A worker SIGKILLed holding every slot of the global cap: another gets going at the leases' expiry.

    The other worker is started (and done importing) before the holder takes the leases: what happens
    within their 2 s must not include a process start-up, which a loaded machine can stretch past it.
    """
    cap = ["--redis", redis_server.url, "--max-in-flight", "4", "--lease-ttl", "2.0"]
    other = start_worker(dify_emulator_server, "other", 20, *cap, "--concurrency", "8", "--go-on-stdin")
    wait_ready(other)
    dify_emulator_server.configure(latency_ms=6_000)  # the holder's requests hang in flight
    holder = start_worker(dify_emulator_server, "holder", 4, *cap, "--concurrency", "4")
    client = redis.Redis.from_url(redis_server.url)
    ns = namespace_for(dify_emulator_server.base_url, dify_emulator_server.token)
    leases_key = f"dify_mgmt_async:{{{ns}}}:leases"
    until = time.monotonic() + 20
    while client.zcard(leases_key) < 4 or dify_emulator_server.store.in_flight < 4:
        assert time.monotonic() < until, "the holder never took its 4 leases"
        time.sleep(0.02)
    expiry = max(score for _, score in client.zrange(leases_key, 0, -1, withscores=True))
    holder.send_signal(signal.SIGKILL)
    holder.communicate()
    dify_emulator_server.configure(latency_ms=0)  # the holder's requests are in flight already, hanging
    killed_at = time.time()
    assert client.zcard(leases_key) == 4  # still held: killed mid-request
    assert other.stdin is not None
    other.stdin.write("go\n")
    other.stdin.flush()
    result, _ = finish(other)
    assert result["ok"] == 20 and result["n_errors"] == 0
    first = float(result["first_success"])  # type: ignore[arg-type]
    # Not before the dead worker's leases expire (the cap held), and soon after (they came back).
    assert expiry - 0.05 <= first <= max(expiry, killed_at) + 0.5
    assert first - killed_at <= 2.0 + 0.5
    client.close()


@pytest.mark.dify_emulator(rate=40, burst=5)
def test_redis_killed_mid_run_loses_nothing_and_rejoins(
    dify_emulator_server: EmulatorServer, own_redis_server: RedisServer
) -> None:
    """Redis dies mid-run and comes back: every create succeeds once; one warning per outage, then rejoined.

    A worker sleeping on a slot it already holds may not touch the store during the outage at all;
    at least one does, and each one that fell back also rejoined (the new, empty Redis counts them).
    During the outage the workers pace on their own (each at its share of the learned rate) and meet
    the 429s uncoordinated clients meet: they get 10 rate-limit retries rather than 5.
    """
    store = ["--redis", own_redis_server.url, "--rate-limit-retries", "10"]
    workers = [start_worker(dify_emulator_server, f"k{i}", 80, *store) for i in range(2)]
    for w in workers:
        wait_ready(w)
    time.sleep(0.6)
    own_redis_server.kill()
    time.sleep(0.6)
    own_redis_server.start()
    outcomes = [finish(w) for w in workers]
    assert [r["ok"] for r, _ in outcomes] == [80, 80], [r["errors"] for r, _ in outcomes]
    assert [r["n_errors"] for r, _ in outcomes] == [0, 0]
    assert dify_emulator_server.stats()["counts"]["datasets"] == 160
    events = [
        ["down" if "store unavailable" in line else "up" for line in err.splitlines() if "rate-limit store" in line]
        for _, err in outcomes
    ]
    assert any(events), events  # someone noticed the outage
    for worker in events:
        # Each outage this worker noticed (a loaded machine may add a slow answer) is one warning, then rejoined.
        assert worker == ["down", "up"] * (len(worker) // 2), events
    for _, err in outcomes:
        assert dify_emulator_server.token not in err
    client = redis.Redis.from_url(own_redis_server.url)
    ns = namespace_for(dify_emulator_server.base_url, dify_emulator_server.token)
    assert int(client.hget(f"dify_mgmt_async:{{{ns}}}:state", "ok") or 0) > 0  # written after the restart
    client.close()
