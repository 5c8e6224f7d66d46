"""The emulator's pytest plugin: loaded by entry point, marker registered, a clear error without the extra."""

from __future__ import annotations

import importlib.metadata
import os
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


def _pytest(folder: Path) -> subprocess.CompletedProcess[str]:
    """pytest in a folder of a user's project: no conftest of ours, no config file, strict markers."""
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--strict-markers", str(folder)],
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
