# Generated from openapi/management.yaml by `make generate`. Do not edit by hand.
from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.document import Document
from ...models.document_upload import DocumentUpload
from ...models.error import Error
from ...types import Response


def _get_kwargs(
    dataset_id: str,
    *,
    body: DocumentUpload,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/api/management/datasets/{dataset_id}/documents/upload".format(
            dataset_id=quote(str(dataset_id), safe=""),
        ),
    }

    _kwargs["files"] = body.to_multipart()

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Document | Error | None:
    if response.status_code == 200:
        response_200 = Document.from_dict(response.json())

        return response_200

    if response.status_code == 201:
        response_201 = Document.from_dict(response.json())

        return response_201

    if response.status_code == 400:
        response_400 = Error.from_dict(response.json())

        return response_400

    if response.status_code == 401:
        response_401 = Error.from_dict(response.json())

        return response_401

    if response.status_code == 403:
        response_403 = Error.from_dict(response.json())

        return response_403

    if response.status_code == 404:
        response_404 = Error.from_dict(response.json())

        return response_404

    if response.status_code == 413:
        response_413 = Error.from_dict(response.json())

        return response_413

    if response.status_code == 415:
        response_415 = Error.from_dict(response.json())

        return response_415

    if response.status_code == 429:
        response_429 = Error.from_dict(response.json())

        return response_429

    if response.status_code == 500:
        response_500 = Error.from_dict(response.json())

        return response_500

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Response[Document | Error]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    dataset_id: str,
    *,
    client: AuthenticatedClient | Client,
    body: DocumentUpload,
) -> Response[Document | Error]:
    """Upload a file into a dataset

     Uploads one file as a new document; indexing then runs in the background
    (`indexing_status` moves from `waiting` to `completed` or `error`).
    The server answers 413 for a file over its size limit and 415 for a file
    type it does not index.

    Args:
        dataset_id (str): A resource id. Documented as a UUID, typed as a string, since the
            contract's own examples are not valid UUIDs.
        body (DocumentUpload): The multipart form of an upload (the contract's two fields; servers
            refuse others).

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Document | Error]
    """

    kwargs = _get_kwargs(
        dataset_id=dataset_id,
        body=body,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    dataset_id: str,
    *,
    client: AuthenticatedClient | Client,
    body: DocumentUpload,
) -> Document | Error | None:
    """Upload a file into a dataset

     Uploads one file as a new document; indexing then runs in the background
    (`indexing_status` moves from `waiting` to `completed` or `error`).
    The server answers 413 for a file over its size limit and 415 for a file
    type it does not index.

    Args:
        dataset_id (str): A resource id. Documented as a UUID, typed as a string, since the
            contract's own examples are not valid UUIDs.
        body (DocumentUpload): The multipart form of an upload (the contract's two fields; servers
            refuse others).

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Document | Error
    """

    return sync_detailed(
        dataset_id=dataset_id,
        client=client,
        body=body,
    ).parsed


async def asyncio_detailed(
    dataset_id: str,
    *,
    client: AuthenticatedClient | Client,
    body: DocumentUpload,
) -> Response[Document | Error]:
    """Upload a file into a dataset

     Uploads one file as a new document; indexing then runs in the background
    (`indexing_status` moves from `waiting` to `completed` or `error`).
    The server answers 413 for a file over its size limit and 415 for a file
    type it does not index.

    Args:
        dataset_id (str): A resource id. Documented as a UUID, typed as a string, since the
            contract's own examples are not valid UUIDs.
        body (DocumentUpload): The multipart form of an upload (the contract's two fields; servers
            refuse others).

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Document | Error]
    """

    kwargs = _get_kwargs(
        dataset_id=dataset_id,
        body=body,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    dataset_id: str,
    *,
    client: AuthenticatedClient | Client,
    body: DocumentUpload,
) -> Document | Error | None:
    """Upload a file into a dataset

     Uploads one file as a new document; indexing then runs in the background
    (`indexing_status` moves from `waiting` to `completed` or `error`).
    The server answers 413 for a file over its size limit and 415 for a file
    type it does not index.

    Args:
        dataset_id (str): A resource id. Documented as a UUID, typed as a string, since the
            contract's own examples are not valid UUIDs.
        body (DocumentUpload): The multipart form of an upload (the contract's two fields; servers
            refuse others).

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Document | Error
    """

    return (
        await asyncio_detailed(
            dataset_id=dataset_id,
            client=client,
            body=body,
        )
    ).parsed
