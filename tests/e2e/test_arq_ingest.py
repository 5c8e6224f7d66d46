"""The job-queue example end to end: 3 arq workers on a real redis-server upload 60 files, each exactly once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from dify_mgmt_async import DifyManagementClient
from dify_mgmt_async.emulator.server import EmulatorServer
from tests.redis_server import RedisServer

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "arq_ingest.py"


@pytest.mark.dify_emulator(rate=50, burst=5)
@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_three_arq_workers_upload_sixty_files_exactly_once(
    anyio_backend: str, dify_emulator_server: EmulatorServer, own_redis_server: RedisServer, tmp_path: Path
) -> None:
    async with DifyManagementClient(dify_emulator_server.base_url, dify_emulator_server.token) as dify:
        dataset = await dify.datasets.create(name="arq-ingest")
    folder = tmp_path / "docs"
    folder.mkdir()
    for i in range(60):
        (folder / f"note-{i:02d}.md").write_text(f"# Note {i}\n\nGenerated for the arq example.\n", encoding="utf-8")
    env = {
        **os.environ,
        "DIFY_MGMT_BASE_URL": dify_emulator_server.base_url,
        "DIFY_MGMT_TOKEN": dify_emulator_server.token,
        "REDIS_URL": own_redis_server.url,
    }

    def run(*args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, str(EXAMPLE), *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )

    enqueuer = run("enqueue", dataset.id, str(folder), "--wait")
    assert enqueuer.stdout is not None
    assert enqueuer.stdout.readline().strip() == "enqueued 60 of 60 files"
    workers = [run("worker", "--burst") for _ in range(3)]
    out, err = enqueuer.communicate(timeout=120)
    for w in workers:
        w.communicate(timeout=60)
        assert w.returncode == 0
    summary = json.loads(out.strip().splitlines()[-1])
    assert enqueuer.returncode == 0, (out, err)
    assert summary["uploaded"] == 60 and summary["failed"] == []
    assert sum(summary["per_worker"].values()) == 60
    names = Counter(u["name"] for u in dify_emulator_server.store.uploads() if u["dataset_id"] == dataset.id)
    assert names == Counter({f"note-{i:02d}.md": 1 for i in range(60)})
    # Enqueuing the same folder again adds no job: the job ids are the files' paths.
    again = run("enqueue", dataset.id, str(folder))
    out, _ = again.communicate(timeout=60)
    assert out.splitlines()[0] == "enqueued 0 of 60 files"
