"""The emulator's pytest plugin: loaded by entry point, marker registered, a clear error without the extra."""

from __future__ import annotations

import importlib.metadata
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

USER_TESTS = """
import pytest


@pytest.mark.dify_emulator(rate=7, burst=3)
def test_marked(dify_emulator_server):
    assert (dify_emulator_server.config.rate, dify_emulator_server.config.burst) == (7, 3)


def test_fixture(dify_emulator):
    base_url, token = dify_emulator
    assert base_url.startswith("http://127.0.0.1:") and token
"""


def _pytest(folder: Path, *options: str) -> subprocess.CompletedProcess[str]:
    """pytest in a folder of a user's project: no conftest of ours, no config file, strict markers."""
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--strict-markers", *options, str(folder)],
        capture_output=True,
        text=True,
        cwd=folder,
        # a user's shell: no plugins or options of ours (``make mutation`` sets PYTEST_PLUGINS for its runs)
        env={k: v for k, v in os.environ.items() if k not in ("PYTEST_PLUGINS", "PYTEST_ADDOPTS")},
        timeout=120,
        check=False,
    )


def test_the_plugin_is_a_pytest11_entry_point() -> None:
    points = [e for e in importlib.metadata.entry_points(group="pytest11") if e.name == "dify_mgmt_async"]
    assert [e.value for e in points] == ["dify_mgmt_async.pytest_plugin"]


def test_fixtures_and_marker_work_with_no_conftest_under_strict_markers(tmp_path: Path) -> None:
    """The docstring's recipe, in a project with no pytest_plugins line: both tests pass."""
    (tmp_path / "test_user.py").write_text(USER_TESTS, encoding="utf-8")
    result = _pytest(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 passed" in result.stdout


def test_without_the_extra_pytest_starts_and_the_fixture_names_the_extra(tmp_path: Path) -> None:
    """python-multipart missing: other tests run; one using the emulator errors with the pip line."""
    (tmp_path / "conftest.py").write_text("import sys\n\nsys.modules['python_multipart'] = None\n", encoding="utf-8")
    (tmp_path / "test_user.py").write_text(
        USER_TESTS + "\n\ndef test_unrelated():\n    assert True\n", encoding="utf-8"
    )
    result = _pytest(tmp_path)
    assert "1 passed, 2 errors" in result.stdout, result.stdout + result.stderr
    assert "install dify-mgmt-async[emulator]" in result.stdout


def test_importing_the_emulator_without_the_extra_names_the_extra() -> None:
    code = textwrap.dedent(
        """
        import sys
        sys.modules["python_multipart"] = None
        try:
            import dify_mgmt_async.emulator
        except ModuleNotFoundError as exc:
            print(exc.name, "|", exc)
        """
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert result.stdout.strip() == (
        "python_multipart | dify_mgmt_async.emulator needs the [emulator] extra (missing module "
        "'python_multipart'): install dify-mgmt-async[emulator], for example pip install "
        "'dify-mgmt-async[emulator]'"
    )


MARKED_BADLY = """
import pytest


@pytest.mark.dify_emulator(rate=50, limiter="sliding_log")
def test_typo(dify_emulator):
    raise AssertionError("ran with a bad setting")


@pytest.mark.dify_emulator(rate="5")
def test_a_string(dify_emulator):
    raise AssertionError("ran with a bad setting")


@pytest.mark.dify_emulator(ratee=5)
def test_unknown(dify_emulator):
    raise AssertionError("ran with a bad setting")


@pytest.mark.dify_emulator({"rate": 5})
def test_positional(dify_emulator):
    raise AssertionError("ran with a bad setting")


@pytest.mark.dify_emulator(limiter="sliding-log", fail_rate=0.5)
def test_good(dify_emulator_server):
    assert (dify_emulator_server.config.limiter, dify_emulator_server.config.fail_rate) == ("sliding-log", 0.5)
"""


def test_a_bad_marker_setting_fails_the_setup_naming_the_setting_the_value_and_what_is_allowed(
    tmp_path: Path,
) -> None:
    """Checked as configure() checks: not every request of the test a 500 ``KeyError: 'sliding_log'``."""
    (tmp_path / "test_user.py").write_text(MARKED_BADLY, encoding="utf-8")
    result = _pytest(tmp_path)
    out = result.stdout
    assert "1 passed, 4 errors" in out, out + result.stderr
    assert "ran with a bad setting" not in out and "KeyError" not in out
    settable = (
        "rate, burst, limiter, retry_after, rate_limit_headers, fail_rate, latency_ms, drop_rate, "
        "indexing_seconds, indexing_fail_rate, max_upload_mb, token, control_secret, seed"
    )
    for test, message in (
        (
            "test_typo",
            "@pytest.mark.dify_emulator: limiter: must be one of token-bucket, gcra, fixed-window, sliding-log "
            "(got 'sliding_log')",
        ),
        ("test_a_string", "@pytest.mark.dify_emulator: rate: must be a number >= 0 (got '5')"),
        ("test_unknown", f"@pytest.mark.dify_emulator: ratee: unknown setting (settable: {settable})"),
        (
            "test_positional",
            "@pytest.mark.dify_emulator takes settings by name, as in dify_emulator(rate=10), not ({'rate': 5},)",
        ),
    ):
        assert re.search(rf"ERROR at setup of {test} _+\n{re.escape(message)}\n", out), message + "\n" + out


IN_FLIGHT = """
import asyncio, os, threading
import pytest
from dify_mgmt_async import APITimeoutError, DifyManagementClient

seen = {}


@pytest.mark.dify_emulator(latency_ms=30000)
def test_slow(dify_emulator_server):
    async def go():
        async with DifyManagementClient(
            dify_emulator_server.base_url, dify_emulator_server.token, timeout=0.5, max_retries=0
        ) as dify:
            with pytest.raises(APITimeoutError):
                await dify.apps.list()
    asyncio.run(go())
    assert dify_emulator_server.store.in_flight == 1  # the emulator still pauses the request the client gave up on
    seen["dir"] = dify_emulator_server.upload_dir


def test_after():
    assert "dify-emulator" not in [t.name for t in threading.enumerate()]
    assert not os.path.exists(seen["dir"])
"""


def test_teardown_with_a_request_still_in_flight_is_prompt_and_leaves_no_server_thread(tmp_path: Path) -> None:
    """A ``latency_ms`` the client gave up on: the teardown took 10 s and left the thread running."""
    (tmp_path / "test_user.py").write_text(IN_FLIGHT, encoding="utf-8")
    options = ("-p", "no:randomly", "--durations=0", "-W", "error::pytest.PytestUnhandledThreadExceptionWarning")
    result = _pytest(tmp_path, *options)
    assert result.returncode == 0 and "2 passed" in result.stdout, result.stdout + result.stderr
    teardown = re.search(r"([\d.]+)s teardown\s+test_user\.py::test_slow", result.stdout)
    assert teardown is not None, result.stdout
    assert float(teardown.group(1)) < 3, result.stdout
