# Generated from openapi/management.yaml by `make generate`. Do not edit by hand.
from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.app_mode import AppMode
from ...models.app_page import AppPage
from ...models.error import Error
from ...types import UNSET, Response, Unset


def _get_kwargs(
    *,
    page: int | Unset = 1,
    limit: int | Unset = 20,
    name: str | Unset = UNSET,
    mode: AppMode | str | Unset = UNSET,
) -> dict[str, Any]:

    params: dict[str, Any] = {}

    params["page"] = page

    params["limit"] = limit

    params["name"] = name

    json_mode: str | Unset
    if isinstance(mode, Unset):
        json_mode = UNSET
    elif isinstance(mode, AppMode):
        json_mode = mode.value
    else:
        json_mode = mode
    params["mode"] = json_mode

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/api/management/apps",
        "params": params,
    }

    return _kwargs


def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> AppPage | Error | None:
    if response.status_code == 200:
        response_200 = AppPage.from_dict(response.json())

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


def _build_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Response[AppPage | Error]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient | Client,
    page: int | Unset = 1,
    limit: int | Unset = 20,
    name: str | Unset = UNSET,
    mode: AppMode | str | Unset = UNSET,
) -> Response[AppPage | Error]:
    """List apps

     One page of the workspace's apps, newest first, optionally filtered by name and mode.

    Args:
        page (int | Unset):  Default: 1.
        limit (int | Unset):  Default: 20.
        name (str | Unset):
        mode (AppMode | str | Unset): An app's mode as a server reports it; a value outside
            `AppMode` (such as `advanced-chat`) is kept as a string.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[AppPage | Error]
    """

    kwargs = _get_kwargs(
        page=page,
        limit=limit,
        name=name,
        mode=mode,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient | Client,
    page: int | Unset = 1,
    limit: int | Unset = 20,
    name: str | Unset = UNSET,
    mode: AppMode | str | Unset = UNSET,
) -> AppPage | Error | None:
    """List apps

     One page of the workspace's apps, newest first, optionally filtered by name and mode.

    Args:
        page (int | Unset):  Default: 1.
        limit (int | Unset):  Default: 20.
        name (str | Unset):
        mode (AppMode | str | Unset): An app's mode as a server reports it; a value outside
            `AppMode` (such as `advanced-chat`) is kept as a string.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        AppPage | Error
    """

    return sync_detailed(
        client=client,
        page=page,
        limit=limit,
        name=name,
        mode=mode,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    page: int | Unset = 1,
    limit: int | Unset = 20,
    name: str | Unset = UNSET,
    mode: AppMode | str | Unset = UNSET,
) -> Response[AppPage | Error]:
    """List apps

     One page of the workspace's apps, newest first, optionally filtered by name and mode.

    Args:
        page (int | Unset):  Default: 1.
        limit (int | Unset):  Default: 20.
        name (str | Unset):
        mode (AppMode | str | Unset): An app's mode as a server reports it; a value outside
            `AppMode` (such as `advanced-chat`) is kept as a string.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[AppPage | Error]
    """

    kwargs = _get_kwargs(
        page=page,
        limit=limit,
        name=name,
        mode=mode,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient | Client,
    page: int | Unset = 1,
    limit: int | Unset = 20,
    name: str | Unset = UNSET,
    mode: AppMode | str | Unset = UNSET,
) -> AppPage | Error | None:
    """List apps

     One page of the workspace's apps, newest first, optionally filtered by name and mode.

    Args:
        page (int | Unset):  Default: 1.
        limit (int | Unset):  Default: 20.
        name (str | Unset):
        mode (AppMode | str | Unset): An app's mode as a server reports it; a value outside
            `AppMode` (such as `advanced-chat`) is kept as a string.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        AppPage | Error
    """

    return (
        await asyncio_detailed(
            client=client,
            page=page,
            limit=limit,
            name=name,
            mode=mode,
        )
    ).parsed
