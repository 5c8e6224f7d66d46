# Generated from openapi/management.yaml by `make generate`. Do not edit by hand.
from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.document_page import DocumentPage
from ...models.error import Error
from ...types import UNSET, Response, Unset


def _get_kwargs(
    dataset_id: str,
    *,
    page: int | Unset = 1,
    limit: int | Unset = 20,
    status: str | Unset = UNSET,
) -> dict[str, Any]:

    params: dict[str, Any] = {}

    params["page"] = page

    params["limit"] = limit

    params["status"] = status

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/api/management/datasets/{dataset_id}/documents".format(
            dataset_id=quote(str(dataset_id), safe=""),
        ),
        "params": params,
    }

    return _kwargs


def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> DocumentPage | Error | None:
    if response.status_code == 200:
        response_200 = DocumentPage.from_dict(response.json())

        return response_200

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


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[DocumentPage | Error]:
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
    page: int | Unset = 1,
    limit: int | Unset = 20,
    status: str | Unset = UNSET,
) -> Response[DocumentPage | Error]:
    """List a dataset's documents

     One page of the dataset's documents, newest first, optionally filtered by status.

    Args:
        dataset_id (str): A resource id. Documented as a UUID, typed as a string, since the
            contract's own examples are not valid UUIDs.
        page (int | Unset):  Default: 1.
        limit (int | Unset):  Default: 20.
        status (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[DocumentPage | Error]
    """

    kwargs = _get_kwargs(
        dataset_id=dataset_id,
        page=page,
        limit=limit,
        status=status,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    dataset_id: str,
    *,
    client: AuthenticatedClient | Client,
    page: int | Unset = 1,
    limit: int | Unset = 20,
    status: str | Unset = UNSET,
) -> DocumentPage | Error | None:
    """List a dataset's documents

     One page of the dataset's documents, newest first, optionally filtered by status.

    Args:
        dataset_id (str): A resource id. Documented as a UUID, typed as a string, since the
            contract's own examples are not valid UUIDs.
        page (int | Unset):  Default: 1.
        limit (int | Unset):  Default: 20.
        status (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        DocumentPage | Error
    """

    return sync_detailed(
        dataset_id=dataset_id,
        client=client,
        page=page,
        limit=limit,
        status=status,
    ).parsed


async def asyncio_detailed(
    dataset_id: str,
    *,
    client: AuthenticatedClient | Client,
    page: int | Unset = 1,
    limit: int | Unset = 20,
    status: str | Unset = UNSET,
) -> Response[DocumentPage | Error]:
    """List a dataset's documents

     One page of the dataset's documents, newest first, optionally filtered by status.

    Args:
        dataset_id (str): A resource id. Documented as a UUID, typed as a string, since the
            contract's own examples are not valid UUIDs.
        page (int | Unset):  Default: 1.
        limit (int | Unset):  Default: 20.
        status (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[DocumentPage | Error]
    """

    kwargs = _get_kwargs(
        dataset_id=dataset_id,
        page=page,
        limit=limit,
        status=status,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    dataset_id: str,
    *,
    client: AuthenticatedClient | Client,
    page: int | Unset = 1,
    limit: int | Unset = 20,
    status: str | Unset = UNSET,
) -> DocumentPage | Error | None:
    """List a dataset's documents

     One page of the dataset's documents, newest first, optionally filtered by status.

    Args:
        dataset_id (str): A resource id. Documented as a UUID, typed as a string, since the
            contract's own examples are not valid UUIDs.
        page (int | Unset):  Default: 1.
        limit (int | Unset):  Default: 20.
        status (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        DocumentPage | Error
    """

    return (
        await asyncio_detailed(
            dataset_id=dataset_id,
            client=client,
            page=page,
            limit=limit,
            status=status,
        )
    ).parsed
