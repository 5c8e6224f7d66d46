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
DEFAULT_MAX_CONCURRENCY = 64  # requests in flight, and so the connection pool's size
DEFAULT_MAX_RETRY_WAIT = 120.0  # a longer Retry-After raises RateLimitError at once

BACKOFF_BASE = 0.5
BACKOFF_CAP = 30.0

# Bytes per chunk when streaming an upload body.
UPLOAD_CHUNK_SIZE = 1024 * 1024

# Idle pooled connections are dropped after this many seconds: below the idle timeouts of common
# servers (uvicorn and Node close after 5 s), so a request is not written to a connection the
# server is closing at that moment.
KEEPALIVE_EXPIRY = 4.0

# The most seconds the aiohttp transport waits for its writer task to let go of an upload's body
# after the exchange ended (it is cancelled by then; this only bounds a misbehaving iterator).
WRITER_RELEASE_WAIT = 5.0

# Connect timeout used when a per-call deadline caps an attempt whose own connect timeout is None.
DEADLINE_CONNECT_CAP = 10.0

# Bytes of a non-2xx body that are read and kept (the message shows at most 300 characters):
# an HTML error page of 20 MB costs no more than this.
MAX_ERROR_BODY = 64 * 1024

# The retry budget (botocore's retry quota): a retry of a 5xx or network error costs tokens, a
# success refunds one, so an outage sees about N requests instead of N x (retries + 1).
RETRY_BUDGET_CAPACITY = 100.0
RETRY_COST = 5.0
TIMEOUT_RETRY_COST = 10.0
SUCCESS_REFUND = 1.0
