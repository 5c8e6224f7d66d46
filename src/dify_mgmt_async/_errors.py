"""Every error the SDK raises, and the one function that turns a non-2xx answer into one of them."""

from __future__ import annotations

import datetime
import email.utils
import json
import math
import time
from typing import Any, Literal

import httpx

__all__ = [
    "APIConnectionError",
    "APIError",
    "APIResponseValidationError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "ConfigurationError",
    "ConflictError",
    "DifyError",
    "InternalServerError",
    "InvalidArgumentError",
    "NotFoundError",
    "PayloadTooLargeError",
    "PermissionDeniedError",
    "RateLimitError",
    "UnsupportedMediaTypeError",
    "from_response",
]


class DifyError(Exception):
    """Base of every error this SDK raises."""


class ConfigurationError(DifyError, ValueError):
    """The client cannot be built: a base URL or token is missing or malformed."""


class InvalidArgumentError(DifyError, ValueError):
    """An argument is invalid; raised before anything is sent. The message names the argument."""


class APIError(DifyError):
    """Something went wrong talking to the server. ``request`` is what was being sent."""

    def __init__(self, message: str, *, request: httpx.Request | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.request = request


class APIConnectionError(APIError):
    """No answer: the connection failed, was dropped, or the request could not be sent."""

    def __init__(self, message: str = "Connection error.", *, request: httpx.Request | None = None) -> None:
        super().__init__(message, request=request)


class APITimeoutError(APIConnectionError):
    """No answer in time (connect, read, write, pool, or the per-call deadline)."""

    def __init__(self, message: str = "Request timed out.", *, request: httpx.Request | None = None) -> None:
        super().__init__(message, request=request)


class APIResponseValidationError(APIError):
    """A 2xx whose body the spec's model cannot be read from: not JSON (or not decodable), a required field
    missing, a field of another JSON type than the spec's, a non-object."""

    def __init__(self, response: httpx.Response, message: str) -> None:
        super().__init__(message, request=response.request)
        self.response = response
        self.status_code = response.status_code


class APIStatusError(APIError):
    """The server answered with a non-2xx status.

    ``error_code`` and ``message`` come from the body when it is the contract's
    ``{error_code, error}`` or deployed Dify's ``{code, message, status}``; otherwise
    ``error_code`` is ``None`` and ``message`` is the start of the body or the reason phrase.
    ``request_id`` is the server's ``X-Request-Id`` (or ``Request-Id``) header, to quote when
    reporting a problem; ``None`` when it sent none.
    """

    status_code: int

    def __init__(
        self,
        message: str,
        *,
        response: httpx.Response,
        error_code: str | None,
        body: object,
    ) -> None:
        super().__init__(message, request=response.request)
        self.response = response
        self.status_code = response.status_code
        self.error_code = error_code
        self.headers = response.headers
        self.body = body
        self.request_id: str | None = request_id(response.headers)

    def __str__(self) -> str:
        code = f" {self.error_code}" if self.error_code else ""
        where = ""
        if self.request is not None:
            where = f" ({self.request.method} {self.request.url.copy_with(query=None)})"
        rid = f" [request id {self.request_id}]" if self.request_id else ""
        return f"{self.status_code}{code}: {self.message}{where}{rid}"


class BadRequestError(APIStatusError):
    """400: a parameter is missing, malformed or out of range."""


class AuthenticationError(APIStatusError):
    """401: the token is missing, unknown, revoked or expired."""


class PermissionDeniedError(APIStatusError):
    """403: the token's user may not do this."""


class NotFoundError(APIStatusError):
    """404: no resource has this id."""


class ConflictError(APIStatusError):
    """409: the change conflicts with an existing resource, such as a duplicate name."""


class PayloadTooLargeError(APIStatusError):
    """413: the body (an upload, usually) is over the server's size limit."""


class UnsupportedMediaTypeError(APIStatusError):
    """415: the server does not accept this kind of file or body."""


class RateLimitError(APIStatusError):
    """429: too many requests. ``retry_after`` is the server's hint in seconds, or ``None``."""

    def __init__(
        self,
        message: str,
        *,
        response: httpx.Response,
        error_code: str | None,
        body: object,
    ) -> None:
        super().__init__(message, response=response, error_code=error_code, body=body)
        self.retry_after = parse_retry_after(response.headers)


class InternalServerError(APIStatusError):
    """A 5xx status: the server (or a proxy in front of it) failed."""


_BY_STATUS: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    413: PayloadTooLargeError,
    415: UnsupportedMediaTypeError,
    429: RateLimitError,
}

