"""The crash test, for real: ``dify-mgmt datasets upload`` of 300 files is SIGKILLed at random moments and rerun.

Each round starts the command as a subprocess against an emulator with latency and kills it with
SIGKILL once the server holds a random number (1 to 45) more documents than before the round, plus
a random few milliseconds, or, in one round, at a random time that may fall in start-up. After the
rounds a last run completes, and the dataset must hold exactly one document per file: none
duplicated, none missing. The seed is printed (``-s`` shows it; a failure message repeats it); set
``DIFY_CRASH_SEED`` to replay one. A second test: Ctrl-C exits 130, then a rerun completes.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dify_mgmt_async.cli._upload import document_name
from dify_mgmt_async.emulator.server import EmulatorServer

FILES = 300
KILL_ROUNDS = 6  # five kills a random number of documents further on, one at a random time
POLL = 0.002


def make_files(root: Path) -> list[str]:
    """300 small files in 10 folders, each folder with the same 30 file names."""
    relatives = []
    for folder in range(10):
        for i in range(30):
            relative = f"part-{folder}/doc-{i:02}.txt"
            path = root / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(f"folder {folder}, document {i}\n" * (1 + i % 7), encoding="utf-8")
            relatives.append(relative)
    return relatives


def command(server: EmulatorServer, dataset: str, root: Path, journal: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "dify_mgmt_async.cli",
        "--base-url",
        server.base_url,
        "--output",
        "json",
        "datasets",
        "upload",
        dataset,
        str(root),
        "--recursive",
        "--concurrency",
        "8",
        "--journal",
        str(journal),
    ]


def server_documents(server: EmulatorServer, dataset: str) -> list[str]:
    return [d["name"] for d in server.store.list_documents(dataset, None)]


@pytest.mark.dify_emulator(latency_ms=15, indexing_seconds=0.05)
def test_sigkill_at_random_moments_then_rerun_leaves_one_document_per_file(
    dify_emulator_server: EmulatorServer, tmp_path: Path
) -> None:
    seed = int(os.environ.get("DIFY_CRASH_SEED", random.SystemRandom().randrange(1_000_000)))
    print(f"crash test seed: {seed} (replay with DIFY_CRASH_SEED={seed})")
    rng = random.Random(seed)
    server = dify_emulator_server
    dataset = server.store.create_dataset({"name": "crash"})["id"]
    relatives = make_files(tmp_path / "files")
    journal = tmp_path / "journal.sqlite3"
    argv = command(server, dataset, tmp_path / "files", journal)
    env = {**os.environ, "DIFY_MGMT_TOKEN": server.token}

    rounds: list[tuple[str, float]] = [("documents", rng.randint(1, 45)) for _ in range(KILL_ROUNDS - 1)]
    # A run at full speed uploads all FILES in well under a second and a half: a kill by time comes early
    # enough to land mid-way, and a kill by count stays short of the end, whatever the rounds before did.
    rounds.insert(rng.randrange(len(rounds) + 1), ("seconds", rng.uniform(0.05, 0.6)))
    killed_with: list[tuple[str, float, int]] = []
    sending_after_kill = 0
    for kind, step in rounds:
        # more each round, short of the last file
        at = min(len(server_documents(server, dataset)) + step, FILES - 10) if kind == "documents" else step
        process = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        started = time.monotonic()
        while process.poll() is None:
            if kind == "seconds" and time.monotonic() - started >= at:
                break
            if kind == "documents" and len(server_documents(server, dataset)) >= int(at):
                time.sleep(rng.uniform(0, 0.03))
                break
            if time.monotonic() - started > 60:
                break
            time.sleep(POLL)
        still_running = process.poll() is None
        process.send_signal(signal.SIGKILL)
        process.communicate(timeout=30)
        if still_running:
            killed_with.append((kind, at, len(server_documents(server, dataset))))
        if journal.exists():
            with sqlite3.connect(journal) as db:
                sending_after_kill += db.execute("SELECT count(*) FROM files WHERE state = 'sending'").fetchone()[0]
    print(f"killed at (kind, target, documents then): {killed_with}; rows left sending: {sending_after_kill}")
    assert len(killed_with) >= 5, f"seed {seed}: only {len(killed_with)} runs were killed mid-way: {killed_with}"
    assert sending_after_kill > 0, f"seed {seed}: no kill left a file in `sending`, so nothing was reconciled"

    final = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert final.returncode == 0, f"seed {seed}: {final.stderr}"
    summary = json.loads(final.stdout)
    assert summary["failed"] == [], f"seed {seed}"

    names = server_documents(server, dataset)
    duplicates = sorted({n for n in names if names.count(n) > 1})
    expected = {document_name(r) for r in relatives}
    assert duplicates == [], f"seed {seed}: duplicated documents {duplicates}"
    assert set(names) == expected, f"seed {seed}: missing {sorted(expected - set(names))[:5]}"
    assert len(names) == FILES
    with sqlite3.connect(journal) as db:
        rows = db.execute("SELECT path, state, document_id FROM files").fetchall()
    ids = {d["name"]: d["id"] for d in server.store.list_documents(dataset, None)}
    assert sorted((p, s, d) for p, s, d in rows) == sorted((r, "done", ids[document_name(r)]) for r in relatives)


@pytest.mark.dify_emulator(latency_ms=300)
@pytest.mark.usefixtures("sigint_reaches_children")
def test_ctrl_c_exits_130_and_the_rerun_completes(dify_emulator_server: EmulatorServer, tmp_path: Path) -> None:
    """SIGINT mid-upload: exit code 130, no traceback; the rerun finishes with one document per file.

    60 files at 8 in flight and 300 ms each take about 2.4 s: Ctrl-C, sent once the first document is there,
    lands mid-way even when a loaded machine delivers it late.
    """
    server = dify_emulator_server
    dataset = server.store.create_dataset({"name": "interrupted"})["id"]
    root = tmp_path / "files"
    root.mkdir()
    for i in range(60):
        (root / f"f{i:02}.txt").write_text(f"file {i}\n", encoding="utf-8")
    argv = command(server, dataset, root, tmp_path / "journal.sqlite3")
    env = {**os.environ, "DIFY_MGMT_TOKEN": server.token}
    process = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while process.poll() is None and not server_documents(server, dataset) and time.monotonic() < deadline:
        time.sleep(POLL)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr
    # What the interrupted run left in flight lands (or not) before the rerun looks; the rerun at full speed.
    while server.store.in_flight and time.monotonic() < deadline:
        time.sleep(POLL)
    server.configure(latency_ms=0)
    assert len(server_documents(server, dataset)) < 60
    final = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert final.returncode == 0, final.stderr
    names = server_documents(server, dataset)
    assert sorted(names) == [f"f{i:02}.txt" for i in range(60)]
