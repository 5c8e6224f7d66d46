"""Async Python SDK for the Dify Management API.

from dify_mgmt_async import DifyManagementClient

async with DifyManagementClient(base_url="https://dify.example.com", token="...") as dify:
    app = await dify.apps.create(name="客服助手", mode="chat")
"""

from . import bulk
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
    PermissionDeniedError,
    RateLimitError,
)
from ._generated import models as _models
from ._generated.models import *  # noqa: F403 - every schema of the spec is a public model
from ._generated.types import UNSET, Unset
from ._pagination import AsyncPager
from ._ratelimit import Stats
from ._resources import (
    ApiKeyResetTypeLiteral,
    AppModeLiteral,
    DatasetPermissionLiteral,
    IndexingStatusLiteral,
)
from ._store import Admission, RateLimitStore
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
    "PermissionDeniedError",
    "ProgressCallback",
    "RateLimitError",
    "RateLimitStore",
    "RetryEvent",
    "Stats",
    "Unset",
    "__version__",
    "bulk",
]
__all__ += _models.__all__