_MAX_MESSAGE = 300


def _decode_body(response: httpx.Response) -> object:
    """The body as JSON if it is JSON, else as text (never raises)."""
    content = response.content
    if not content:
        return None
    try:
        return json.loads(content)
    except (ValueError, RecursionError):
        return content.decode("utf-8", errors="replace")


def _code_and_message(body: object, response: httpx.Response) -> tuple[str | None, str]:
    if isinstance(body, dict):
        code = body.get("error_code", body.get("code"))
        message = body.get("error", body.get("message"))
        if isinstance(message, dict):  # some proxies nest {"error": {"message": ...}}
            message = message.get("message")
        return (str(code) if code is not None else None), (str(message) if message is not None else _reason(response))
    if isinstance(body, str) and body.strip():
        text = " ".join(body.split())
        return None, text[:_MAX_MESSAGE] + ("…" if len(text) > _MAX_MESSAGE else "")
    return None, _reason(response)


def _reason(response: httpx.Response) -> str:
    try:
        phrase = response.reason_phrase
    except ValueError:  # not an IANA status, such as 520
        phrase = ""
    return phrase or f"HTTP {response.status_code}"


def request_id(headers: httpx.Headers) -> str | None:
    """The server's id for this request, from ``X-Request-Id`` or ``Request-Id``."""
    return headers.get("x-request-id") or headers.get("request-id") or None


def from_response(response: httpx.Response) -> APIStatusError:
    """The error for a non-2xx answer, whatever its status and body. Never raises itself."""
    body = _decode_body(response)
    error_code, message = _code_and_message(body, response)
    status = response.status_code
    cls = _BY_STATUS.get(status) or (InternalServerError if status >= 500 else APIStatusError)
    return cls(message, response=response, error_code=error_code, body=body)


def parse_retry_after(headers: httpx.Headers | dict[str, str], *, now: float | None = None) -> float | None:
    """Seconds to wait from ``retry-after-ms``, or ``Retry-After`` as delta-seconds or an HTTP-date.

    Returns ``None`` when absent or unparseable; a date in the past or a negative value gives 0.
    """
    hint = retry_after_hint(headers, now=now)
    return None if hint is None else hint[0]


def retry_after_hint(
    headers: httpx.Headers | dict[str, str], *, now: float | None = None
) -> tuple[float, Literal["ms", "seconds", "date"]] | None:
    """Like ``parse_retry_after``, with how precise the hint is: ``ms`` (``retry-after-ms``), ``seconds``
    (``Retry-After`` delta-seconds, usually rounded up to a whole second) or ``date`` (an HTTP-date, whole
    seconds and the server's clock)."""
    value: Any = headers.get("retry-after-ms")
    if value is not None:
        try:
            millis = float(value)
        except ValueError:
            millis = math.nan
        if math.isfinite(millis):
            return max(millis / 1000.0, 0.0), "ms"
    value = headers.get("retry-after")
    if value is None:
        return None
    value = value.strip()
    kind: Literal["seconds", "date"] = "seconds"
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError, OverflowError):  # (an hour of 99999999999 overflows)
            return None
        if when is None:
            return None
        if when.tzinfo is None:  # the asctime form has no zone; an HTTP-date is always GMT, never local time
            when = when.replace(tzinfo=datetime.UTC)
        seconds = when.timestamp() - (time.time() if now is None else now)
        kind = "date"
    if not math.isfinite(seconds):
        return None
    return max(seconds, 0.0), kind
