# Generated from openapi/management.yaml by `make generate`. Do not edit by hand.
from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.app_api_keys_reset import AppApiKeysReset
from ...models.app_new_api_key import AppNewApiKey
from ...models.error import Error
from ...types import Response


def _get_kwargs(
    app_id: str,
    *,
    body: AppApiKeysReset,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/api/management/apps/{app_id}/api-keys/reset".format(
            app_id=quote(str(app_id), safe=""),
        ),
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> AppNewApiKey | Error | None:
    if response.status_code == 200:
        response_200 = AppNewApiKey.from_dict(response.json())

        return response_200

    if response.status_code == 201:
        response_201 = AppNewApiKey.from_dict(response.json())

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
) -> Response[AppNewApiKey | Error]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    app_id: str,
    *,
    client: AuthenticatedClient | Client,
    body: AppApiKeysReset,
) -> Response[AppNewApiKey | Error]:
    """Reset an app's API key or secret

     Replaces the key named by `type`; the answer carries the new value, the other field is left out.

    Args:
        app_id (str): A resource id. Documented as a UUID, typed as a string, since the contract's
            own examples are not valid UUIDs.
        body (AppApiKeysReset): Which key to reset.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[AppNewApiKey | Error]
    """

    kwargs = _get_kwargs(
        app_id=app_id,
        body=body,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    app_id: str,
    *,
    client: AuthenticatedClient | Client,
    body: AppApiKeysReset,
) -> AppNewApiKey | Error | None:
    """Reset an app's API key or secret

     Replaces the key named by `type`; the answer carries the new value, the other field is left out.

    Args:
        app_id (str): A resource id. Documented as a UUID, typed as a string, since the contract's
            own examples are not valid UUIDs.
        body (AppApiKeysReset): Which key to reset.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        AppNewApiKey | Error
    """

    return sync_detailed(
        app_id=app_id,
        client=client,
        body=body,
    ).parsed


async def asyncio_detailed(
    app_id: str,
    *,
    client: AuthenticatedClient | Client,
    body: AppApiKeysReset,
) -> Response[AppNewApiKey | Error]:
    """Reset an app's API key or secret

     Replaces the key named by `type`; the answer carries the new value, the other field is left out.

    Args:
        app_id (str): A resource id. Documented as a UUID, typed as a string, since the contract's
            own examples are not valid UUIDs.
        body (AppApiKeysReset): Which key to reset.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[AppNewApiKey | Error]
    """

    kwargs = _get_kwargs(
        app_id=app_id,
        body=body,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    app_id: str,
    *,
    client: AuthenticatedClient | Client,
    body: AppApiKeysReset,
) -> AppNewApiKey | Error | None:
    """Reset an app's API key or secret

     Replaces the key named by `type`; the answer carries the new value, the other field is left out.

    Args:
        app_id (str): A resource id. Documented as a UUID, typed as a string, since the contract's
            own examples are not valid UUIDs.
        body (AppApiKeysReset): Which key to reset.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        AppNewApiKey | Error
    """

    return (
        await asyncio_detailed(
            app_id=app_id,
            client=client,
            body=body,
        )
    ).parsed
