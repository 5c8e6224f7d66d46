"""``dify-mgmt emulator``: the emulator's own argument parser, passed through."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

CLI = [sys.executable, "-m", "dify_mgmt_async.cli"]


def test_help_is_the_emulators_own_parser() -> None:
    """Every option of `python -m dify_mgmt_async.emulator` appears, because the same parser reads them."""
    env = {**os.environ, "COLUMNS": "120"}
    ours = subprocess.run([*CLI, "emulator", "--help"], capture_output=True, text=True, env=env, check=False)
    theirs = subprocess.run(
        [sys.executable, "-m", "dify_mgmt_async.emulator", "--help"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert (ours.returncode, theirs.returncode) == (0, 0)
    assert ours.stdout == theirs.stdout
    assert "--latency-ms" in ours.stdout and "--indexing-fail-rate" in ours.stdout


def test_bad_option_is_the_parsers_usage_error() -> None:
    result = subprocess.run([*CLI, "emulator", "--rate", "fast"], capture_output=True, text=True, check=False)
    assert result.returncode == 2
    assert "argument --rate: invalid float value: 'fast'" in result.stderr


@pytest.mark.usefixtures("sigint_reaches_children")
def test_starts_serves_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    port_file = tmp_path / "port"
    process = subprocess.Popen(
        [*CLI, "emulator", "--port", "0", "--port-file", str(port_file), "--token", "tok-1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while not port_file.exists():
            assert process.poll() is None and time.monotonic() < deadline, (
                process.stderr.read() if process.stderr else ""
            )
            time.sleep(0.05)
        base_url, token, _secret = port_file.read_text(encoding="utf-8").split()
        assert token == "tok-1" and base_url.startswith("http://127.0.0.1:")
        result = subprocess.run(
            [*CLI, "--base-url", base_url, "--token", token, "users", "get-current"],
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout)["role"] == "owner"
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.communicate(timeout=30)
        finally:
            if process.poll() is None:  # it ignored Ctrl-C: a failure, not a process left running into later tests
                process.kill()
                process.communicate()
    assert process.returncode == 0
