"""Pytest fixtures that run the emulator on a free port in a background thread.

Use them from your own tests::

    # conftest.py
    from dify_mgmt_async.emulator.pytest_plugin import dify_emulator, dify_emulator_server  # noqa: F401

    async def test_something(dify_emulator):
        base_url, token = dify_emulator
        async with DifyManagementClient(base_url, token) as dify: ...

``dify_emulator_server`` is the ``EmulatorServer`` itself: ``.configure(rate=5, burst=5)``,
``.stats()``, ``.store.uploads()``, ``.control_headers`` for the ``/_emulator/*`` control API.
Each test gets a fresh emulator (indexing takes 0.2 s); mark a test with
``@pytest.mark.dify_emulator(rate=10, burst=5, ...)`` to start it with other settings.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from .server import EmulatorServer

__all__ = ["dify_emulator", "dify_emulator_server", "pytest_configure"]

DEFAULTS: dict[str, Any] = {"indexing_seconds": 0.2}


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "dify_emulator(**settings): settings of the emulator the fixture starts")


@pytest.fixture
def dify_emulator_server(request: pytest.FixtureRequest) -> Iterator[EmulatorServer]:
    """A fresh emulator on 127.0.0.1 and a free port, stopped after the test."""
    settings = dict(DEFAULTS)
    marker = request.node.get_closest_marker("dify_emulator")
    if marker is not None:
        settings.update(marker.kwargs)
    with EmulatorServer(**settings) as server:
        yield server


@pytest.fixture
def dify_emulator(dify_emulator_server: EmulatorServer) -> tuple[str, str]:
    """``(base_url, token)`` of a fresh emulator."""
    return dify_emulator_server.base_url, dify_emulator_server.token
