"""The emulator's pytest fixtures, at their former address; see ``dify_mgmt_async.pytest_plugin``.

They are registered by the package's ``pytest11`` entry point, so importing them is no longer needed.
"""

from ..pytest_plugin import DEFAULTS, dify_emulator, dify_emulator_server, pytest_configure

__all__ = ["DEFAULTS", "dify_emulator", "dify_emulator_server", "pytest_configure"]
