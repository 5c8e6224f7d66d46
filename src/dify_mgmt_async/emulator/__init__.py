"""A stateful local emulator of the Dify Management API (``pip install 'dify-mgmt-async[emulator]'``).

Start it with ``python -m dify_mgmt_async.emulator --port 5001``, or in-process with
``with EmulatorServer(rate=5) as emu: ...``. It is independent of the SDK's core, so it can judge it.
"""

_EXTRA = frozenset(
    {"starlette", "uvicorn", "python_multipart", "h11", "anyio", "openapi_core", "jsonschema", "jsonschema_path"}
)

try:
    from .app import CONTROL_HEADER, build_app
    from .server import EmulatorServer, main
    from .store import ApiError, EmulatorConfig, SettingError, Store
except ModuleNotFoundError as exc:  # the [emulator] extra is not installed: say so, not "no python_multipart"
    missing = (exc.name or "").partition(".")[0]
    if missing not in _EXTRA:
        raise
    raise ModuleNotFoundError(
        f"dify_mgmt_async.emulator needs the [emulator] extra (missing module {missing!r}): "
        "install dify-mgmt-async[emulator], for example pip install 'dify-mgmt-async[emulator]'",
        name=missing,
    ) from exc

__all__ = [
    "CONTROL_HEADER",
    "ApiError",
    "EmulatorConfig",
    "EmulatorServer",
    "SettingError",
    "Store",
    "build_app",
    "main",
]
