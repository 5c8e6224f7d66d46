"""Pytest fixtures that run the emulator on a free port in a background thread.

Installed with the package as a ``pytest11`` entry point, so with the ``[emulator]`` extra they work
in your tests with no ``conftest.py`` line::

    async def test_something(dify_emulator):
        base_url, token = dify_emulator
        async with DifyManagementClient(base_url, token) as dify: ...

``dify_emulator_server`` is the ``EmulatorServer`` itself: ``.configure(rate=5, burst=5)``,
``.stats()``, ``.store.uploads()``, ``.control_headers`` for the ``/_emulator/*`` control API.
Each test gets a fresh emulator (indexing takes 0.2 s); mark a test with
``@pytest.mark.dify_emulator(rate=10, burst=5, ...)`` to start it with other settings. The marker
is registered here, so ``--strict-markers`` accepts it. Its settings are checked as ``configure()``
checks them: a misspelt name or a bad value fails the test's setup, naming the setting, the value and
what is allowed. The teardown takes a fraction of a second even with requests still in flight (a
``latency_ms`` pause the client gave up on ends at once); a server that does not stop fails it.

This module imports the emulator only when a fixture is used: without the extra, pytest still
starts, and a test that asks for the emulator fails saying which extra to install.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from .emulator import EmulatorServer

__all__ = ["DEFAULTS", "dify_emulator", "dify_emulator_server", "pytest_configure"]

DEFAULTS: dict[str, Any] = {"indexing_seconds": 0.2}


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "dify_emulator(**settings): settings of the emulator the fixture starts")


@pytest.fixture
def dify_emulator_server(request: pytest.FixtureRequest) -> Iterator[EmulatorServer]:
    """A fresh emulator on 127.0.0.1 and a free port, stopped after the test.

    The marker's settings are checked as ``configure()`` checks them: a bad one fails the test's setup.
    """
    from .emulator import EmulatorServer, SettingError

    settings = dict(DEFAULTS)
    marker = request.node.get_closest_marker("dify_emulator")
    if marker is not None:
        if marker.args:
            pytest.fail(
                f"@pytest.mark.dify_emulator takes settings by name, as in dify_emulator(rate=10), not {marker.args!r}",
                pytrace=False,
            )
        settings.update(marker.kwargs)
    try:
        server = EmulatorServer(**settings)
    except SettingError as exc:
        raise pytest.fail.Exception(f"@pytest.mark.dify_emulator: {exc}", pytrace=False) from None
    with server:
        yield server


@pytest.fixture
def dify_emulator(dify_emulator_server: EmulatorServer) -> tuple[str, str]:
    """``(base_url, token)`` of a fresh emulator."""
    return dify_emulator_server.base_url, dify_emulator_server.token
