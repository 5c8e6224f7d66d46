"""``dify-mgmt emulator``: the emulator's own argument parser, passed through."""

from __future__ import annotations

import json
import os
import signal
import socket
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


PROG = "python -m dify_mgmt_async.emulator"


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (["--fail-rate", "2"], {}, "argument --fail-rate: must be between 0 and 1 (got 2.0)"),
        (["--burst", "-1"], {}, "argument --burst: must be a number >= 0 (got -1)"),
        (["--latency-ms", "inf"], {}, "argument --latency-ms: must be a finite number (got inf)"),
        (["--port", "70000"], {}, "argument --port: must be between 0 and 65535 (got 70000)"),
        ([], {"DIFY_EMULATOR_PORT": "abc"}, "argument --port: DIFY_EMULATOR_PORT: invalid int value: 'abc'"),
        (
            [],
            {"DIFY_EMULATOR_LIMITER": "leaky"},
            "argument --limiter: DIFY_EMULATOR_LIMITER: must be one of token-bucket, gcra, fixed-window, sliding-log "
            "(got 'leaky')",
        ),
        (["--rate", "fast"], {}, "argument --rate: invalid float value: 'fast'"),
    ],
    ids=["fail-rate", "burst", "latency-inf", "port-range", "env-port", "env-limiter", "not-a-number"],
)
def test_a_bad_setting_is_one_usage_line_and_exit_2(args: list[str], env: dict[str, str], message: str) -> None:
    """A value `configure()` refuses, or a bad DIFY_EMULATOR_* variable, used to end in a traceback."""
    result = subprocess.run(
        [*CLI, "emulator", *args], capture_output=True, text=True, env={**os.environ, **env}, timeout=60, check=False
    )
    assert (result.returncode, result.stdout, result.stderr) == (2, "", f"{PROG}: error: {message}\n")


def test_python_m_emulator_says_it_alike() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "dify_mgmt_async.emulator", "--burst", "-1"],
        capture_output=True,
        text=True,
        env={**os.environ, "DIFY_EMULATOR_PORT": "abc"},
        timeout=60,
        check=False,
    )
    assert (result.returncode, result.stderr) == (
        2,
        f"{PROG}: error: argument --burst: must be a number >= 0 (got -1)\n",
    )


def test_a_busy_port_is_one_line_and_exit_1() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [*CLI, "emulator", "--port", str(port)], capture_output=True, text=True, timeout=60, check=False
        )
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == (
        f"{PROG}: error: the emulator did not start on 127.0.0.1:{port}: [Errno 98] error while attempting to bind "
        f"on address ('127.0.0.1', {port}): address already in use\n"
    )


def test_a_spec_that_cannot_be_read_is_one_line_and_exit_2(tmp_path: Path) -> None:
    missing = tmp_path / "missing.yaml"
    result = subprocess.run(
        [*CLI, "emulator", "--port", "0", "--spec", str(missing)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == (
        f"{PROG}: error: argument --spec: {missing}: FileNotFoundError: [Errno 2] No such file or directory: "
        f"'{missing}'\n"
    )


def test_a_variable_is_read_only_when_its_flag_is_not_given(monkeypatch: pytest.MonkeyPatch) -> None:
    """argparse converts a default from DIFY_EMULATOR_* only for a flag left out: a flag overrides a bad variable."""
    from dify_mgmt_async.emulator.server import parse_args

    monkeypatch.setenv("DIFY_EMULATOR_PORT", "abc")
    monkeypatch.setenv("DIFY_EMULATOR_FAIL_RATE", "2")
    monkeypatch.setenv("DIFY_EMULATOR_SEED", "7")
    args = parse_args(["--port", "0", "--fail-rate", "0.5"])
    assert (args.port, args.fail_rate, args.seed) == (0, 0.5, 7)
    monkeypatch.setenv("DIFY_EMULATOR_PORT", "6001")
    assert parse_args(["--fail-rate", "0"]).port == 6001
