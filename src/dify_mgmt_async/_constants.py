"""Defaults in one place; each is documented where a caller can override it."""

from __future__ import annotations

import httpx

from ._version import __version__

ENV_BASE_URL = "DIFY_MGMT_BASE_URL"
ENV_TOKEN = "DIFY_MGMT_TOKEN"

USER_AGENT = f"dify-mgmt-async/{__version__}"

# The generated client has no timeout at all; ours: 10 s to connect, 60 s for each read/write,
# 30 s waiting for a free connection. A per-call `timeout` (with_options) covers all attempts.
DEFAULT_TIMEOUT = httpx.Timeout(60.0, connect=10.0, pool=30.0)

DEFAULT_MAX_RETRIES = 2  # 408/5xx/network errors, where retrying is safe
DEFAULT_MAX_RATE_LIMIT_RETRIES = 5  # 429: the server did not process the request
DEFAULT_MAX_CONCURRENCY = 64
DEFAULT_MAX_RETRY_WAIT = 120.0  # a longer Retry-After raises RateLimitError at once

BACKOFF_BASE = 0.5
BACKOFF_CAP = 30.0

# Bytes per chunk when streaming an upload body.
UPLOAD_CHUNK_SIZE = 1024 * 1024
