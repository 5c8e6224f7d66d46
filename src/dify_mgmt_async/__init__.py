"""Async Python SDK for the Dify Management API.

from dify_mgmt_async import DifyManagementClient

async with DifyManagementClient(base_url="https://dify.example.com", token="...") as dify:
    app = await dify.apps.create(name="客服助手", mode="chat")
"""

from . import _models, bulk
from ._client import DifyManagementClient
from ._core import RetryEvent
from ._errors import (
    APIConnectionError,
    APIError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConfigurationError,
    ConflictError,
    DifyError,
    InternalServerError,
    InvalidArgumentError,
    NotFoundError,
    PayloadTooLargeError,
    PermissionDeniedError,
    RateLimitError,
    UnsupportedMediaTypeError,
)
from ._generated.types import UNSET, Unset

# Every schema of the spec is a public model. `_models` (generated) lists them in a literal `__all__`,
# the form pyright and Pylance accept as a re-export; `_generated.models` would be private to them.
from ._models import *  # noqa: F403
from ._pagination import AsyncPager
from ._ratelimit import Stats
from ._resources import (
    ApiKeyResetTypeLiteral,
    AppModeLiteral,
    DatasetPermissionLiteral,
    IndexingStatusLiteral,
)
from ._store import Admission, RateLimitStore, Reply
from ._uploads import FileInput, ProgressCallback
from ._version import __version__

__all__ = [
    "UNSET",
    "APIConnectionError",
    "APIError",
    "APIResponseValidationError",
    "APIStatusError",
    "APITimeoutError",
    "Admission",
    "ApiKeyResetTypeLiteral",
    "AppModeLiteral",
    "AsyncPager",
    "AuthenticationError",
    "BadRequestError",
    "ConfigurationError",
    "ConflictError",
    "DatasetPermissionLiteral",
    "DifyError",
    "DifyManagementClient",
    "FileInput",
    "IndexingStatusLiteral",
    "InternalServerError",
    "InvalidArgumentError",
    "NotFoundError",
    "PayloadTooLargeError",
    "PermissionDeniedError",
    "ProgressCallback",
    "RateLimitError",
    "RateLimitStore",
    "Reply",
    "RetryEvent",
    "Stats",
    "Unset",
    "UnsupportedMediaTypeError",
    "__version__",
    "bulk",
]
__all__ += _models.__all__
