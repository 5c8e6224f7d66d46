# Generated from openapi/management.yaml by `make generate`. Do not edit by hand.
"""The client's namespaces: one class per tag of the spec, one method per operation.

Each method checks and shapes its arguments, then hands the generated operation module to the
core (``_core.Core``), which sends it (auth, limits, retries) and maps the answer (errors, models).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING, Any, Final, Literal
from uuid import UUID

import httpx

from . import _validation as _v
from ._core import CallExtras as _CallExtras
from ._generated.api.api_keys import create_api_key as _create_api_key
from ._generated.api.api_keys import delete_api_key as _delete_api_key
from ._generated.api.api_keys import list_api_keys as _list_api_keys
from ._generated.api.apps import create_app as _create_app
from ._generated.api.apps import delete_app as _delete_app
from ._generated.api.apps import get_app as _get_app
from ._generated.api.apps import get_app_api_keys as _get_app_api_keys
from ._generated.api.apps import list_apps as _list_apps
from ._generated.api.apps import reset_app_api_keys as _reset_app_api_keys
from ._generated.api.apps import update_app as _update_app
from ._generated.api.datasets import create_dataset as _create_dataset
from ._generated.api.datasets import delete_dataset as _delete_dataset
from ._generated.api.datasets import delete_document as _delete_document
from ._generated.api.datasets import get_dataset as _get_dataset
from ._generated.api.datasets import list_datasets as _list_datasets
from ._generated.api.datasets import list_documents as _list_documents
from ._generated.api.datasets import update_dataset as _update_dataset
from ._generated.api.datasets import upload_document as _upload_document
from ._generated.api.model_providers import list_model_providers as _list_model_providers
from ._generated.api.model_providers import update_model_provider_credentials as _update_model_provider_credentials
from ._generated.api.models import list_models as _list_models
from ._generated.api.users import get_current_user as _get_current_user
from ._generated.api.workspaces import get_current_workspace as _get_current_workspace
from ._generated.api.workspaces import update_current_workspace as _update_current_workspace
from ._generated.models import (
    ApiKey,
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyPage,
    ApiKeyResetType,
    App,
    AppApiKeys,
    AppApiKeysReset,
    AppCreate,
    AppMode,
    AppNewApiKey,
    AppPage,
    AppUpdate,
    Dataset,
    DatasetCreate,
    DatasetPage,
    DatasetPermission,
    DatasetUpdate,
    Document,
    DocumentPage,
    DocumentUpload,
    ModelList,
    ModelProviderList,
    ProcessRule,
    ProviderCredentialsUpdate,
    ProviderCredentialsUpdateCredentials,
    Result,
    User,
    Workspace,
    WorkspaceUpdate,
    WorkspaceUpdatePlanSettings,
)
from ._pagination import AsyncPager
from ._uploads import FileInput, ProgressCallback

if TYPE_CHECKING:
    from ._core import Core

__all__ = [
    "ApiKeyResetTypeLiteral",
    "ApiKeysResource",
    "AppModeLiteral",
    "AppsResource",
    "DatasetPermissionLiteral",
    "DatasetsResource",
    "ErrorCodeLiteral",
    "IndexingStatusLiteral",
    "ModelProvidersResource",
    "ModelsResource",
    "Namespaces",
    "UsersResource",
    "WorkspacesResource",
]

ApiKeyResetTypeLiteral = Literal["api_key", "api_secret"]
"""The values of ``ApiKeyResetType`` as plain strings, accepted wherever a ``ApiKeyResetType`` is."""
AppModeLiteral = Literal["chat", "completion", "agent_chat", "workflow"]
"""The values of ``AppMode`` as plain strings, accepted wherever a ``AppMode`` is."""
DatasetPermissionLiteral = Literal["only_me", "all_team_members"]
"""The values of ``DatasetPermission`` as plain strings, accepted wherever a ``DatasetPermission`` is."""
ErrorCodeLiteral = Literal[
    "invalid_param", "unauthorized", "forbidden", "not_found", "conflict", "rate_limited", "internal_server_error"
]
"""The values of ``ErrorCode`` as plain strings, accepted wherever a ``ErrorCode`` is."""
IndexingStatusLiteral = Literal[
    "waiting", "parsing", "cleaning", "splitting", "indexing", "completed", "error", "paused"
]
"""The values of ``IndexingStatus`` as plain strings, accepted wherever a ``IndexingStatus`` is."""

_PROCESS_RULE_FIELDS: Final[_v.FieldRules] = {
    "chunk_size": partial(_v.integer, minimum=1),
    "chunk_overlap": partial(_v.integer, minimum=0),
    "separator": partial(_v.text, min_length=1),
}


class AppsResource:
    """``apps``: Applications (chat, completion, agent, workflow) and their API keys."""

    __slots__ = ("_core",)

    def __init__(self, core: Core) -> None:
        self._core = core

    def list(
        self,
        *,
        page: int | None = None,
        limit: int | None = None,
        name: str | None = None,
        mode: str | None = None,
        timeout: float | httpx.Timeout | None = None,
        extra_headers: Mapping[str, str] | None = None,
        extra_query: Mapping[str, object] | None = None,
    ) -> AsyncPager[AppPage, App]:
        """List apps: ``GET /api/management/apps``.

        One page of the workspace's apps, newest first, optionally filtered by name and mode.

        Args:
            page: Page number, from 1.
            limit: Items per page, 1 to 100 (the contract's "默认20，最大100"; the minimum 1 is ours).
            name: Only apps whose name contains this text.
            mode: Only apps of this mode. Any string is sent as given (servers also know `advanced-chat`);
                `AppMode` lists the contract's modes.

        Await the result for one page; ``async for`` over it for every item of every page.

        Per call: ``timeout`` (seconds for the whole call, or an ``httpx.Timeout`` per attempt),
        ``extra_headers``, ``extra_query``.
        Left out, nothing extra is sent.
        """
        extra = _CallExtras.of(timeout, extra_headers, extra_query)
        kwargs: dict[str, Any] = {
            "page": _v.integer("page", page, required=False, minimum=1),
            "limit": _v.integer("limit", limit, required=False, minimum=1, maximum=100),
            "name": _v.text("name", name, required=False, min_length=1),
            "mode": _v.text("mode", mode, required=False),
        }
        return self._core.paginate(_list_apps, kwargs, AppPage, extra)

    async def create(
        self,
        *,
        name: str,
        mode: AppMode | AppModeLiteral,
        icon: str | None = None,
        icon_background: str | None = None,
        description: str | None = None,
        timeout: float | httpx.Timeout | None = None,
        extra_headers: Mapping[str, str] | None = None,
        extra_query: Mapping[str, object] | None = None,
        extra_body: Mapping[str, object] | None = None,
    ) -> App:
        """Create an app: ``POST /api/management/apps``.

        Creates an app. The answer carries the app's `api_key` and `api_secret`.

        Args:
            name: The app's name; unique in the workspace.
            mode: An app's mode.
            icon: An icon identifier or emoji.
            icon_background: A hex colour, `#rgb` or `#rrggbb`.
            description: What the app does.

        Per call: ``timeout`` (seconds for the whole call, or an ``httpx.Timeout`` per attempt),
        ``extra_headers``, ``extra_query``, ``extra_body`` (merged into the JSON body).
        Left out, nothing extra is sent.
        """
        extra = _CallExtras.of(timeout, extra_headers, extra_query, extra_body)
        kwargs: dict[str, Any] = {
            "body": AppCreate(
                name=_v.text("name", name, required=True, min_length=1, max_length=255),
                mode=_v.choice("mode", mode, required=True, enum=AppMode),
                icon=_v.text("icon", icon, required=False, min_length=1, max_length=255),
                icon_background=_v.text(
                    "icon_background", icon_background, required=False, pattern="^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$"
                ),
                description=_v.text("description", description, required=False, max_length=2000),
            ),
        }
        return await self._core.request(_create_app, kwargs, App, extra)

    async def get(
        self,
        app_id: str | UUID,
        *,
        timeout: float | httpx.Timeout | None = None,
        extra_headers: Mapping[str, str] | None = None,
        extra_query: Mapping[str, object] | None = None,
    ) -> App:
        """Get an app: ``GET /api/management/apps/{app_id}``.

        The app with this id.

        Args:
            app_id: The app's id (a UUID).

        Per call: ``timeout`` (seconds for the whole call, or an ``httpx.Timeout`` per attempt),
        ``extra_headers``, ``extra_query``.
        Left out, nothing extra is sent.
        """
        extra = _CallExtras.of(timeout, extra_headers, extra_query)
        kwargs: dict[str, Any] = {
            "app_id": _v.ident("app_id", app_id),
        }
        return await self._core.request(_get_app, kwargs, App, extra)

    async def update(
        self,
        app_id: str | UUID,
        *,
        name: str | None = None,
        icon: str | None = None,
        icon_background: str | None = None,
        description: str | None = None,
        timeout: float | httpx.Timeout | None = None,
        extra_headers: Mapping[str, str] | None = None,
        extra_query: Mapping[str, object] | None = None,
        extra_body: Mapping[str, object] | None = None,
    ) -> App:
        """Update an app: ``PATCH /api/management/apps/{app_id}``.

        Changes the fields given; fields left out keep their value. The mode cannot be changed.

        Args:
            app_id: The app's id (a UUID).
            name: The app's name; unique in the workspace.
            icon: An icon identifier or emoji.
            icon_background: A hex colour, `#rgb` or `#rrggbb`.
            description: What the app does.

        Per call: ``timeout`` (seconds for the whole call, or an ``httpx.Timeout`` per attempt),
        ``extra_headers``, ``extra_query``, ``extra_body`` (merged into the JSON body).
        Left out, nothing extra is sent.
        """
        extra = _CallExtras.of(timeout, extra_headers, extra_query, extra_body)
        kwargs: dict[str, Any] = {
            "app_id": _v.ident("app_id", app_id),
            "body": AppUpdate(
                name=_v.text("name", name, required=False, min_length=1, max_length=255),
                icon=_v.text("icon", icon, required=False, min_length=1, max_length=255),
                icon_background=_v.text(
                    "icon_background", icon_background, required=False, pattern="^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$"
                ),
                description=_v.text("description", description, required=False, max_length=2000),
            ),
        }
        return await self._core.request(_update_app, kwargs, App, extra)

    async def delete(
        self,
        app_id: str | UUID,
        *,
        timeout: float | httpx.Timeout | None = None,
        extra_headers: Mapping[str, str] | None = None,
        extra_query: Mapping[str, object] | None = None,
    ) -> None:
        """Delete an app: ``DELETE /api/management/apps/{app_id}``.

        Deletes the app and its API keys.

        Args:
            app_id: The app's id (a UUID).

        Per call: ``timeout`` (seconds for the whole call, or an ``httpx.Timeout`` per attempt),
        ``extra_headers``, ``extra_query``.
        Left out, nothing extra is sent.
        """
        extra = _CallExtras.of(timeout, extra_headers, extra_query)
        kwargs: dict[str, Any] = {
            "app_id": _v.ident("app_id", app_id),
        }
        await self._core.request(_delete_app, kwargs, None, extra)

    async def get_api_keys(
        self,
        app_id: str | UUID,
        *,
        timeout: float | httpx.Timeout | None = None,
        extra_headers: Mapping[str, str] | None = None,
        extra_query: Mapping[str, object] | None = None,
    ) -> AppApiKeys:
        """Get an app's API keys: ``GET /api/management/apps/{app_id}/api-keys``.

        The app's current API key (front end) and API secret (back end).

        Args:
            app_id: The app's id (a UUID).

        Per call: ``timeout`` (seconds for the whole call, or an ``httpx.Timeout`` per attempt),
        ``extra_headers``, ``extra_query``.
        Left out, nothing extra is sent.
        """
        extra = _CallExtras.of(timeout, extra_headers, extra_query)
        kwargs: dict[str, Any] = {
            "app_id": _v.ident("app_id", app_id),
        }
        return await self._core.request(_get_app_api_keys, kwargs, AppApiKeys, extra)

    async def reset_api_keys(
        self,
        app_id: str | UUID,
        *,
        type: ApiKeyResetType | ApiKeyResetTypeLiteral,
        timeout: float | httpx.Timeout | None = None,
        extra_headers: Mapping[str, str] | None = None,
        extra_query: Mapping[str, object] | None = None,
        extra_body: Mapping[str, object] | None = None,
    ) -> AppNewApiKey:
        """Reset an app's API key or secret: ``POST /api/management/apps/{app_id}/api-keys/reset``.

        Replaces the key named by `type`; the answer carries the new value, the other field is left out.

        Args:
            app_id: The app's id (a UUID).
            type: Which of an app's keys to reset.

        Per call: ``timeout`` (seconds for the whole call, or an ``httpx.Timeout`` per attempt),
        ``extra_headers``, ``extra_query``, ``extra_body`` (merged into the JSON body).
        Left out, nothing extra is sent.
        """
        extra = _CallExtras.of(timeout, extra_headers, extra_query, extra_body)
        kwargs: dict[str, Any] = {
            "app_id": _v.ident("app_id", app_id),
            "body": AppApiKeysReset(
                type_=_v.choice("type", type, required=True, enum=ApiKeyResetType),
            ),
        }
        return await self._core.request(_reset_app_api_keys, kwargs, AppNewApiKey, extra)


class DatasetsResource:
    """``datasets``: Knowledge datasets and the documents uploaded into them."""

    __slots__ = ("_core",)

    def __init__(self, core: Core) -> None:
        self._core = core

    def list(
        self,
        *,
        page: int | None = None,
        limit: int | None = None,
        name: str | None = None,
        timeout: float | httpx.Timeout | None = None,
        extra_headers: Mapping[str, str] | None = None,
        extra_query: Mapping[str, object] | None = None,
    ) -> AsyncPager[DatasetPage, Dataset]:
        """List datasets: ``GET /api/management/datasets``.

        One page of the workspace's datasets, newest first, optionally filtered by name.

        Args:
            page: Page number, from 1.
            limit: Items per page, 1 to 100 (the contract's "默认20，最大100"; the minimum 1 is ours).
            name: Only datasets whose name contains this text.

        Await the result for one page; ``async for`` over it for every item of every page.

        Per call: ``timeout`` (seconds for the whole call, or an ``httpx.Timeout`` per attempt),
        ``extra_headers``, ``extra_query``.
        Left out, nothing extra is sent.
        """
        extra = _CallExtras.of(timeout, extra_headers, extra_query)
        kwargs: dict[str, Any] = {
            "page": _v.integer("page", page, required=False, minimum=1),
            "limit": _v.integer("limit", limit, required=False, minimum=1, maximum=100),
            "name": _v.text("name", name, required=False, min_length=1),
        }
        return self._core.paginate(_list_datasets, kwargs, DatasetPage, extra)

    async def create(
        self,
        *,
        name: str,
        description: str | None = None,
        permission: DatasetPermission | DatasetPermissionLiteral | None = None,
        timeout: float | httpx.Timeout | None = None,
        extra_headers: Mapping[str, str] | None = None,
        extra_query: Mapping[str, object] | None = None,
        extra_body: Mapping[str, object] | None = None,
    ) -> Dataset:
        """Create a dataset: ``POST /api/management/datasets``.

        Creates an empty dataset. `permission` defaults to `only_me`.

        Args:
            name: The dataset's name; unique in the workspace.
            description: What the dataset holds.
            permission: Who can see a dataset.

        Per call: ``timeout`` (seconds for the whole call, or an ``httpx.Timeout`` per attempt),
        ``extra_headers``, ``extra_query``, ``extra_body`` (merged into the JSON body).
        Left out, nothing extra is sent.
        """
        extra = _CallExtras.of(timeout, extra_headers, extra_query, extra_body)
        kwargs: dict[str, Any] = {
            "body": DatasetCreate(
                name=_v.text("name", name, required=True, min_length=1, max_length=255),
                description=_v.text("description", description, required=False, max_length=2000),
                permission=_v.choice("permission", permission, required=False, enum=DatasetPermission),
            ),
        }
        return await self._core.request(_create_dataset, kwargs, Dataset, extra)

    async def get(
        self,
        dataset_id: str | UUID,
        *,
        timeout: float | httpx.Timeout | None = None,
        extra_headers: Mapping[str, str] | None = None,
        extra_query: Mapping[str, object] | None = None,
    ) -> Dataset:
        """Get a dataset: ``GET /api/management/datasets/{dataset_id}``.

        The dataset with this id.

        Args:
            dataset_id: The dataset's id (a UUID).

        Per call: ``timeout`` (seconds for the whole call, or an ``httpx.Timeout`` per attempt),
        ``extra_headers``, ``extra_query``.
        Left out, nothing extra is sent.
        """
        extra = _CallExtras.of(timeout, extra_headers, extra_query)
        kwargs: dict[str, Any] = {
            "dataset_id": _v.ident("dataset_id", dataset_id),
        }
        return await self._core.request(_get_dataset, kwargs, Dataset, extra)

    async def update(
        self,
        dataset_id: str | UUID,
        *,
        name: str | None = None,
        description: str | None = None,
        permission: DatasetPermission | DatasetPermissionLiteral | None = None,
        timeout: float | httpx.Timeout | None = None,
        extra_headers: Mapping[str, str] | None = None,
        extra_query: Mapping[str, object] | None = None,
        extra_body: Mapping[str, object] | None = None,
    ) -> Dataset:
        """Update a dataset: ``PATCH /api/management/datasets/{dataset_id}``.

        Changes the fields given; fields left out keep their value.

        Args:
            dataset_id: The dataset's id (a UUID).
            name: The dataset's name; unique in the workspace.
            description: What the dataset holds.
            permission: Who can see a dataset.

        Per call: ``timeout`` (seconds for the whole call, or an ``httpx.Timeout`` per attempt),
        ``extra_headers``, ``extra_query``, ``extra_body`` (merged into the JSON body).
        Left out, nothing extra is sent.
        """
        extra = _CallExtras.of(timeout, extra_headers, extra_query, extra_body)
        kwargs: dict[str, Any] = {
            "dataset_id": _v.ident("dataset_id", dataset_id),
            "body": DatasetUpdate(
                name=_v.text("name", name, required=False, min_length=1, max_length=255),
                description=_v.text("description", description, required=False, max_length=2000),
                permission=_v.choice("permission", permission, required=False, enum=DatasetPermission),
            ),
        }
        return await self._core.request(_update_dataset, kwargs, Dataset, extra)

    async def delete(
        self,
        dataset_id: str | UUID,
        *,
        timeout: float | httpx.Timeout | None = None,
        extra_headers: Mapping[str, str] | None = None,
        extra_query: Mapping[str, object] | None = None,
    ) -> None:
        """Delete a dataset: ``DELETE /api/management/datasets/{dataset_id}``.

        Deletes the dataset and all of its documents.

        Args:
            dataset_id: The dataset's id (a UUID).

        Per call: ``timeout`` (seconds for the whole call, or an ``httpx.Timeout`` per attempt),
        ``extra_headers``, ``extra_query``.
        Left out, nothing extra is sent.
        """
        extra = _CallExtras.of(timeout, extra_headers, extra_query)
        kwargs: dict[str, Any] = {
            "dataset_id": _v.ident("dataset_id", dataset_id),
        }
        await self._core.request(_delete_dataset, kwargs, None, extra)

    async def upload_document(
        self,
        dataset_id: str | UUID,
        file: FileInput,
        *,
        process_rule: ProcessRule | Mapping[str, Any] | None = None,
        filename: str | None = None,
        content_type: str | None = None,
        on_progress: ProgressCallback | None = None,
        timeout: float | httpx.Timeout | None = None,
        extra_headers: Mapping[str, str] | None = None,
        extra_query: Mapping[str, object] | None = None,
    ) -> Document:
        """Upload a file into a dataset: ``POST /api/management/datasets/{dataset_id}/documents/upload``.

        Uploads one file as a new document; indexing then runs in the background (`indexing_status` moves from
        `waiting` to `completed` or `error`). The server answers 413 for a file over its size limit and 415
        for a file type it does not index.

        Args:
            dataset_id: The dataset's id (a UUID).
            file: What to upload: a path (``str`` or ``Path``), ``bytes``, a binary file object, or an async
                iterable of ``bytes``. It is streamed in chunks, read off the event loop, never held whole in
                memory; a retry re-sends it from the start (re-opened, seeked back or re-sent), except an
                async iterable, which is sent once and not retried.
            process_rule: How a document is split into chunks for indexing; the server's defaults apply to
                what is left out.
            filename: The file's name as the server records it; defaults to a path's or a named file object's
                name, and is required for ``bytes`` and async iterables. A bare name, no folders.
            content_type: The file part's media type, such as ``text/markdown``; defaults to a guess from
                ``filename``, else ``application/octet-stream``.
            on_progress: Called as the body goes out, with ``(bytes_sent, total_bytes)`` (``total_bytes`` is
                ``None`` when the size is unknown); it starts again from 0 on a retry.

        Per call: ``timeout`` (seconds for the whole call, or an ``httpx.Timeout`` per attempt),
        ``extra_headers``, ``extra_query``.
        Left out, nothing extra is sent.
        """
        extra = _CallExtras.of(timeout, extra_headers, extra_query)
        kwargs: dict[str, Any] = {
            "dataset_id": _v.ident("dataset_id", dataset_id),
        }
        return await self._core.upload(
            _upload_document,
            kwargs,
            DocumentUpload,
            Document,
            file=file,
            file_field="file",
            parts=[
                (
                    "process_rule",
                    "application/json",
                    _v.model(
                        "process_rule", process_rule, required=False, model=ProcessRule, fields=_PROCESS_RULE_FIELDS
                    ),
                ),
            ],
            filename=filename,
            content_type=content_type,
            on_progress=on_progress,
            extra=extra,
        )

    def list_documents(
        self,
        dataset_id: str | UUID,
        *,
        page: int | None = None,
        limit: int | None = None,
        status: str | None = None,
        timeout: float | httpx.Timeout | None = None,
        extra_headers: Mapping[str, str] | None = None,
        extra_query: Mapping[str, object] | None = None,
    ) -> AsyncPager[DocumentPage, Document]:
        """List a dataset's documents: ``GET /api/management/datasets/{dataset_id}/documents``.

        One page of the dataset's documents, newest first, optionally filtered by status.

        Args:
            dataset_id: The dataset's id (a UUID).
            page: Page number, from 1.
            limit: Items per page (the contract's "默认20", with no maximum stated, so none is checked; the
                minimum 1 is ours).
            status: Only documents with this status (the contract's "按状态筛选"). The contract does not say which
                of a document's `status` and `indexing_status` it filters on, so any string is accepted and
                sent as given; the emulator matches either field.

        Await the result for one page; ``async for`` over it for every item of every page.

        Per call: ``timeout`` (seconds for the whole call, or an ``httpx.Timeout`` per attempt),
        ``extra_headers``, ``extra_query``.
        Left out, nothing extra is sent.
        """
        extra = _CallExtras.of(timeout, extra_headers, extra_query)
        kwargs: dict[str, Any] = {
            "dataset_id": _v.ident("dataset_id", dataset_id),
            "page": _v.integer("page", page, required=False, minimum=1),
            "limit": _v.integer("limit", limit, required=False, minimum=1),
            "status": _v.text("status", status, required=False, min_length=1),
        }
        return self._core.paginate(_list_documents, kwargs, DocumentPage, extra)

    async def delete_document(
        self,
        dataset_id: str | UUID,
        document_id: str | UUID,
        *,
        timeout: float | httpx.Timeout | None = None,
        extra_headers: Mapping[str, str] | None = None,
        extra_query: Mapping[str, object] | None = None,
    ) -> None:
        """Delete a document: ``DELETE /api/management/datasets/{dataset_id}/documents/{document_id}``.

        Deletes the document and its index.

        Args:
            dataset_id: The dataset's id (a UUID).
            document_id: The document's id (a UUID).

        Per call: ``timeout`` (seconds for the whole call, or an ``httpx.Timeout`` per attempt),
        ``extra_headers``, ``extra_query``.
        Left out, nothing extra is sent.
        """
        extra = _CallExtras.of(timeout, extra_headers, extra_query)
        kwargs: dict[str, Any] = {
            "dataset_id": _v.ident("dataset_id", dataset_id),
            "document_id": _v.ident("document_id", document_id),
        }
        await self._core.request(_delete_document, kwargs, None, extra)


class ModelsResource:
    """``models``: Models available to the workspace."""

    __slots__ = ("_core",)

    def __init__(self, core: Core) -> None:
        self._core = core

    async def list(
        self,
        *,
        timeout: float | httpx.Timeout | None = None,
        extra_headers: Mapping[str, str] | None = None,
        extra_query: Mapping[str, object] | None = None,
    ) -> ModelList:
        """List available models: ``GET /api/management/models``.

        Every model the workspace can use, across providers. Not paginated.

        Per call: ``timeout`` (seconds for the whole call, or an ``httpx.Timeout`` per attempt),
        ``extra_headers``, ``extra_query``.
        Left out, nothing extra is sent.
        """
        extra = _CallExtras.of(timeout, extra_headers, extra_query)
        kwargs: dict[str, Any] = {}
        return await self._core.request(_list_models, kwargs, ModelList, extra)


class ModelProvidersResource:
    """``model_providers``: Model providers and their credentials."""

    __slots__ = ("_core",)

    def __init__(self, core: Core) -> None:
        self._core = core

    async def list(
        self,
        *,
        timeout: float | httpx.Timeout | None = None,
        extra_headers: Mapping[str, str] | None = None,
        extra_query: Mapping[str, object] | None = None,
    ) -> ModelProviderList:
        """List model providers: ``GET /api/management/model-providers``.

        Every model provider and whether the workspace has configured it. Not paginated.

        Per call: ``timeout`` (seconds for the whole call, or an ``httpx.Timeout`` per attempt),
        ``extra_headers``, ``extra_query``.
        Left out, nothing extra is sent.
        """
        extra = _CallExtras.of(timeout, extra_headers, extra_query)
        kwargs: dict[str, Any] = {}
        return await self._core.request(_list_model_providers, kwargs, ModelProviderList, extra)

    async def update_credentials(
        self,
        provider_name: str,
        *,
        credentials: ProviderCredentialsUpdateCredentials | Mapping[str, Any],
        timeout: float | httpx.Timeout | None = None,
        extra_headers: Mapping[str, str] | None = None,
        extra_query: Mapping[str, object] | None = None,
        extra_body: Mapping[str, object] | None = None,
    ) -> Result:
        """Set a model provider's credentials: ``POST /api/management/model-providers/{provider_name}/credentials``.

        Replaces the provider's credentials. Their keys depend on the provider and are not checked here.

        Args:
            provider_name: The provider's identifier, such as `openai`.
            credentials: Provider-specific keys and values; free-form.

        Per call: ``timeout`` (seconds for the whole call, or an ``httpx.Timeout`` per attempt),
        ``extra_headers``, ``extra_query``, ``extra_body`` (merged into the JSON body).
        Left out, nothing extra is sent.
        """
        extra = _CallExtras.of(timeout, extra_headers, extra_query, extra_body)
        kwargs: dict[str, Any] = {
            "provider_name": _v.ident("provider_name", provider_name),
            "body": ProviderCredentialsUpdate(
                credentials=_v.model(
                    "credentials", credentials, required=True, model=ProviderCredentialsUpdateCredentials, fields=None
                ),
            ),
        }
        return await self._core.request(_update_model_provider_credentials, kwargs, Result, extra)


class WorkspacesResource:
    """``workspaces``: The workspace the token belongs to."""

    __slots__ = ("_core",)

    def __init__(self, core: Core) -> None:
        self._core = core

    async def get_current(
        self,
        *,
        timeout: float | httpx.Timeout | None = None,
        extra_headers: Mapping[str, str] | None = None,
        extra_query: Mapping[str, object] | None = None,
    ) -> Workspace:
        """Get the current workspace: ``GET /api/management/workspaces/current``.

        The workspace the token belongs to.

        Per call: ``timeout`` (seconds for the whole call, or an ``httpx.Timeout`` per attempt),
        ``extra_headers``, ``extra_query``.
        Left out, nothing extra is sent.
        """
        extra = _CallExtras.of(timeout, extra_headers, extra_query)
        kwargs: dict[str, Any] = {}
        return await self._core.request(_get_current_workspace, kwargs, Workspace, extra)

    async def update_current(
        self,
        *,
        name: str | None = None,
        plan_settings: WorkspaceUpdatePlanSettings | Mapping[str, Any] | None = None,
        timeout: float | httpx.Timeout | None = None,
        extra_headers: Mapping[str, str] | None = None,
        extra_query: Mapping[str, object] | None = None,
        extra_body: Mapping[str, object] | None = None,
    ) -> Workspace:
        """Update the current workspace: ``PATCH /api/management/workspaces/current``.

        Changes the fields given; fields left out keep their value.

        Args:
            name: The workspace's name.
            plan_settings: Plan settings; free-form.

        Per call: ``timeout`` (seconds for the whole call, or an ``httpx.Timeout`` per attempt),
        ``extra_headers``, ``extra_query``, ``extra_body`` (merged into the JSON body).
        Left out, nothing extra is sent.
        """
        extra = _CallExtras.of(timeout, extra_headers, extra_query, extra_body)
        kwargs: dict[str, Any] = {
            "body": WorkspaceUpdate(
                name=_v.text("name", name, required=False, min_length=1, max_length=255),
                plan_settings=_v.model(
                    "plan_settings", plan_settings, required=False, model=WorkspaceUpdatePlanSettings, fields=None
                ),
            ),
        }
        return await self._core.request(_update_current_workspace, kwargs, Workspace, extra)


class UsersResource:
    """``users``: The user the token belongs to."""

    __slots__ = ("_core",)

    def __init__(self, core: Core) -> None:
        self._core = core

    async def get_current(
        self,
        *,
        timeout: float | httpx.Timeout | None = None,
        extra_headers: Mapping[str, str] | None = None,
        extra_query: Mapping[str, object] | None = None,
    ) -> User:
        """Get the current user: ``GET /api/management/users/current``.

        The user the token belongs to.

        Per call: ``timeout`` (seconds for the whole call, or an ``httpx.Timeout`` per attempt),
        ``extra_headers``, ``extra_query``.
        Left out, nothing extra is sent.
        """
        extra = _CallExtras.of(timeout, extra_headers, extra_query)
        kwargs: dict[str, Any] = {}
        return await self._core.request(_get_current_user, kwargs, User, extra)


class ApiKeysResource:
    """``api_keys``: Personal access tokens of the current user."""

    __slots__ = ("_core",)

    def __init__(self, core: Core) -> None:
        self._core = core

    def list(
        self,
        *,
        page: int | None = None,
        limit: int | None = None,
        timeout: float | httpx.Timeout | None = None,
        extra_headers: Mapping[str, str] | None = None,
        extra_query: Mapping[str, object] | None = None,
    ) -> AsyncPager[ApiKeyPage, ApiKey]:
        """List personal API keys: ``GET /api/management/api-keys``.

        One page of the current user's personal access tokens, newest first. Only the first 8 characters of
        each token are shown.

        Args:
            page: Page number, from 1.
            limit: Items per page (the contract's "默认20", with no maximum stated, so none is checked; the
                minimum 1 is ours).

        Await the result for one page; ``async for`` over it for every item of every page.

        Per call: ``timeout`` (seconds for the whole call, or an ``httpx.Timeout`` per attempt),
        ``extra_headers``, ``extra_query``.
        Left out, nothing extra is sent.
        """
        extra = _CallExtras.of(timeout, extra_headers, extra_query)
        kwargs: dict[str, Any] = {
            "page": _v.integer("page", page, required=False, minimum=1),
            "limit": _v.integer("limit", limit, required=False, minimum=1),
        }
        return self._core.paginate(_list_api_keys, kwargs, ApiKeyPage, extra)

    async def create(
        self,
        *,
        name: str,
        expires_at: float | datetime | None = None,
        timeout: float | httpx.Timeout | None = None,
        extra_headers: Mapping[str, str] | None = None,
        extra_query: Mapping[str, object] | None = None,
        extra_body: Mapping[str, object] | None = None,
    ) -> ApiKeyCreated:
        """Create a personal API key: ``POST /api/management/api-keys``.

        Creates a personal access token. The full token is in this answer only; keep it.

        Args:
            name: The key's name.
            expires_at: When it stops working, in Unix seconds (the SDK also takes a datetime); it must be in
                the future. Left out, it never expires. A `Number` in the contract, so fractions are accepted.

        Per call: ``timeout`` (seconds for the whole call, or an ``httpx.Timeout`` per attempt),
        ``extra_headers``, ``extra_query``, ``extra_body`` (merged into the JSON body).
        Left out, nothing extra is sent.
        """
        extra = _CallExtras.of(timeout, extra_headers, extra_query, extra_body)
        kwargs: dict[str, Any] = {
            "body": ApiKeyCreate(
                name=_v.text("name", name, required=True, min_length=1, max_length=255),
                expires_at=_v.future_timestamp("expires_at", expires_at, required=False),
            ),
        }
        return await self._core.request(_create_api_key, kwargs, ApiKeyCreated, extra)

    async def delete(
        self,
        api_key_id: str | UUID,
        *,
        timeout: float | httpx.Timeout | None = None,
        extra_headers: Mapping[str, str] | None = None,
        extra_query: Mapping[str, object] | None = None,
    ) -> None:
        """Delete a personal API key: ``DELETE /api/management/api-keys/{api_key_id}``.

        Revokes the key at once; requests made with it then answer 401.

        Args:
            api_key_id: The key's id (a UUID).

        Per call: ``timeout`` (seconds for the whole call, or an ``httpx.Timeout`` per attempt),
        ``extra_headers``, ``extra_query``.
        Left out, nothing extra is sent.
        """
        extra = _CallExtras.of(timeout, extra_headers, extra_query)
        kwargs: dict[str, Any] = {
            "api_key_id": _v.ident("api_key_id", api_key_id),
        }
        await self._core.request(_delete_api_key, kwargs, None, extra)


class Namespaces:
    """Every namespace as an attribute of the client; a new tag in the spec appears here on `make generate`."""

    apps: AppsResource
    """Applications (chat, completion, agent, workflow) and their API keys."""
    datasets: DatasetsResource
    """Knowledge datasets and the documents uploaded into them."""
    models: ModelsResource
    """Models available to the workspace."""
    model_providers: ModelProvidersResource
    """Model providers and their credentials."""
    workspaces: WorkspacesResource
    """The workspace the token belongs to."""
    users: UsersResource
    """The user the token belongs to."""
    api_keys: ApiKeysResource
    """Personal access tokens of the current user."""

    def _bind_namespaces(self, core: Core) -> None:
        self.apps = AppsResource(core)
        self.datasets = DatasetsResource(core)
        self.models = ModelsResource(core)
        self.model_providers = ModelProvidersResource(core)
        self.workspaces = WorkspacesResource(core)
        self.users = UsersResource(core)
        self.api_keys = ApiKeysResource(core)
