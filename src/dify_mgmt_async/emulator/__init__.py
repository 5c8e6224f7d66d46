"""A stateful local emulator of the Dify Management API (``pip install 'dify-mgmt-async[emulator]'``).

Start it with ``python -m dify_mgmt_async.emulator --port 5001``, or in-process with
``with EmulatorServer(rate=5) as emu: ...``. It is independent of the SDK's core, so it can judge it.
"""

from .app import CONTROL_HEADER, build_app
from .server import EmulatorServer, main
from .store import ApiError, EmulatorConfig, Store

__all__ = ["CONTROL_HEADER", "ApiError", "EmulatorConfig", "EmulatorServer", "Store", "build_app", "main"]
