"""``DIFY_MGMT_LOG=debug|info|warning`` turns on the SDK's logging without code.

The ``dify_mgmt_async`` logger logs one DEBUG line per attempt (method, URL with secret-looking
query values redacted, status or error, elapsed, attempt number, retried or not), INFO lines
for retries and cooldowns, and WARNING for trouble the SDK works around. The token is never
logged. Without the variable nothing is configured: the application's logging decides.
"""

from __future__ import annotations

import logging
import os

__all__ = ["ENV_LOG", "setup_from_env"]

ENV_LOG = "DIFY_MGMT_LOG"
_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING}


def setup_from_env() -> None:
    """Attach a stderr handler at the level ``DIFY_MGMT_LOG`` names, once; do nothing if unset."""
    value = os.environ.get(ENV_LOG, "").strip().lower()
    if value not in _LEVELS:
        return
    logger = logging.getLogger("dify_mgmt_async")
    logger.setLevel(_LEVELS[value])
    if not any(getattr(h, "_dify_env", False) for h in logger.handlers):
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        handler._dify_env = True  # type: ignore[attr-defined]
        logger.addHandler(handler)
