"""The emulator fixtures and a ``cli`` fixture that runs ``dify-mgmt`` in-process against a fresh emulator."""

from __future__ import annotations

import signal
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from dify_mgmt_async.cli import app
from dify_mgmt_async.emulator.pytest_plugin import dify_emulator, dify_emulator_server, pytest_configure
from dify_mgmt_async.emulator.server import EmulatorServer

__all__ = [
    "Cli",
    "cli",
    "dify_emulator",
    "dify_emulator_server",
    "flat",
    "invoke",
    "pytest_configure",
    "sigint_reaches_children",
]

Cli = Callable[..., Result]


def invoke(*args: str, env: dict[str, Any] | None = None) -> Result:
    """``dify-mgmt ARGS``; stdout and stderr apart; ``DIFY_MGMT_*`` only from ``env``."""
    clean = {"DIFY_MGMT_BASE_URL": None, "DIFY_MGMT_TOKEN": None, "COLUMNS": "200"}
    return CliRunner().invoke(app, list(args), env={**clean, **(env or {})}, catch_exceptions=False)


def flat(text: str) -> str:
    """Text from a rich error box on one line: borders dropped, wrapped lines joined."""
    return " ".join(text.replace("│", " ").split())


@pytest.fixture
def cli(dify_emulator_server: EmulatorServer) -> Cli:
    """``cli(*args)``: the command against the test's emulator (its URL and token in the environment)."""
    env = {"DIFY_MGMT_BASE_URL": dify_emulator_server.base_url, "DIFY_MGMT_TOKEN": dify_emulator_server.token}

    def run(*args: str, **extra_env: str) -> Result:
        return invoke(*args, env={**env, **extra_env})

    return run


@pytest.fixture
def sigint_reaches_children() -> Iterator[None]:
    """Children started during the test get SIGINT at its default, so Ctrl-C sent to them is a KeyboardInterrupt.

    A signal ignored by a process stays ignored in what it starts: pytest run as a background job of a
    non-interactive shell (``make test &``, some CI runners) ignores SIGINT, and so would every
    ``dify-mgmt`` a test starts. A Python handler is reset to the default on exec; ``SIG_IGN`` is not.
    """
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
