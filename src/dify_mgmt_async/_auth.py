"""Bearer auth, injected per request so a rotating token is read at send time."""

from __future__ import annotations

import inspect
from collections.abc import AsyncGenerator, Awaitable, Callable, Generator

import httpx

from ._errors import ConfigurationError

__all__ = ["BearerAuth", "TokenProvider"]

TokenProvider = Callable[[], Awaitable[str]]
"""An async callable returning the current token; called before every request, so keep it cheap (cache)."""


def _header(token: object) -> str:
    if not isinstance(token, str) or not token.strip():
        raise ConfigurationError("token: must be a non-empty string")
    if any(c in token for c in "\r\n\0"):
        raise ConfigurationError("token: must not contain line breaks or NUL")
    token = token.strip()  # (str.strip also drops a pasted no-break or ideographic space)
    if not token.isascii():
        raise ConfigurationError("token: must be ASCII, as API keys are (it holds a non-ASCII character)")
    scheme, _, rest = token.partition(" ")
    if scheme.lower() == "bearer":  # "Bearer sk-…" copied from a curl line: the scheme is ours to add
        token = rest.strip()
        if not token:
            raise ConfigurationError("token: only the word 'Bearer' was given; pass the token itself")
    return f"Bearer {token}"


class BearerAuth(httpx.Auth):
    """``Authorization: Bearer <token>`` from a fixed token or an async token provider.

    The token never appears in ``repr``; the header is marked sensitive for httpx's logging.
    """

    requires_request_body = False
    requires_response_body = False

    def __init__(self, token: str | TokenProvider) -> None:
        if callable(token):
            self._provider: TokenProvider | None = token
            self._header: str | None = None
        else:
            self._provider = None
            self._header = _header(token)

    def __repr__(self) -> str:
        kind = "provider" if self._provider is not None else "static"
        return f"BearerAuth({kind}, token=<redacted>)"

    async def authorization(self) -> str:
        """The ``Authorization`` header value for the next request."""
        if self._header is not None:
            return self._header
        assert self._provider is not None
        try:
            pending = self._provider()
            if not inspect.isawaitable(pending):
                raise ConfigurationError("token: a callable token must be async (return an awaitable str)")
            token = await pending
        except ConfigurationError:
            raise
        except Exception as exc:  # a vault outage, say: one of our errors, with the cause attached
            raise ConfigurationError(f"token: the token provider failed: {type(exc).__name__}: {exc}") from exc
        return _header(token)

    async def async_auth_flow(self, request: httpx.Request) -> AsyncGenerator[httpx.Request, httpx.Response]:
        request.headers["Authorization"] = await self.authorization()
        yield request

    def sync_auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        raise RuntimeError("dify-mgmt-async is async-only; use httpx.AsyncClient")
        yield request  # pragma: no cover - makes this a generator
