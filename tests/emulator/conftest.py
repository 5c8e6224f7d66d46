"""The emulator fixtures, for the end-to-end tests (pytest 9 allows ``pytest_plugins`` only at the top level)."""

from dify_mgmt_async.emulator.pytest_plugin import dify_emulator, dify_emulator_server, pytest_configure

__all__ = ["dify_emulator", "dify_emulator_server", "pytest_configure"]
